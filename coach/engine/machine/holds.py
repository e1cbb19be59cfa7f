"""Time held in the hold phase (plank, wall sit).

Time counts while the person is in the hold phase, measurable, and no ``breaks_hold`` rule fails. An
interruption (out of view, out of position, a rule failing) shorter than ``bridge_gap_s`` after which the
person is in the hold again does not end it: the hold is one interval across it. ``bridge_gap_s: 0`` counts
only time seen in position. Stretches shorter than ``min_s`` are not holds.

A phase is a wide band (a wall sit is "knee below 135°"), so its entry and exit include the way into the
pose and out of it. With a ``tolerance``, a hold is timed only while the measure stays near its held level:
the level is the densest band of values two tolerances wide over the hold (the value the person held
longest), and the way in before the measure settles into that band, and the way out after it leaves it, are
trimmed off (`held_span`). A tiring patient's slow drift stays inside the band; the descent, the sinking to
the floor and the rise do not.
"""

from __future__ import annotations

import math

import numpy as np

from coach.engine.events import HoldProgress, HoldRecord

#: Seconds the measure must stay near the held level for the hold to start (or, read backwards, to end).
SETTLED_S = 0.3
#: ...and move less than this fraction of the tolerance over those seconds (arrived, not easing in or out).
SETTLED_SPREAD = 0.1875


def held_level(values: np.ndarray, tolerance: float) -> float:
    """The held level of a stretch of values: the median of the densest band ``2 * tolerance`` wide (NaN ignored;
    NaN when there is no value)."""
    v = np.sort(values[np.isfinite(values)])
    if v.size == 0:
        return math.nan
    ends = np.searchsorted(v, v + 2.0 * tolerance, side="right")
    i = int(np.argmax(ends - np.arange(v.size)))
    return float(np.median(v[i:ends[i]]))


def held_span(times_s: np.ndarray, values: np.ndarray, tolerance: float) -> tuple[float, float] | None:
    """(first, last) time of a stretch spent at its held level. It begins at the first moment from which the
    values stay within `tolerance` of `held_level` and move less than `SETTLED_SPREAD` tolerances over `SETTLED_S` (the
    person has arrived, not still easing in), and ends, read backwards, at the last such moment. None when
    they never settle. times_s, values: (N,) seconds and the measure's unit."""
    t = np.asarray(times_s, np.float64)
    v = np.asarray(values, np.float64)
    level = held_level(v, tolerance)
    if level != level:
        return None
    near = np.abs(v - level) <= tolerance  # NaN (unmeasured) is not near
    first = _settled(t, v, near, tolerance)
    if first is None:
        return None
    last = _settled(-t[::-1], v[::-1], near[::-1], tolerance)
    return float(t[first]), float(t[len(t) - 1 - last])


def _settled(t: np.ndarray, v: np.ndarray, near: np.ndarray, tolerance: float) -> int | None:
    """First index from which `SETTLED_S` of values (t increasing) are all near the level and span at most
    `SETTLED_SPREAD` tolerances."""
    n = len(t)
    j = 0
    for i in range(n):
        if not near[i]:
            continue
        j = max(j, i)
        while j + 1 < n and t[j] - t[i] < SETTLED_S and near[j + 1]:
            j += 1
        if t[j] - t[i] >= SETTLED_S:
            w = v[i:j + 1]
            if float(w.max() - w.min()) <= SETTLED_SPREAD * tolerance:
                return i
    return None


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    if not mask.any():
        return []
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


class HoldTimer:
    """One hold at a time, recorded into the set's tally when it ends.

    tolerance: the hold is trimmed to the time near its held level (see `held_span`); None: not trimmed.
    """

    __slots__ = ("tally", "side", "min_s", "bridge_s", "tolerance", "start", "pause", "times", "values",
                 "_trim", "_trim_n")

    def __init__(self, tally, side: str, min_s: float, bridge_s: float, tolerance: float | None = None) -> None:
        self.tally = tally
        self.side = side if side != "none" else "both"
        self.min_s = min_s
        self.bridge_s = bridge_s
        self.tolerance = tolerance
        self.start: float | None = None  #: when the open hold began (its phase was entered)
        self.pause: float | None = None  #: when the open hold was interrupted (None: not interrupted)
        self.times: list[float] = []  #: the open hold's frames in the hold phase, and the measure in them
        self.values: list[float] = []
        self._trim: tuple[float, float] | None = None  # held_span of the open hold, as of `_trim_n` samples
        self._trim_n = 0

    def _span(self, end: float) -> tuple[float, float] | None:
        """The open hold's interval ending at `end`, trimmed to its held level when there is a tolerance."""
        if self.start is None:
            return None
        if self.tolerance is None:
            return self.start, end
        span = held_span(np.asarray(self.times), np.asarray(self.values), self.tolerance)
        return self._clip(span, end)

    def _clip(self, span: tuple[float, float] | None, end: float) -> tuple[float, float] | None:
        if span is None or self.start is None:
            return None
        first, last = span
        # settled from its first frame: the hold began at the phase's (dwell-dated) entry
        start = max(self.start, first)
        stop = end if self.times and last >= self.times[-1] else min(last, end)
        return (start, stop) if stop > start else None

    def _close(self, end: float, out: list) -> None:
        self.pause = None
        span = self._span(end)
        self.start = None
        self.times, self.values = [], []
        self._trim, self._trim_n = None, 0
        if span is None:
            return
        dur = span[1] - span[0]
        if dur >= self.min_s and dur > 0:
            self.tally.holds.append(HoldRecord(span[0], span[1], self.side))
            self.tally.held_s += dur
            out.append(HoldProgress(span[1], self.tally.held_s, False))

    def interrupted(self, since: float, t: float, out: list) -> None:
        """Out of the hold (or unmeasurable) since `since`, still at `t`: end the hold once past the bridge."""
        if self.start is None:
            return
        if self.pause is None:
            self.pause = since
        if t - self.pause > self.bridge_s:
            self._close(self.pause, out)

    def holding(self, t: float, began: float, value: float, out: list) -> None:
        """In the hold at `t` with the primary measure at `value`; `began` is when a new hold starts (the
        phase's entry on its first frame)."""
        if self.start is None:
            self.start = began
            out.append(HoldProgress(t, self.tally.held_s, True))
        elif self.pause is not None:
            if t - self.pause <= self.bridge_s:
                self.pause = None
            else:
                self._close(self.pause, out)
                self.start = t
                out.append(HoldProgress(t, self.tally.held_s, True))
        self.times.append(t)
        self.values.append(value)

    def open_s(self, last_t: float | None) -> float:
        """Seconds of the hold still open at `last_t` (0 when none); trimmed like the recorded hold, with the
        held level as known so far (recomputed every few frames)."""
        if self.start is None or last_t is None:
            return 0.0
        end = self.pause if self.pause is not None else last_t
        if self.tolerance is None:
            return max(0.0, end - self.start)
        n = len(self.times)
        if n - self._trim_n >= 8 or (self._trim is None and n != self._trim_n):
            self._trim = held_span(np.asarray(self.times), np.asarray(self.values), self.tolerance)
            self._trim_n = n
        span = self._clip(self._trim, end)
        return 0.0 if span is None else span[1] - span[0]

    def finish(self, end: float, out: list) -> None:
        """The set ends at `end`: close the open hold (at its interruption, if interrupted)."""
        if self.start is not None:
            self._close(self.pause if self.pause is not None else end, out)
