"""Who is who when the pose engine reports several people, and which of them is exercising (pure functions
and classes over keypoints; no I/O, times from the source).

- `PeopleTracker` gives every detected person a stable track id across frames (slot order changes from
  frame to frame): Hungarian matching on torso-centre distance (after a constant-velocity prediction),
  keypoint distance and size; tracks unseen for up to `keep_s` survive (occlusion, people crossing).
- `ExerciserChooser` picks the person a single-person session follows: among the people whose posture fits
  the exercise (lying for sit-ups, upright for squats), the one whose primary measure moves most
  (hysteretic), or the largest/most central while nobody moves; or a fixed choice.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from coach.pose.landmarks import LANDMARK_NAMES
from coach.pose.series import PoseFrame, PoseSeries

_LI = {name: i for i, name in enumerate(LANDMARK_NAMES)}
_BODY = [_LI[f"{s}_{p}"] for s in ("left", "right") for p in ("shoulder", "hip", "knee", "ankle")]

#: Matching cost above which a detection is not the track (see `PeopleTracker`), between consecutive
#: frames; it grows by as much again per second unseen.
MATCH_GATE = 0.6
#: Tracks seen in fewer frames than this are "young": matching one costs a little more.
YOUNG_FRAMES = 5
#: Seconds a track is kept without being seen (occlusion, someone passing in front, a missed detection).
KEEP_LOST_S = 1.5


def body_box(xy: np.ndarray) -> tuple[np.ndarray, float]:
    """(torso centre (2,), size) of one (33, 2) skeleton; size is the diagonal of the box around shoulders,
    hips, knees and ankles (unlike the torso length it does not vanish when the trunk points at the
    camera). Size 0 when fewer than two of those landmarks are known."""
    sh = 0.5 * (xy[_LI["left_shoulder"]] + xy[_LI["right_shoulder"]])
    hp = 0.5 * (xy[_LI["left_hip"]] + xy[_LI["right_hip"]])
    pts = xy[_BODY]
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) < 2:
        return 0.5 * (sh + hp), 0.0
    return 0.5 * (sh + hp), float(np.hypot(*(pts.max(axis=0) - pts.min(axis=0))))


def _centrality_score(c: np.ndarray, size: float, width_px: float | None) -> float:
    """Size weighted down towards the picture's sides (when its width is known)."""
    if not width_px:
        return size
    off = min(1.0, abs(float(c[0]) - width_px / 2) / (width_px / 2))
    return size * (1.0 - 0.6 * off)


# ---------------------------------------------------------------------------- several people


@dataclass
class Track:
    """One person followed across frames."""

    id: int
    centre: np.ndarray  #: torso centre, px, where last seen
    size: float  #: `body_box` size, px, smoothed
    xy: np.ndarray  #: (33, 2) last keypoints seen
    first_t: float
    last_t: float
    vel: np.ndarray = field(default_factory=lambda: np.zeros(2))  #: px/s, smoothed
    seen: int = 1  #: frames seen
    slot: int = -1  #: slot in the current frame, -1 = not seen in it

    def predict(self, t: float) -> np.ndarray:
        dt = min(max(t - self.last_t, 0.0), 0.5)  # a constant velocity is a guess for half a second at most
        return self.centre + self.vel * dt


class PeopleTracker:
    """Stable ids for the people in view (ids start at 1 and are never reused).

    Each frame, every live track is predicted forward with its constant velocity and matched to the
    detections by the Hungarian method on cost = torso-centre distance to the prediction (in body sizes)
    + mean distance of the body landmarks (shoulders, hips, knees, ankles) to the track's last ones moved
    by the prediction (in body sizes) + 2 |log size ratio| (+0.2 for a track younger than `YOUNG_FRAMES`);
    pairs costing more than `gate_at(seconds unseen)` are not matched. Unmatched detections start new tracks; a track unseen for more than `keep_s` ends.
    Two detections of the same body (same centre within a quarter body, similar size) count once.
    """

    def __init__(self, keep_s: float = KEEP_LOST_S, gate: float = MATCH_GATE):
        self.keep_s = keep_s
        self.gate = gate
        self.tracks: dict[int, Track] = {}
        self._next_id = 1

    def live(self) -> list[Track]:
        return list(self.tracks.values())

    def _cost(self, tr: Track, t: float, c: np.ndarray, size: float, xy: np.ndarray) -> float:
        ref = max(tr.size, 1e-6)
        pred = tr.predict(t)
        cost = float(np.linalg.norm(c - pred)) / ref + 2.0 * abs(np.log(max(size, 1e-6) / ref))
        shift = pred - tr.centre
        d = np.linalg.norm(xy[_BODY] - (tr.xy[_BODY] + shift), axis=1)
        d = d[np.isfinite(d)]
        if len(d):
            cost += float(np.mean(d)) / ref
        if tr.seen < YOUNG_FRAMES:  # a track a few frames old (often a glitch) yields to an established one
            cost += 0.2
        return cost

    def gate_at(self, dt: float) -> float:
        """Largest matching cost after `dt` seconds unseen: a body moves little between frames (a jump to
        another person costs 1.3 or more), more after an occlusion."""
        return self.gate + self.gate * min(max(dt, 0.0), self.keep_s)

    def step(self, t: float, people_xy: list[np.ndarray]) -> list[int]:
        """Track id of each detection slot in this frame (-1 for a skeleton without a body, or a duplicate)."""
        dets = []
        for k, xy in enumerate(people_xy):
            xy = np.asarray(xy, np.float64)
            c, size = body_box(xy)
            if not (np.all(np.isfinite(c)) and size > 0):
                continue
            dup = any(float(np.linalg.norm(c - c2)) < 0.25 * max(size, s2) and abs(np.log(size / s2)) < 0.3
                      for _, c2, s2, _ in dets)
            if not dup:
                dets.append((k, c, size, xy))
        ids = [-1] * len(people_xy)
        for tr in self.tracks.values():
            tr.slot = -1
        live = [tr for tr in self.tracks.values() if t - tr.last_t <= self.keep_s]
        matched_d: set[int] = set()
        if live and dets:
            cost = np.array([[self._cost(tr, t, c, s, xy) for (_, c, s, xy) in dets] for tr in live])
            from scipy.optimize import linear_sum_assignment

            rows, cols = linear_sum_assignment(np.minimum(cost, 1e6))
            for r, j in zip(rows.tolist(), cols.tolist()):
                tr = live[r]
                if cost[r, j] > self.gate_at(t - tr.last_t):
                    continue
                k, c, s, xy = dets[j]
                dt = t - tr.last_t
                if dt > 0:
                    v = (c - tr.centre) / dt
                    tr.vel = v if tr.seen == 1 else 0.5 * tr.vel + 0.5 * v
                tr.centre, tr.xy, tr.last_t, tr.slot = c, xy, t, k
                tr.size = 0.7 * tr.size + 0.3 * s
                tr.seen += 1
                ids[k] = tr.id
                matched_d.add(j)
        for j, (k, c, s, xy) in enumerate(dets):
            if j in matched_d:
                continue
            tr = Track(self._next_id, c, s, xy, t, t, slot=k)
            self._next_id += 1
            self.tracks[tr.id] = tr
            ids[k] = tr.id
        for tid in [tid for tid, tr in self.tracks.items() if t - tr.last_t > self.keep_s]:
            del self.tracks[tid]
        return ids


def track_people(series: PoseSeries, keep_s: float = KEEP_LOST_S) -> np.ndarray:
    """(T, P) track id of every slot of every frame (-1 = empty slot or not a body), see `PeopleTracker`."""
    tr = PeopleTracker(keep_s)
    out = np.full((len(series), series.n_slots), -1, np.int64)
    counts = series.n_people.tolist()
    for i, t in enumerate(series.timestamps_s.tolist()):
        ids = tr.step(t, [series.xy_px[i, p] for p in range(int(counts[i]))])
        out[i, :len(ids)] = ids
    return out


#: Exerciser choice modes besides a fixed track id.
CHOICES = ("auto", "largest", "center")
#: Another person must move this much more than the followed one (plus `min_activity`) to take over...
SWITCH_RATIO = 1.5
#: ...for this long without interruption.
SWITCH_AFTER_S = 1.0

#: Postures a definition may ask for, and the trunk's angle from vertical in the picture that fits each:
#: upright (standing or sitting) under 45 degrees, lying over.
POSTURES = ("upright", "lying")
#: A person fits a posture when they are in it in at least this share of the chooser's window (a sit-up
#: comes up to upright, a deadlift hinges over).
POSTURE_SHARE = 0.3

_SH = [_LI["left_shoulder"], _LI["right_shoulder"]]
_HP = [_LI["left_hip"], _LI["right_hip"]]


def in_posture(xy: np.ndarray, posture: str, world: np.ndarray | None = None) -> float:
    """1.0 when the skeleton is in `posture` ("upright": trunk within 45 degrees of vertical; "lying": beyond),
    0.0 when not, NaN when its shoulders and hips are not seen. With world landmarks (33, 3) m the trunk is
    taken in 3-D (a push-up seen head-on is lying though its trunk looks upright in the picture), else in
    the picture, xy (33, 2) px. y points down in both."""
    pts = world if world is not None and np.all(np.isfinite(world[_SH + _HP])) else xy
    d = np.nanmean(pts[_SH], axis=0) - np.nanmean(pts[_HP], axis=0)
    if not np.all(np.isfinite(d)) or not np.any(d):
        return float("nan")
    level = float(np.hypot(d[0], d[2])) if len(d) == 3 else abs(float(d[0]))
    upright = abs(float(d[1])) >= level  # the trunk's vertical part dominates
    return float(upright == (posture == "upright"))


#: Measure function for the chooser: (xy (33, 2), world (33, 3) or None, visibility (33,)) -> values of the
#: primary measure (one per side, NaN where not measurable).
MeasureFn = Callable[[np.ndarray, np.ndarray | None, np.ndarray], tuple]


class ExerciserChooser:
    """Which detected person a single-person session follows, frame by frame (causal, deterministic).

    `choice`:
    - "auto" (default): the person who moves in the exercise's pattern. Each track's activity is the
      spread (10th to 90th percentile) of its primary measure over the last `window_s` seconds (the larger
      of its sides, `measure_fn` computes it; at least half the window measurable). The followed person
      changes only when another one's activity is at least `min_activity` and more than `SWITCH_RATIO`
      times the followed one's + `min_activity` for `SWITCH_AFTER_S` seconds in a row (no flip-flopping),
      (at once when the followed one is out of view or hardly moves), or when the followed track has ended.
      With nobody moving, the largest and most central person is
      taken. Until two people have been seen in the same frame, the lone person is followed (so a
      single-pose session behaves exactly as without a tracker); at that first frame the choice is made
      afresh.
    - "largest" / "center": the largest (or the most central) person when the choice is made; kept until
      their track ends, then chosen again.
    - an int: that track id only (`PeopleTracker` ids start at 1); nobody when it is not in view.
    """

    def __init__(self, choice: str | int = "auto", *, measure_fn: MeasureFn | None = None,
                 min_activity: float = float("inf"), window_s: float = 3.0, width_px: float | None = None,
                 keep_s: float = KEEP_LOST_S, posture: str | None = None):
        if not (isinstance(choice, int) or choice in CHOICES):
            raise ValueError(f"choice must be a track id or one of {', '.join(CHOICES)}, not {choice!r}")
        if posture is not None and posture not in POSTURES:
            raise ValueError(f"posture must be one of {', '.join(POSTURES)} or None, not {posture!r}")
        self.choice = choice
        self.posture = posture
        self._poses: dict[int, deque] = {}  # track id -> (time, in posture 1/0/NaN) over the window
        self.measure_fn = measure_fn
        self.min_activity = min_activity
        self.window_s = window_s
        self.width_px = width_px
        self.tracker = PeopleTracker(keep_s)
        self.chosen: int | None = None
        self.seen_several = False
        self.ids: list[int] = []  #: track id per slot of the last frame
        self._hist: dict[int, deque] = {}
        self._challenger: tuple[int, float] | None = None

    def fits(self, tid: int, t: float) -> bool:
        """True when the track's posture fits the exercise (`POSTURE_SHARE` of its recent frames), or no posture
        is asked for, or its trunk has not been seen."""
        if self.posture is None:
            return True
        h = self._poses.get(tid)
        while h and h[0][0] < t - self.window_s:
            h.popleft()
        seen = [v for _, v in h or () if v == v]
        return not seen or sum(seen) >= POSTURE_SHARE * len(seen)

    def _activity(self, tid: int, t: float) -> float:
        h = self._hist.get(tid)
        if not h:
            return 0.0
        while h and h[0][0] < t - self.window_s:
            h.popleft()
        if not h:
            return 0.0
        vals = np.array([v for _, v in h], np.float64)  # (n, sides)
        best = 0.0
        need = max(3, len(h) // 2)
        span = t - h[0][0]
        if span < 0.5 * self.window_s and len(h) < need:
            return 0.0
        for col in vals.T:
            col = col[np.isfinite(col)]
            if len(col) >= need:
                lo, hi = np.percentile(col, [10, 90])
                best = max(best, float(hi - lo))
        return best

    def step(self, frame: PoseFrame) -> int:
        """The slot of `frame` followed now, or -1 (not in view)."""
        t = frame.timestamp_s
        if self.width_px is None and frame.width_px:
            self.width_px = float(frame.width_px)
        ids = self.tracker.step(t, frame.xy_px)
        self.ids = ids
        slot_of = {tid: k for k, tid in enumerate(ids) if tid > 0}
        first_several = len(slot_of) > 1 and not self.seen_several
        if len(slot_of) > 1:
            self.seen_several = True
        if self.choice == "auto" and self.measure_fn is not None:
            world_all = frame.world_m
            for tid, k in slot_of.items():
                v = self.measure_fn(frame.xy_px[k].astype(np.float64),
                                    None if world_all is None else world_all[k].astype(np.float64),
                                    np.nan_to_num(frame.visibility[k].astype(np.float64), nan=0.0))
                self._hist.setdefault(tid, deque()).append((t, tuple(v)))
            for tid in [tid for tid in self._hist if tid not in self.tracker.tracks]:
                del self._hist[tid]
        if self.posture is not None:
            for tid, k in slot_of.items():
                world = None if frame.world_m is None else frame.world_m[k].astype(np.float64)
                self._poses.setdefault(tid, deque()).append(
                    (t, in_posture(frame.xy_px[k].astype(np.float64), self.posture, world)))
            for tid in [tid for tid in self._poses if tid not in self.tracker.tracks]:
                del self._poses[tid]
        if isinstance(self.choice, int):
            self.chosen = self.choice
            return slot_of.get(self.choice, -1)
        if not self.seen_several and self.choice == "auto":
            self.chosen = ids[0] if ids and ids[0] > 0 else self.chosen
            return 0 if frame.n_people else -1
        if self.chosen not in self.tracker.tracks or (first_several and self.choice == "auto"):
            self.chosen = None  # ended, or followed blindly as the lone person so far: choose now
            self._challenger = None
        if not slot_of:
            return -1
        if self.chosen is None:
            self.chosen = self._pick(slot_of, frame.xy_px, t)
        elif self.choice == "auto" and len(self.tracker.tracks) > 1:
            cur = self._activity(self.chosen, t)
            cur_fits = self.fits(self.chosen, t)
            best_tid, best_a = None, 0.0
            for tid in slot_of:
                if tid != self.chosen and self.fits(tid, t):
                    a = self._activity(tid, t)
                    if a > best_a or best_tid is None:
                        best_tid, best_a = tid, a
            misfit = not cur_fits and best_tid is not None  # someone whose posture fits is in view
            if best_tid is not None and (misfit or best_a >= self.min_activity and
                                         best_a > SWITCH_RATIO * cur + self.min_activity * (cur >= self.min_activity)):
                if self._challenger is None or self._challenger[0] != best_tid:
                    self._challenger = (best_tid, t)
                if t - self._challenger[1] >= SWITCH_AFTER_S or cur < 0.25 * self.min_activity \
                        or self.chosen not in slot_of:
                    self.chosen, self._challenger = best_tid, None
            else:
                self._challenger = None
        return slot_of.get(self.chosen, -1)

    def _pick(self, slot_of: dict[int, int], xy: np.ndarray, t: float) -> int:
        if self.choice == "auto":  # only people whose posture fits the exercise, when there are any
            fitting = {tid: k for tid, k in slot_of.items() if self.fits(tid, t)}
            slot_of = fitting or slot_of
        boxes = {tid: body_box(np.asarray(xy[k], np.float64)) for tid, k in slot_of.items()}
        if self.choice == "auto" and self.measure_fn is not None:
            act = {tid: self._activity(tid, t) for tid in slot_of}
            mover = max(act, key=lambda k: act[k])
            if act[mover] >= self.min_activity:
                return mover
        if self.choice == "largest":
            return max(boxes, key=lambda k: boxes[k][1])
        if self.choice == "center" and self.width_px:
            return min(boxes, key=lambda k: abs(float(boxes[k][0][0]) - self.width_px / 2))
        return max(boxes, key=lambda k: _centrality_score(boxes[k][0], boxes[k][1], self.width_px))
