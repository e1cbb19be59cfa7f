"""Annotators: draw keypoints (and later the workout overlay) onto images. Drawing never counts.

Each function takes a BGR image, draws on a copy or in place as documented, and returns the image.
"""

from __future__ import annotations

import cv2
import numpy as np

from coach.keypoints import Keypoints, PoseFrame
from coach.landmarks import SKELETON_EDGES, landmark_index

_EDGE_IDX = tuple((landmark_index(a), landmark_index(b)) for a, b in SKELETON_EDGES)
#: BGR colours per person slot, so several people are told apart.
PERSON_COLOURS: tuple[tuple[int, int, int], ...] = (
    (80, 220, 80), (255, 160, 40), (60, 180, 255), (200, 80, 220),
)


def _scale(image: np.ndarray) -> float:
    """Line/marker scale so drawings read the same on 360p and 4K frames."""
    return max(1.0, min(image.shape[:2]) / 480.0)


def draw_skeleton(image: np.ndarray, keypoints: Keypoints, colour: tuple[int, int, int] = PERSON_COLOURS[0],
                  min_visibility: float = 0.5) -> np.ndarray:
    """Draw one person's skeleton in place; landmarks below `min_visibility` are drawn faint or skipped.

    image: (H, W, 3) uint8 BGR. Returns the same image.
    """
    s = _scale(image)
    thick = int(round(2 * s))
    radius = int(round(3 * s))
    xy = keypoints.image_xy_px
    vis = keypoints.visibility
    for a, b in _EDGE_IDX:
        if not (np.isfinite(xy[a]).all() and np.isfinite(xy[b]).all()):
            continue
        seen = min(vis[a], vis[b]) >= min_visibility
        c = colour if seen else tuple(int(v * 0.45) for v in colour)
        cv2.line(image, tuple(np.round(xy[a]).astype(int)), tuple(np.round(xy[b]).astype(int)), c,
                 thick if seen else max(1, thick // 2), cv2.LINE_AA)
    for i in range(len(xy)):
        if not np.isfinite(xy[i]).all() or vis[i] < min_visibility:
            continue
        p = tuple(np.round(xy[i]).astype(int))
        cv2.circle(image, p, radius, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(image, p, radius, colour, max(1, thick // 2), cv2.LINE_AA)
    return image


def draw_text(image: np.ndarray, text: str, origin: tuple[int, int], *, scale: float = 0.7,
              colour: tuple[int, int, int] = (255, 255, 255), background: tuple[int, int, int] | None = (0, 0, 0),
              ) -> tuple[int, int]:
    """Draw `text` with a solid background box for legibility; returns the box's (width, height) in px."""
    s = _scale(image) * scale
    thick = max(1, int(round(2 * s)))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, s, thick)
    x, y = origin
    pad = int(6 * s)
    if background is not None:
        cv2.rectangle(image, (x, y), (x + w + 2 * pad, y + h + base + 2 * pad), background, -1)
    cv2.putText(image, text, (x + pad, y + pad + h), cv2.FONT_HERSHEY_SIMPLEX, s, colour, thick, cv2.LINE_AA)
    return w + 2 * pad, h + base + 2 * pad


def draw_pose_frame(image: np.ndarray, frame: PoseFrame) -> np.ndarray:
    """Draw everyone in `frame` (one colour per person slot) and a "nobody" note when empty. In place."""
    for p, kp in enumerate(frame.people):
        draw_skeleton(image, kp, PERSON_COLOURS[p % len(PERSON_COLOURS)])
    label = f"t={frame.timestamp_s:6.2f}s  frame {frame.frame_index}"
    label += "  nobody found" if frame.nobody else f"  people: {len(frame.people)}"
    draw_text(image, label, (8, 8), scale=0.5)
    return image
