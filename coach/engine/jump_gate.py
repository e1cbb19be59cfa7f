"""Frames where the whole skeleton jumps between consecutive frames (a camera cut, the model switching to
someone else) are not a body moving: they are "not measurable", never a made-up position.

The gate is causal: `body_centres` (stateless, any number of frames at once) gives each frame's torso centre
and length; `JumpGate.update` compares one frame with the previous one, whoever was in it.
"""

from __future__ import annotations

import math

import numpy as np

from coach.pose.landmarks import landmark_index

#: A torso centre moving more than this many torso lengths between consecutive frames is not a body.
JUMP_TORSO_LENGTHS = 1.5

_LS, _RS = landmark_index("left_shoulder"), landmark_index("right_shoulder")
_LH, _RH = landmark_index("left_hip"), landmark_index("right_hip")


def body_centres(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Torso centre (..., 2) px and torso length (...,) px of skeletons xy (..., 33, 2); NaN when unseen."""
    sh = 0.5 * (xy[..., _LS, :] + xy[..., _RS, :])
    hp = 0.5 * (xy[..., _LH, :] + xy[..., _RH, :])
    return 0.5 * (sh + hp), np.linalg.norm(sh - hp, axis=-1)


def body_centre_frame(xy: np.ndarray) -> tuple[float, float, float]:
    """(centre x, centre y, torso length) px of one skeleton xy (33, 2), with plain floats: bit for bit
    what `body_centres(xy)` gives (NaN when unseen), without numpy's per-call cost (the live path)."""
    ls, rs, lh, rh = (xy[i].tolist() for i in (_LS, _RS, _LH, _RH))
    sx, sy = 0.5 * (ls[0] + rs[0]), 0.5 * (ls[1] + rs[1])
    hx, hy = 0.5 * (lh[0] + rh[0]), 0.5 * (lh[1] + rh[1])
    dx, dy = sx - hx, sy - hy
    return 0.5 * (sx + hx), 0.5 * (sy + hy), math.sqrt(dx * dx + dy * dy)


class JumpGate:
    """`update(cx, cy, torso)` per frame -> True when the body jumped since the previous frame."""

    __slots__ = ("prev",)

    def __init__(self) -> None:
        self.prev: tuple[float, float, float] | None = None

    def update(self, cx: float, cy: float, torso: float) -> bool:
        prev = self.prev
        self.prev = (cx, cy, torso)
        if prev is None:
            return False
        dx, dy = cx - prev[0], cy - prev[1]
        step = math.sqrt(dx * dx + dy * dy)
        return bool(step > JUMP_TORSO_LENGTHS * max(torso, prev[2]))
