"""Which person to follow, and when their skeleton cannot be trusted (pure functions over keypoints).

- `PersonTracker` follows one person across frames when the pose engine reports several;
- `jump_gate` drops frames where the whole skeleton jumps between consecutive frames (a camera cut, the
  model switching to someone else): such frames are "not measurable", never a made-up position.
"""

from __future__ import annotations

import numpy as np

from coach.landmarks import LANDMARK_NAMES
from coach.recording import KeypointSeries

_LI = {name: i for i, name in enumerate(LANDMARK_NAMES)}
_BODY = [_LI[f"{s}_{p}"] for s in ("left", "right") for p in ("shoulder", "hip", "knee", "ankle")]

#: A torso centre moving more than this many torso lengths between consecutive frames is not a body.
JUMP_TORSO_LENGTHS = 1.5


class PersonTracker:
    """Follows one person across frames when the pose engine reports several (slot order can change).

    The first person seen is the one that fills most of the picture near its middle (size: diagonal of the
    box around shoulders, hips, knees and ankles, which unlike the torso length does not vanish when the
    trunk points at the camera; weighted down towards the picture's sides when its width is known). After
    that, each frame takes the person whose torso centre is nearest the last one followed and whose size is
    similar (cost = distance in body sizes + 2 |log size ratio|). When several are seen and none is within a cost of 1.5, the followed
    person was not detected in that frame; after `lost_after_s` without them, the largest is taken again.
    A lone person is always taken (with one slot this is exactly "slot 0 when someone is there").
    """

    def __init__(self, lost_after_s: float = 2.0, width_px: float | None = None):
        self.lost_after_s = lost_after_s
        self.width_px = width_px
        self.centre: np.ndarray | None = None
        self.size = 0.0
        self.last_t: float | None = None

    @staticmethod
    def _torso(xy: np.ndarray) -> tuple[np.ndarray, float]:
        sh = 0.5 * (xy[_LI["left_shoulder"]] + xy[_LI["right_shoulder"]])
        hp = 0.5 * (xy[_LI["left_hip"]] + xy[_LI["right_hip"]])
        pts = xy[_BODY]
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        if len(pts) < 2:
            return 0.5 * (sh + hp), 0.0
        return 0.5 * (sh + hp), float(np.hypot(*(pts.max(axis=0) - pts.min(axis=0))))

    def _first_score(self, c: np.ndarray, size: float) -> float:
        if not self.width_px:
            return size
        off = min(1.0, abs(float(c[0]) - self.width_px / 2) / (self.width_px / 2))
        return size * (1.0 - 0.6 * off)

    def step(self, t: float, people_xy: list[np.ndarray]) -> int:
        """Slot of the followed person in this frame, or -1 when they are not in it."""
        cands = []
        for k, xy in enumerate(people_xy):
            c, size = self._torso(xy)
            if np.all(np.isfinite(c)) and size > 0:
                cands.append((k, c, size))
        if not cands:
            return -1
        if self.centre is None or self.last_t is None or t - self.last_t > self.lost_after_s:
            k, c, size = max(cands, key=lambda x: self._first_score(x[1], x[2]))
        else:
            def cost(x):
                return (float(np.linalg.norm(x[1] - self.centre)) / max(self.size, 1e-6)
                        + 2.0 * abs(np.log(x[2] / max(self.size, 1e-6))))
            best = min(cands, key=cost)
            if cost(best) > 1.5:
                # Alone in the picture: it is the person to follow as far as anyone can tell (a jump is
                # caught by the jump gate); among several, the followed one is not detected in this frame.
                return best[0] if len(cands) == 1 else -1
            k, c, size = best
        self.centre, self.size, self.last_t = c, size, t
        return k


def track_slots(series: KeypointSeries) -> np.ndarray:
    """Slot of the followed person in every frame (-1 = not detected), see `PersonTracker`."""
    n = len(series)
    if series.n_slots == 1:
        return np.where(series.n_people > 0, 0, -1)
    tr = PersonTracker(width_px=series.meta.width_px or None)
    out = np.full(n, -1, np.int64)
    times = series.timestamps_s.tolist()
    counts = series.n_people.tolist()
    for i in range(n):
        out[i] = tr.step(times[i], [series.image_xy_px[i, p] for p in range(int(counts[i]))])
    return out


def person_arrays(series: KeypointSeries, person: int):
    """Arrays of one person: `person` 0 follows the main person (`PersonTracker`); k > 0 is raw slot k."""
    if person == 0:
        slot = track_slots(series)
    else:
        slot = np.where(series.n_people > person, min(person, series.n_slots - 1), -1)
    rows = np.arange(len(series))
    s = np.maximum(slot, 0)
    xy = series.image_xy_px[rows, s].astype(np.float64)
    world = series.world_xyz_m[rows, s].astype(np.float64)
    vis = series.visibility[rows, s].astype(np.float64)
    present = slot >= 0
    vis = np.where(present[:, None], np.nan_to_num(vis, nan=0.0), 0.0)
    return xy, world, vis, present


def jump_gate(xy: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """Visibility zeroed on frames where the whole skeleton jumps (camera cut, another person).

    A torso centre moving more than `JUMP_TORSO_LENGTHS` torso lengths between consecutive frames cannot be
    a body.
    """
    sh = 0.5 * (xy[:, _LI["left_shoulder"]] + xy[:, _LI["right_shoulder"]])
    hp = 0.5 * (xy[:, _LI["left_hip"]] + xy[:, _LI["right_hip"]])
    centre = 0.5 * (sh + hp)
    torso = np.linalg.norm(sh - hp, axis=1)
    step = np.linalg.norm(np.diff(centre, axis=0), axis=1)
    ref = np.fmax(torso[1:], torso[:-1])
    with np.errstate(invalid="ignore"):
        jump = step > JUMP_TORSO_LENGTHS * ref
    bad = np.zeros(len(xy), bool)
    bad[1:] |= jump
    if bad.any():
        vis = vis.copy()
        vis[bad] = 0.0
    return vis


def jump_between(prev: tuple | None, xy: np.ndarray) -> tuple[bool, tuple]:
    """Frame-by-frame twin of `jump_gate` for one (33, 2) frame: (jumped, state for the next frame)."""
    sh = 0.5 * (xy[_LI["left_shoulder"]] + xy[_LI["right_shoulder"]])
    hp = 0.5 * (xy[_LI["left_hip"]] + xy[_LI["right_hip"]])
    centre = 0.5 * (sh + hp)
    torso = float(np.linalg.norm(sh - hp))
    jumped = False
    if prev is not None:
        pc, pt = prev
        jumped = bool(float(np.linalg.norm(centre - pc)) > JUMP_TORSO_LENGTHS * max(torso, pt))
    return jumped, (centre, torso)
