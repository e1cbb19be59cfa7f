"""The 33 MediaPipe pose landmarks, by name.

Everything outside this module refers to landmarks by name; the index order is MediaPipe's and is used only
to pack arrays of shape (..., 33, k).
"""

from __future__ import annotations

import difflib

LANDMARK_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear",
    "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
N_LANDMARKS = len(LANDMARK_NAMES)

_INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARK_NAMES)}

#: Names without a side prefix, e.g. "knee" for left_knee/right_knee (used by sided measures).
SIDED_PARTS: tuple[str, ...] = tuple(
    sorted({n[len("left_"):] for n in LANDMARK_NAMES if n.startswith("left_")})
)

#: Lines of the skeleton drawn on previews and overlays.
SKELETON_EDGES: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index"),
    ("right_ankle", "right_heel"), ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
    ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear"),
)

#: COCO-17 keypoint name -> MediaPipe landmark name (COCO keypoints are a subset of the 33).
COCO17_TO_LANDMARK: dict[str, str] = {
    "nose": "nose",
    "left_eye": "left_eye", "right_eye": "right_eye",
    "left_ear": "left_ear", "right_ear": "right_ear",
    "left_shoulder": "left_shoulder", "right_shoulder": "right_shoulder",
    "left_elbow": "left_elbow", "right_elbow": "right_elbow",
    "left_wrist": "left_wrist", "right_wrist": "right_wrist",
    "left_hip": "left_hip", "right_hip": "right_hip",
    "left_knee": "left_knee", "right_knee": "right_knee",
    "left_ankle": "left_ankle", "right_ankle": "right_ankle",
}


def closest_landmark(name: str) -> str | None:
    """The landmark name closest in spelling to `name`, or None when nothing is close."""
    match = difflib.get_close_matches(name, LANDMARK_NAMES, n=1, cutoff=0.6)
    return match[0] if match else None


def landmark_index(name: str) -> int:
    """Index of a landmark in MediaPipe's order. Raises KeyError naming the closest valid name."""
    try:
        return _INDEX[name]
    except KeyError:
        hint = closest_landmark(name)
        suffix = f"; did you mean '{hint}'?" if hint else ""
        raise KeyError(f"unknown landmark '{name}'{suffix}") from None


def is_landmark(name: str) -> bool:
    """True when `name` is one of the 33 landmark names."""
    return name in _INDEX
