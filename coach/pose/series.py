"""The one pose container: `PoseSeries` (frames × people × 33 landmarks) and `PoseFrame` (one of its frames).

Every producer of keypoints is an adapter into these (MediaPipe: `PoseFrame.from_mediapipe`; any
17-keypoint COCO model such as YOLO-pose, RTMPose or MoveNet: `PoseSeries.from_coco17`; a recording:
`PoseSeries.load`), and everything after the pose engine reads them. Conventions:

- image coordinates `xy_px` in pixels, origin top-left, x right, y down;
- world coordinates `world_m` in metres, origin between the hips, y down (MediaPipe's world landmarks);
  ``None`` for a 2-D model, which has none;
- `visibility` in [0, 1] as the model reports it (a confidence, not a verdict);
- **missing** is one thing: a landmark whose image coordinates are NaN. Its visibility is 0 and its world
  coordinates NaN. An empty person slot is 33 missing landmarks; a frame with nobody is valid data.

Slot p of frame t holds the p-th person the model returned for that frame; `n_people[t]` slots are used.
Landmarks are in MediaPipe's order (`coach.pose.landmarks.LANDMARK_NAMES`); read them by name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from coach.pose.landmarks import COCO17_TO_LANDMARK, LANDMARK_NAMES, N_LANDMARKS, landmark_index

#: COCO-17 keypoint order (the order of every COCO-trained model's output).
COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)
_COCO_TO_MP = np.array([landmark_index(COCO17_TO_LANDMARK[n]) for n in COCO17_NAMES])

#: Image-coordinate noise of `jittered`, as a fraction of the frame's longer side (standard deviation).
JITTER_IMAGE_FRACTION = 0.004
#: World-coordinate noise of `jittered`, metres (standard deviation).
JITTER_WORLD_M = 0.01


def _mirror_order() -> np.ndarray:
    """Landmark order that swaps every left_* with its right_* (nose and the like stay)."""
    def swap(name: str) -> str:
        if name.startswith("left_"):
            return "right_" + name[len("left_"):]
        if name.startswith("right_"):
            return "left_" + name[len("right_"):]
        return name

    return np.array([landmark_index(swap(n)) for n in LANDMARK_NAMES])


_MIRROR = _mirror_order()


@dataclass(frozen=True)
class PoseFrame:
    """Everyone the pose model found in one frame (P people, possibly none).

    xy_px: (P, 33, 2) float32 pixels (NaN = missing); visibility: (P, 33) float32 in [0, 1];
    world_m: (P, 33, 3) float32 metres, or None for a 2-D model; cut: the picture changed abruptly since the
    previous frame (a camera cut or zoom, `coach.pose.camera_cuts`), None when no picture was looked at.
    """

    frame_index: int  #: index of the frame in its source
    timestamp_s: float  #: source timestamp, seconds
    width_px: int  #: frame width, pixels
    height_px: int  #: frame height, pixels
    xy_px: np.ndarray = field(default_factory=lambda: np.zeros((0, N_LANDMARKS, 2), np.float32))
    visibility: np.ndarray = field(default_factory=lambda: np.zeros((0, N_LANDMARKS), np.float32))
    world_m: np.ndarray | None = None
    cut: bool | None = None

    @property
    def n_people(self) -> int:
        """People found in this frame."""
        return int(self.xy_px.shape[0])

    @property
    def nobody(self) -> bool:
        """True when no person was found in this frame."""
        return self.n_people == 0

    @property
    def has_world(self) -> bool:
        """True when the frame carries metric world landmarks (MediaPipe does, 2-D models do not)."""
        return self.world_m is not None

    def xy(self, name: str, person: int = 0) -> np.ndarray:
        """Image position of landmark `name` of `person`, pixels, shape (2,)."""
        return self.xy_px[person, landmark_index(name)]

    def world(self, name: str, person: int = 0) -> np.ndarray:
        """World position of landmark `name` of `person`, metres, shape (3,) (NaN for a 2-D model)."""
        if self.world_m is None:
            return np.full(3, np.nan)
        return self.world_m[person, landmark_index(name)]

    def vis(self, name: str, person: int = 0) -> float:
        """Visibility of landmark `name` of `person`, in [0, 1]."""
        return float(self.visibility[person, landmark_index(name)])

    def person(self, slot: int) -> "PoseFrame":
        """This frame with only the person in `slot` (nobody when the slot is empty)."""
        s = slice(slot, slot + 1) if 0 <= slot < self.n_people else slice(0, 0)
        return dataclasses.replace(self, xy_px=self.xy_px[s], visibility=self.visibility[s],
                                   world_m=None if self.world_m is None else self.world_m[s])

    @classmethod
    def from_mediapipe(cls, result, *, width_px: int, height_px: int, timestamp_s: float,
                       frame_index: int) -> "PoseFrame":
        """A frame from a MediaPipe `PoseLandmarkerResult` (normalised landmarks are scaled to pixels)."""
        n = len(result.pose_landmarks)
        xy = np.empty((n, N_LANDMARKS, 2), np.float32)
        vis = np.empty((n, N_LANDMARKS), np.float32)
        world = np.empty((n, N_LANDMARKS, 3), np.float32)
        scale = np.array([width_px, height_px], np.float32)
        for p, (norm, wl) in enumerate(zip(result.pose_landmarks, result.pose_world_landmarks)):
            a = np.array([(lm.x, lm.y, lm.visibility or 0.0) for lm in norm], np.float32)
            xy[p], vis[p] = a[:, :2] * scale, a[:, 2]
            world[p] = np.array([(lm.x, lm.y, lm.z) for lm in wl], np.float32)
        return cls(frame_index, float(timestamp_s), int(width_px), int(height_px), xy, vis, world)


@dataclass(frozen=True)
class PoseSeries:
    """Keypoints of a whole source: T frames × P person slots × 33 landmarks (see the module docstring).

    Transforms (`mirrored`, `decimated`, `jittered`, `person`) return new series; nothing is changed in
    place. `PoseSeries.load(path)` / `series.save(path)` read and write keypoint recordings (`.npz`,
    documented in `coach.pose.recording`).
    """

    timestamps_s: np.ndarray  #: (T,) float64 source time of each frame, seconds, increasing
    frame_index: np.ndarray  #: (T,) int64 index of each frame in its source
    xy_px: np.ndarray  #: (T, P, 33, 2) float32 pixels, NaN = missing
    visibility: np.ndarray  #: (T, P, 33) float32 in [0, 1], 0 where missing
    world_m: np.ndarray | None  #: (T, P, 33, 3) float32 metres, or None (a 2-D model)
    n_people: np.ndarray  #: (T,) int16 people found in each frame (slots 0..n-1 are used)
    fps: float  #: nominal frames per second of the source
    width_px: int
    height_px: int
    meta: dict = field(default_factory=dict)  #: where it came from: source, model, program version, ...
    #: (T,) bool: the picture changed abruptly since the previous frame (a camera cut or zoom); None when
    #: unknown (keypoints from elsewhere, or an older recording)
    cuts: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = len(self.timestamps_s)
        if self.xy_px.ndim != 4 or self.xy_px.shape[0] != t or self.xy_px.shape[2:] != (N_LANDMARKS, 2):
            raise ValueError(f"xy_px must be (T={t}, P, 33, 2), got {self.xy_px.shape}")
        p = self.xy_px.shape[1]
        if self.visibility.shape != (t, p, N_LANDMARKS):
            raise ValueError(f"visibility must be ({t}, {p}, 33), got {self.visibility.shape}")
        if self.world_m is not None and self.world_m.shape != (t, p, N_LANDMARKS, 3):
            raise ValueError(f"world_m must be ({t}, {p}, 33, 3), got {self.world_m.shape}")
        if self.frame_index.shape != (t,) or self.n_people.shape != (t,):
            raise ValueError("frame_index and n_people must have one value per frame")
        if self.cuts is not None and np.shape(self.cuts) != (t,):
            raise ValueError(f"cuts must have one value per frame ({t}), got {np.shape(self.cuts)}")

    # ------------------------------------------------------------------ basics

    def __len__(self) -> int:
        return int(self.timestamps_s.shape[0])

    @property
    def n_slots(self) -> int:
        """Number of person slots P."""
        return int(self.xy_px.shape[1])

    @property
    def has_world(self) -> bool:
        """True when the series carries metric world landmarks."""
        return self.world_m is not None

    def frame(self, t: int) -> PoseFrame:
        """Frame `t` with its `n_people[t]` people."""
        n = int(self.n_people[t])
        return PoseFrame(int(self.frame_index[t]), float(self.timestamps_s[t]), self.width_px, self.height_px,
                         self.xy_px[t, :n], self.visibility[t, :n],
                         None if self.world_m is None else self.world_m[t, :n],
                         None if self.cuts is None else bool(self.cuts[t]))

    def frames(self) -> Iterator[PoseFrame]:
        """Replay the series frame by frame."""
        for t in range(len(self)):
            yield self.frame(t)

    def __getitem__(self, index) -> "PoseSeries":
        """Frames selected by a slice, an index array or a boolean mask over frames, as a new series."""
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1 if index != -1 else None)
        return dataclasses.replace(
            self, timestamps_s=self.timestamps_s[index], frame_index=self.frame_index[index],
            xy_px=self.xy_px[index], visibility=self.visibility[index],
            world_m=None if self.world_m is None else self.world_m[index], n_people=self.n_people[index],
            cuts=None if self.cuts is None else self.cuts[index])

    # ------------------------------------------------------------------ producers

    @classmethod
    def from_frames(cls, frames: Iterable[PoseFrame], *, fps: float, width_px: int | None = None,
                    height_px: int | None = None, meta: dict | None = None) -> "PoseSeries":
        """Pack frames into a series; empty slots are missing (NaN, visibility 0)."""
        frames = list(frames)
        n_slots = max([f.n_people for f in frames] + [1])
        t_count = len(frames)
        has_world = all(f.world_m is not None for f in frames if f.n_people) if frames else True
        xy = np.full((t_count, n_slots, N_LANDMARKS, 2), np.nan, np.float32)
        vis = np.zeros((t_count, n_slots, N_LANDMARKS), np.float32)
        world = np.full((t_count, n_slots, N_LANDMARKS, 3), np.nan, np.float32) if has_world else None
        for t, f in enumerate(frames):
            n = f.n_people
            if n:
                xy[t, :n], vis[t, :n] = f.xy_px, f.visibility
                if world is not None:
                    world[t, :n] = f.world_m
        w = width_px if width_px is not None else (frames[0].width_px if frames else 0)
        h = height_px if height_px is not None else (frames[0].height_px if frames else 0)
        cuts = None
        if any(f.cut is not None for f in frames):
            cuts = np.array([bool(f.cut) for f in frames], bool)
        return cls(np.array([f.timestamp_s for f in frames], np.float64),
                   np.array([f.frame_index for f in frames], np.int64), xy, vis, world,
                   np.array([f.n_people for f in frames], np.int16), float(fps), int(w), int(h), dict(meta or {}),
                   cuts)

    @classmethod
    def from_coco17(cls, keypoints: np.ndarray, *, fps: float, width_px: int, height_px: int,
                    scores: np.ndarray | None = None, timestamps_s: np.ndarray | None = None,
                    meta: dict | None = None) -> "PoseSeries":
        """A series from any COCO-17 keypoint model (YOLO-pose, RTMPose, MoveNet, ...).

        keypoints: (T, P, 17, 2) pixels, or (T, P, 17, 3) with each keypoint's score last; a keypoint
        whose coordinates are NaN is missing; (T, 17, 2|3) is taken as one person. scores: (T, P, 17)
        confidences in [0, 1], used as visibility (default 1 for every given keypoint). The 16 landmarks
        COCO does not have (feet, hands, eye corners, mouth) are missing; there are no world coordinates,
        so definitions that need 3-D are refused (``space: 3d``) or measured in the image (``space: auto``).
        timestamps_s default to frame / fps.
        """
        kp = np.asarray(keypoints, np.float64)
        if kp.ndim == 3:
            kp = kp[:, None]
        if kp.ndim != 4 or kp.shape[2] != 17 or kp.shape[3] not in (2, 3):
            raise ValueError(f"keypoints must be (T, P, 17, 2) or (T, P, 17, 3), got {np.shape(keypoints)}")
        t_count, p = kp.shape[:2]
        if scores is None:
            scores = kp[..., 2] if kp.shape[3] == 3 else np.ones(kp.shape[:3])
        scores = np.asarray(scores, np.float64)
        if scores.ndim == 2:
            scores = scores[:, None]
        if scores.shape != (t_count, p, 17):
            raise ValueError(f"scores must be (T, P, 17) = {(t_count, p, 17)}, got {scores.shape}")
        xy = np.full((t_count, p, N_LANDMARKS, 2), np.nan, np.float32)
        vis = np.zeros((t_count, p, N_LANDMARKS), np.float32)
        xy[:, :, _COCO_TO_MP] = kp[..., :2]
        vis[:, :, _COCO_TO_MP] = np.clip(np.nan_to_num(scores, nan=0.0), 0.0, 1.0)
        missing = np.isnan(xy).any(axis=-1)
        xy[missing] = np.nan
        vis[missing] = 0.0
        present = ~missing.all(axis=-1)  # (T, P)
        n_people = np.zeros(t_count, np.int16)
        for t in range(t_count):  # people are the leading used slots; an empty slot between them is dropped
            used = np.flatnonzero(present[t])
            n_people[t] = len(used)
            if len(used) < p:
                order = np.concatenate([used, np.flatnonzero(~present[t])])
                xy[t], vis[t] = xy[t, order], vis[t, order]
        times = (np.arange(t_count) / float(fps)) if timestamps_s is None else np.asarray(timestamps_s, np.float64)
        return cls(times, np.arange(t_count, dtype=np.int64), xy, vis, None, n_people, float(fps), int(width_px),
                   int(height_px), {"source": "coco17", **(meta or {})})

    # ------------------------------------------------------------------ transforms (new series)

    def person(self, slot: int) -> "PoseSeries":
        """Only person slot `slot` (P = 1; frames where it is empty have nobody)."""
        s = slice(slot, slot + 1)
        return dataclasses.replace(
            self, xy_px=self.xy_px[:, s], visibility=self.visibility[:, s],
            world_m=None if self.world_m is None else self.world_m[:, s],
            n_people=(self.n_people > slot).astype(np.int16))

    def mirrored(self) -> "PoseSeries":
        """The scene seen in a mirror: x flipped about the frame's centre (image) and the body's origin
        (world), and each left landmark exchanged with its right one. Mirroring twice gives the original."""
        xy = self.xy_px[:, :, _MIRROR].copy()
        xy[..., 0] = self.width_px - xy[..., 0]
        world = None
        if self.world_m is not None:
            world = self.world_m[:, :, _MIRROR].copy()
            world[..., 0] = -world[..., 0]
        return dataclasses.replace(self, xy_px=xy, world_m=world, visibility=self.visibility[:, :, _MIRROR].copy())

    def decimated(self, keep_every: int = 2) -> "PoseSeries":
        """Every `keep_every`-th frame (from the first), timestamps unchanged; the nominal fps is divided."""
        if keep_every < 1:
            raise ValueError("keep_every must be at least 1")
        keep = np.arange(0, len(self), keep_every)
        kept = dataclasses.replace(self[keep], fps=self.fps / keep_every)
        if self.cuts is None:
            return kept
        # a cut in a dropped frame shows in the next frame kept
        if not len(keep):
            return kept
        starts = np.concatenate([[0], keep[:-1] + 1])
        return dataclasses.replace(kept, cuts=np.logical_or.reduceat(self.cuts[: keep[-1] + 1], starts))

    def jittered(self, seed: int = 0) -> "PoseSeries":
        """Gaussian noise on every keypoint: `JITTER_IMAGE_FRACTION` of the frame's longer side in the image,
        `JITTER_WORLD_M` in the world. Reproducible for a given `seed`."""
        rng = np.random.default_rng(seed)
        scale = JITTER_IMAGE_FRACTION * max(self.width_px, self.height_px)
        xy = self.xy_px + rng.normal(0.0, scale, self.xy_px.shape).astype(self.xy_px.dtype)
        world = None
        if self.world_m is not None:
            world = self.world_m + rng.normal(0.0, JITTER_WORLD_M, self.world_m.shape).astype(self.world_m.dtype)
        return dataclasses.replace(self, xy_px=xy, world_m=world)

    # ------------------------------------------------------------------ files

    @classmethod
    def load(cls, path: str | Path) -> "PoseSeries":
        """Read a keypoint recording (`.npz`); raises `coach.errors.SourceError` saying what is wrong."""
        from coach.pose.recording import load_recording

        return load_recording(path)

    def save(self, path: str | Path) -> Path:
        """Write this series as a keypoint recording (`.npz` appended when missing); returns the path."""
        from coach.pose.recording import save_recording

        return save_recording(path, self)
