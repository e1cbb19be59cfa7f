"""The torso in the picture: its centre, its length and the body's size, from the shoulders and hips.

Two stages use them: the jump gate (`coach.engine.jump_gate`: the centre moving by more than a few torso
lengths between frames is not a body) and the cut watcher (`coach.engine.cuts`: the body's size jumping is a
zoom). Each is given for many frames at once (numpy, the batch path) and for one frame in plain floats (the
live path), bit for bit the same.
"""

from __future__ import annotations

import math

import numpy as np

from coach.pose.landmarks import landmark_index

_LS, _RS = landmark_index("left_shoulder"), landmark_index("right_shoulder")
_LH, _RH = landmark_index("left_hip"), landmark_index("right_hip")


def body_centres(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Torso centre (..., 2) px and torso length (...,) px of skeletons xy (..., 33, 2); NaN when unseen."""
    sh = 0.5 * (xy[..., _LS, :] + xy[..., _RS, :])
    hp = 0.5 * (xy[..., _LH, :] + xy[..., _RH, :])
    return 0.5 * (sh + hp), np.linalg.norm(sh - hp, axis=-1)


def body_sizes(xy: np.ndarray) -> np.ndarray:
    """Size of skeletons xy (..., 33, 2) in pixels: the larger of the torso length and the shoulder width (one
    of them stays when the other is foreshortened); NaN when both are unseen."""
    torso = body_centres(xy)[1]
    width = np.linalg.norm(xy[..., _LS, :] - xy[..., _RS, :], axis=-1)
    return np.fmax(torso, width)


def body_frame(xy: np.ndarray) -> tuple[float, float, float, float]:
    """(centre x, centre y, torso length, size) px of one skeleton xy (33, 2), with plain floats: bit for bit
    what `body_centres(xy)` and `body_sizes(xy)` give (NaN when unseen), without numpy's per-call cost."""
    ls, rs, lh, rh = (xy[i].tolist() for i in (_LS, _RS, _LH, _RH))
    sx, sy = 0.5 * (ls[0] + rs[0]), 0.5 * (ls[1] + rs[1])
    hx, hy = 0.5 * (lh[0] + rh[0]), 0.5 * (lh[1] + rh[1])
    dx, dy = sx - hx, sy - hy
    torso = math.sqrt(dx * dx + dy * dy)
    wx, wy = ls[0] - rs[0], ls[1] - rs[1]
    width = math.sqrt(wx * wx + wy * wy)
    size = width if torso != torso else torso if width != width else max(torso, width)
    return 0.5 * (sx + hx), 0.5 * (sy + hy), torso, size
