"""The adaptive range: percentages in conditions are relative to the range the person actually moves through.

For the primary measure of a definition with ``movement.range`` (see `exercises/README.md`, "Adaptive
range"), three steps:

1. values implausibly far from the recent ones are dropped (more than `outlier_span` beyond the quartiles
   of the window) — a zoomed close-up or a skeleton fitted to the wrong thing, not a movement. The values
   reach the range smoothed, and smoothing spreads such a glitch into a rise and a decay under the fence;
   so the values next to a dropped one are dropped too while they stay outside the range learned so far
   (for at most `settle_s`: after it live, on both sides of it offline);
2. after a gap of `reset_after_gap_s` without values (a camera cut, a close-up, nobody in view) the first
   `settle_s` of values are not trusted while the pose model settles (`GapSettle`), and the range is learned
   afresh from there;
3. the low/high ends are quantiles over a window, never narrower than `min_span` (widened away from the rest
   end).

`AdaptiveRange` does this causally, one value at a time (live, and causal analysis of a recording);
`offline_range` does it over a whole trace with windows centred on each frame.
"""

from __future__ import annotations

import numpy as np

from coach.engine.filters import RollingQuantiles, centred_envelope, sample_rate_hz
from coach.exercise.spec import RangeSpec

_NAN = float("nan")


def settle_frames(rg: RangeSpec, fs: float) -> int:
    """Frames of `settle_s`: not trusted after a gap, and the most of a glitch's smoothed edges dropped."""
    return int(round(rg.settle_s * fs)) if rg.settle_s > 0 else 0


def _edges(x: np.ndarray, rejected: np.ndarray, lo: np.ndarray, hi: np.ndarray, frames: int) -> np.ndarray:
    """`rejected` grown over the frames before and after each rejected run whose values lie outside
    [lo, hi] (the smoothed rise and decay of a glitch), at most `frames` on each side."""
    out = rejected.copy()
    with np.errstate(invalid="ignore"):
        outside = ~((x >= lo) & (x <= hi))
    n = len(x)
    for i in np.flatnonzero(rejected):
        for step in (-1, 1):
            j = i + step
            for _ in range(frames):
                if not 0 <= j < n or rejected[j] or not outside[j]:
                    break
                out[j] = True
                j += step
    return out


def gap_frames(reset_after_gap_s: float, fs: float) -> int:
    """Frames without a value that make a gap (0: never)."""
    return max(1, int(round(reset_after_gap_s * fs))) if reset_after_gap_s > 0 else 0


class GapSettle:
    """After a gap of at least `gap` frames without values, the next `settle` values become NaN (the pose
    model's first fits of a person found again are often far off); `update` also says when a new stretch
    begins (the first trusted value after such a gap), where the range is learned afresh."""

    __slots__ = ("gap", "settle", "nan_run", "settle_left", "started")

    def __init__(self, gap: int, settle: int) -> None:
        self.gap = gap
        self.settle = settle
        self.nan_run = 0
        self.settle_left: int | None = None  # None: not settling
        self.started = False

    def update(self, x: float) -> tuple[float, bool]:
        """(the value or NaN while settling, True when a new stretch begins with this value)."""
        run = self.nan_run
        if x == x and self.settle and self.gap:
            left = self.settle_left
            if run >= self.gap and left is None:
                left = self.settle
            if left is not None and left > 0:
                self.settle_left = left - 1
                return _NAN, False
            self.settle_left = None
        new = False
        if x != x:
            self.nan_run = run + 1
        else:
            new = bool(self.gap and run >= self.gap and self.started)
            self.nan_run = 0
        self.started = True
        return x, new

    @property
    def settling(self) -> bool:
        return self.settle_left is not None


def floor_span(rg: RangeSpec, lo, hi):
    """Widen a range narrower than `min_span` away from the rest end (floats or arrays)."""
    span = hi - lo
    with np.errstate(invalid="ignore"):
        small = ~(span >= rg.min_span)
    if rg.rest == "high":
        return np.where(small, hi - rg.min_span, lo), hi
    return lo, np.where(small, lo + rg.min_span, hi)


class AdaptiveRange:
    """The causal adaptive range of one primary measure: `update(x)` -> (value kept, range low, range high).

    After each update, `rejected` says the value was dropped as implausible and `settling` that values are
    not trusted yet after a gap (for the "not measurable" reason).
    """

    __slots__ = ("rg", "window", "fence", "gate", "env", "rejected", "edge", "edge_left", "last")

    def __init__(self, rg: RangeSpec, fps: float):
        self.rg = rg
        self.window = max(3, int(round(rg.window_s * fps)))
        self.fence = RollingQuantiles(self.window, (0.25, 0.75))
        self.edge = settle_frames(rg, fps)
        self.gate = GapSettle(gap_frames(rg.reset_after_gap_s, fps), self.edge)
        self.env = self._new_env()
        self.rejected = False
        self.edge_left = 0  # frames after a dropped value whose values are dropped while outside the range
        self.last = (_NAN, _NAN)  # the range of the previous frame

    def _new_env(self) -> RollingQuantiles:
        return RollingQuantiles(self.window, (self.rg.quantile, 1 - self.rg.quantile))

    @property
    def settling(self) -> bool:
        return self.gate.settling

    def restart(self) -> None:
        """Forget everything learned (a camera cut: the values before it belong to another shot)."""
        self.fence = RollingQuantiles(self.window, (0.25, 0.75))
        self.env = self._new_env()
        self.gate.nan_run = 0
        self.gate.settle_left = None
        self.gate.started = False
        self.edge_left = 0
        self.last = (_NAN, _NAN)

    def _floor(self, lo: float, hi: float) -> tuple[float, float]:
        rg = self.rg
        if not hi - lo >= rg.min_span:
            if rg.rest == "high":
                lo = hi - rg.min_span
            else:
                hi = lo + rg.min_span
        return lo, hi

    def update(self, x: float) -> tuple[float, float, float]:
        rg = self.rg
        q1, q3 = self.fence.update(x)
        self.rejected = False
        if rg.outlier_span is not None and x == x and q1 == q1:
            if x < q1 - rg.outlier_span or x > q3 + rg.outlier_span:
                self.rejected = True
                self.edge_left = self.edge
            elif self.edge_left > 0:  # the decay of a glitch through the smoothing
                self.edge_left -= 1
                lo, hi = self.last
                self.rejected = not lo <= x <= hi
                if not self.rejected:
                    self.edge_left = 0
            if self.rejected:
                x = _NAN
        x, new = self.gate.update(x)
        if new:
            self.env = self._new_env()
        lo, hi = self.env.update(x)
        self.last = self._floor(lo, hi)
        return x, *self.last


def _borrow_nearest_movement(lo: np.ndarray, hi: np.ndarray, min_span: float):
    """Where the window saw less than `min_span` of movement (standing still before the first rep), use
    the range of the nearest moment that saw a full movement, so that idle positions are placed on the
    person's real range instead of at an assumed end of it."""
    with np.errstate(invalid="ignore"):
        good = (hi - lo) >= min_span
    if good.all() or not good.any():
        return lo, hi
    idx = np.arange(len(lo))
    gi = idx[good]
    pos = np.searchsorted(gi, idx)
    before = gi[np.clip(pos - 1, 0, len(gi) - 1)]
    after = gi[np.clip(pos, 0, len(gi) - 1)]
    nearest = np.where(np.abs(idx - before) <= np.abs(after - idx), before, after)
    src = np.where(good, idx, nearest)
    return lo[src], hi[src]


def offline_range(rg: RangeSpec, x: np.ndarray, times: np.ndarray, cuts: np.ndarray | None = None):
    """(cleaned values, range low, range high) over a whole trace, windows centred on each frame; idle
    stretches borrow the range of the nearest full movement. cuts: (T,) bool, True where a camera cut
    begins a new shot (each shot gets a range of its own)."""
    fs = sample_rate_hz(times)
    window = max(3, int(round(rg.window_s * fs)))
    x = np.asarray(x, dtype=np.float64)
    shots = [0] + ([] if cuts is None else [int(i) for i in np.flatnonzero(cuts) if i > 0]) + [len(x)]
    if rg.outlier_span is not None:
        for a, b in zip(shots, shots[1:]):  # each shot on its own
            seg = x[a:b]
            q1, q3 = centred_envelope(seg, window, quantile=0.25)
            with np.errstate(invalid="ignore"):
                rejected = (seg < q1 - rg.outlier_span) | (seg > q3 + rg.outlier_span)
            if rejected.any():
                kept = np.where(rejected, np.nan, seg)
                lo, hi = floor_span(rg, *centred_envelope(kept, window, quantile=rg.quantile))
                x[a:b] = np.where(_edges(seg, rejected, lo, hi, settle_frames(rg, fs)), np.nan, seg)
    gate = GapSettle(gap_frames(rg.reset_after_gap_s, fs), settle_frames(rg, fs))
    settled = np.empty(len(x))
    starts = [0]
    cut_at = set(shots[1:-1])
    for i, v in enumerate(x.tolist()):
        if i in cut_at:
            gate = GapSettle(gate.gap, gate.settle)
            starts.append(i)
        settled[i], new = gate.update(v)
        if new and starts[-1] != i:
            starts.append(i)
    lo = np.full(len(x), np.nan)
    hi = np.full(len(x), np.nan)
    for a, b in zip(starts, starts[1:] + [len(x)]):
        lo[a:b], hi[a:b] = centred_envelope(settled[a:b], window, quantile=rg.quantile)
        lo[a:b], hi[a:b] = _borrow_nearest_movement(lo[a:b], hi[a:b], rg.min_span)
    lo, hi = floor_span(rg, lo, hi)
    return settled, lo, hi
