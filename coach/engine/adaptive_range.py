"""The adaptive range: percentages in conditions are relative to the range the person actually moves through.

For the primary measure of a definition with ``movement.range`` (see `exercises/README.md`, "Adaptive
range"): values implausibly far from the recent ones are dropped (Tukey's fences), the first values after a
long gap are not trusted while the pose model settles, the range is learned afresh after such a gap, and its
low/high ends are quantiles over a window, never narrower than ``min_span`` (extended away from the rest
end). `adaptive_range` does a whole trace (centred windows offline, trailing when causal); `LiveRange` does
the causal computation frame by frame with exactly the same result.
"""

from __future__ import annotations

import numpy as np

from coach.exercise.spec import RangeSpec
from coach.engine.filters import CausalQuantiles, rolling_envelope, sample_rate_hz


#: Tukey's factor: beyond this many interquartile ranges past the quartiles (and `outlier_span`) a value
#: is implausible.
OUTLIER_IQR = 3.0


def reject_outliers(rg: RangeSpec, x: np.ndarray, window: int, causal: bool) -> np.ndarray:
    """NaN where the primary measure is implausibly far from its recent values: more than `outlier_span`
    (and `OUTLIER_IQR` interquartile ranges) beyond the window's quartiles — a zoomed close-up or a skeleton
    fitted to the wrong thing, not a movement. Off when the definition gives no `outlier_span`."""
    if rg.outlier_span is None:
        return x
    q1, q3 = rolling_envelope(x, window, causal=causal, quantile=0.25)
    spread = np.fmax((q3 - q1) * OUTLIER_IQR, rg.outlier_span)
    with np.errstate(invalid="ignore"):
        bad = (x < q1 - spread) | (x > q3 + spread)
    return np.where(bad, np.nan, x)


def gap_frames(reset_after_gap_s: float, fs: float) -> int:
    return max(1, int(round(reset_after_gap_s * fs))) if reset_after_gap_s > 0 else 0


def range_segments(x: np.ndarray, reset_after_gap_s: float, fs: float) -> list[tuple[int, int]]:
    """[start, end) stretches the range is learned on separately: a new one starts at the first value
    after at least `reset_after_gap_s` without any (a camera cut or close-up: a new shot, a new scale)."""
    n = len(x)
    g = gap_frames(reset_after_gap_s, fs)
    if g == 0 or n == 0:
        return [(0, n)]
    starts = [0]
    run = 0
    for i, v in enumerate(np.isnan(x).tolist()):
        if v:
            run += 1
        else:
            if run >= g and i > 0:
                starts.append(i)
            run = 0
    return list(zip(starts, starts[1:] + [n]))


def settle_after_gaps(x: np.ndarray, reset_after_gap_s: float, settle_s: float, fs: float) -> np.ndarray:
    """A copy of `x` with the first values after each gap of `reset_after_gap_s` or more made NaN: for
    `settle_s` the pose model is still converging on the person it found again (after a cut, a close-up
    or nobody in view), and its first fits are often far off."""
    x = np.array(x, dtype=np.float64, copy=True)
    g = gap_frames(reset_after_gap_s, fs)
    settle = int(round(settle_s * fs)) if settle_s > 0 else 0
    if g == 0 or settle == 0:
        return x
    nan = np.isnan(x).tolist()
    run = 0
    left = 0
    settling = False
    for i, v in enumerate(nan):
        if v:
            run += 1
            continue
        if run >= g and not settling:
            settling, left = True, settle
        if settling and left > 0:
            left -= 1
            x[i] = np.nan
            continue
        settling = False
        run = 0
    return x


def adaptive_range(rg: RangeSpec, x: np.ndarray, times: np.ndarray, causal: bool):
    """(cleaned values, range low, range high) of the primary measure over a whole trace."""
    fs = sample_rate_hz(times)
    window = max(3, int(round(rg.window_s * fs)))
    x = reject_outliers(rg, x, window, causal)
    x = settle_after_gaps(x, rg.reset_after_gap_s, rg.settle_s, fs)
    lo = np.full(len(x), np.nan)
    hi = np.full(len(x), np.nan)
    for a, b in range_segments(x, rg.reset_after_gap_s, fs):
        lo[a:b], hi[a:b] = rolling_envelope(x[a:b], window, causal=causal, quantile=rg.quantile)
        if not causal:
            lo[a:b], hi[a:b] = _borrow_nearest_movement(lo[a:b], hi[a:b], rg.min_span)
    lo, hi = floor_span(rg, lo, hi)
    return x, lo, hi


def _borrow_nearest_movement(lo: np.ndarray, hi: np.ndarray, min_span: float):
    """Offline only: where the window saw less than `min_span` of movement (standing still before the
    first rep), use the range of the nearest moment that saw a full movement, so that idle positions are
    placed on the person's real range instead of at an assumed end of it."""
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


def floor_span(rg: RangeSpec, lo, hi):
    """Widen a range narrower than `min_span` away from the rest end (scalars or arrays)."""
    span = hi - lo
    with np.errstate(invalid="ignore"):
        small = ~(span >= rg.min_span)
    if rg.rest == "high":
        return np.where(small, hi - rg.min_span, lo), hi
    return lo, np.where(small, lo + rg.min_span, hi)


class LiveRange:
    """Frame-by-frame twin of `adaptive_range(..., causal=True)`: push a value, get (value, low, high)."""

    def __init__(self, rg: RangeSpec, fps: float):
        self.rg = rg
        self.window = max(3, int(round(rg.window_s * fps)))
        self.gap = gap_frames(rg.reset_after_gap_s, fps)
        self.settle = int(round(rg.settle_s * fps)) if rg.settle_s > 0 else 0
        self.fence = CausalQuantiles(self.window, (0.25, 0.75))
        self.env = self._new_env()
        self.nan_run = 0
        self.settle_left: int | None = None  # None: not settling
        self.pushed = False

    def _new_env(self) -> CausalQuantiles:
        return CausalQuantiles(self.window, (self.rg.quantile, 1 - self.rg.quantile))

    def _floor(self, lo: float, hi: float) -> tuple[float, float]:
        rg = self.rg
        if not hi - lo >= rg.min_span:
            if rg.rest == "high":
                lo = hi - rg.min_span
            else:
                hi = lo + rg.min_span
        return lo, hi

    def push(self, x: float) -> tuple[float, float, float]:
        rg = self.rg
        q1, q3 = self.fence.push(x)
        if rg.outlier_span is not None and x == x and q1 == q1:
            spread = max((q3 - q1) * OUTLIER_IQR, rg.outlier_span)
            if x < q1 - spread or x > q3 + spread:
                x = float("nan")
        run = self.nan_run
        if x == x and self.settle and self.gap:
            left = self.settle_left
            if run >= self.gap and left is None:
                left = self.settle
            if left is not None and left > 0:
                self.settle_left = left - 1
                lo, hi = self.env.push(float("nan"))
                return float("nan"), *self._floor(lo, hi)
            self.settle_left = None
        if x != x:
            self.nan_run = run + 1
        else:
            if self.gap and run >= self.gap and self.pushed:
                self.env = self._new_env()
            self.nan_run = 0
        self.pushed = True
        lo, hi = self.env.push(x)
        return x, *self._floor(lo, hi)
