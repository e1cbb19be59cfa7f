"""Smoothing of measure traces: causal One-Euro for live use, zero-phase low-pass for offline analysis.

Both are NaN-aware: a NaN (not measurable) stays NaN; it is never filled with a made-up value in the output.

Lag
---
- `OneEuro` (causal; Casiez et al. 2012) is a first-order low-pass whose cutoff rises with speed:
  ``fc = min_cutoff_hz + beta * |d value / dt|``. Its delay is the time constant ``1 / (2 pi fc)``: with
  ``min_cutoff_hz = 1.0`` about 0.16 s when the measure is still, falling to a few tens of milliseconds while
  it moves fast (beta = 0.05 on an angle moving 100 deg/s gives fc = 6 Hz, 27 ms). After a gap longer than
  `reset_after_s` it restarts from the next value (no drag across the gap).
- `zero_phase` runs a 2nd-order Butterworth low-pass forwards and backwards (`scipy.signal.filtfilt`):
  no lag at all and a 4th-order roll-off, at the price of needing the future, hence offline only. Gaps up
  to `max_fill_s` are bridged by linear interpolation for the filter's sake, then put back to NaN; longer
  gaps split the trace into segments filtered separately.
- `despike` (median of a short window) removes one- and two-frame outliers (a landmark flicking to the
  wrong limb) before either filter; centred it delays nothing, trailing (live) it delays half its window.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal


def sample_rate_hz(times_s: np.ndarray) -> float:
    """Median frame rate of a time axis (30 when it cannot be told)."""
    if len(times_s) < 2:
        return 30.0
    dt = np.median(np.diff(times_s))
    return float(1.0 / dt) if dt > 0 else 30.0


def _nan_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    if not mask.any():
        return []
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def frame_windows(x: np.ndarray, window: int, causal: bool) -> np.ndarray:
    """(T, window) view of `x`: row t is the window of frames ending at t (causal) or centred on t,
    NaN-padded at the ends."""
    if causal:
        padded = np.concatenate([np.full(window - 1, np.nan), x])
    else:
        h = window // 2
        padded = np.concatenate([np.full(h, np.nan), x, np.full(window - 1 - h, np.nan)])
    return np.lib.stride_tricks.sliding_window_view(padded, window)


def despike(values: np.ndarray, window: int = 5, causal: bool = False) -> np.ndarray:
    """NaN-aware running median over `window` frames (centred, or trailing when `causal`)."""
    x = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(x) < window:
        return x.copy()
    win = frame_windows(x, window, causal)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = np.nanmedian(win, axis=1)
    out[np.isnan(x)] = np.nan
    return out


def zero_phase(values: np.ndarray, times_s: np.ndarray, cutoff_hz: float = 3.0,
               max_fill_s: float = 0.25) -> np.ndarray:
    """Zero-lag low-pass (Butterworth, order 2, forwards-backwards); NaN stays NaN."""
    x = np.asarray(values, dtype=np.float64)
    out = np.full_like(x, np.nan)
    if len(x) == 0:
        return out
    fs = sample_rate_hz(times_s)
    wn = cutoff_hz / (fs / 2.0)
    if wn >= 1.0:
        return x.copy()
    b, a = signal.butter(2, wn)
    nan = np.isnan(x)
    # Fill short gaps for the filter's sake only.
    filled = x.copy()
    idx = np.arange(len(x))
    long_gap = np.zeros(len(x), bool)
    max_fill = max(1, int(round(max_fill_s * fs)))
    for s, e in _nan_runs(nan):
        if s == 0 or e == len(x) or e - s > max_fill:
            long_gap[s:e] = True
    good = ~nan
    if good.sum() >= 2:
        fill = nan & ~long_gap
        filled[fill] = np.interp(idx[fill], idx[good], x[good])
    padlen = 3 * max(len(a), len(b))
    for s, e in _nan_runs(~long_gap):
        seg = filled[s:e]
        if e - s > padlen:
            out[s:e] = signal.filtfilt(b, a, seg, padlen=min(padlen * 5, e - s - 1))
        else:
            out[s:e] = seg
    out[nan] = np.nan
    return out


class OneEuro:
    """Causal One-Euro filter for one scalar stream (use one instance per measure)."""

    __slots__ = ("min_cutoff_hz", "beta", "d_cutoff_hz", "reset_after_s", "_x", "_dx", "_t")

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.05, d_cutoff_hz: float = 1.0,
                 reset_after_s: float = 0.5):
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self.reset_after_s = reset_after_s
        self._x: float | None = None
        self._dx = 0.0
        self._t = 0.0

    @staticmethod
    def _alpha(cutoff_hz: float, dt: float) -> float:
        tau = 1.0 / (2.0 * math.pi * cutoff_hz)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, value: float, t: float) -> float:
        if value != value:  # NaN: not measurable; keep state, report NaN
            return value
        if self._x is None or t - self._t > self.reset_after_s or t <= self._t:
            self._x, self._dx, self._t = value, 0.0, t
            return value
        dt = t - self._t
        dx = (value - self._x) / dt
        ad = self._alpha(self.d_cutoff_hz, dt)
        self._dx = self._dx + ad * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * abs(self._dx)
        a = self._alpha(cutoff, dt)
        self._x = self._x + a * (value - self._x)
        self._t = t
        return self._x


def one_euro(values: np.ndarray, times_s: np.ndarray, min_cutoff_hz: float = 1.0, beta: float = 0.05,
             d_cutoff_hz: float = 1.0, reset_after_s: float = 0.5) -> np.ndarray:
    """Run a `OneEuro` over a whole trace: the same arithmetic as feeding it frame by frame, inlined."""
    xs = np.asarray(values, dtype=np.float64).tolist()
    ts = np.asarray(times_s, dtype=np.float64).tolist()
    out = []
    append = out.append
    two_pi = 2.0 * math.pi
    tau_d = 1.0 / (two_pi * d_cutoff_hz)
    x_prev = None
    dx_prev = 0.0
    t_prev = 0.0
    for v, t in zip(xs, ts):
        if v != v:
            append(v)
            continue
        if x_prev is None or t - t_prev > reset_after_s or t <= t_prev:
            x_prev, dx_prev, t_prev = v, 0.0, t
            append(v)
            continue
        dt = t - t_prev
        dx = (v - x_prev) / dt
        dx_prev = dx_prev + (1.0 / (1.0 + tau_d / dt)) * (dx - dx_prev)
        cutoff = min_cutoff_hz + beta * abs(dx_prev)
        x_prev = x_prev + (1.0 / (1.0 + (1.0 / (two_pi * cutoff)) / dt)) * (v - x_prev)
        t_prev = t
        append(x_prev)
    return np.array(out, dtype=np.float64)


def nanquantile_rows(a: np.ndarray, qs) -> list[np.ndarray]:
    """Linear-interpolated quantiles of each row of `a`, ignoring NaN (NaN for all-NaN rows).

    Same values as ``np.nanquantile(a, q, axis=1)``, without its slow row-by-row path."""
    srt = np.sort(a, axis=1)  # NaN sorts last
    cnt = np.count_nonzero(~np.isnan(a), axis=1)
    rows = np.arange(a.shape[0])
    last = np.maximum(cnt - 1, 0)
    out = []
    for q in qs:
        pos = q * last
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, last)
        frac = pos - lo
        v = srt[rows, lo] * (1.0 - frac) + srt[rows, hi] * frac
        v = np.where(frac == 0.0, srt[rows, lo], v)
        v[cnt == 0] = np.nan
        out.append(v)
    return out


def _envelope_step(window: int) -> int:
    return max(1, window // 24)


def rolling_envelope(values: np.ndarray, window: int, causal: bool, quantile: float = 0.0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Low and high quantiles (`quantile`, 1 - `quantile`; 0 = min and max) of a trace over a window of
    frames, centred, or trailing when `causal`. NaN is ignored.

    Quantiles change slowly, so they are computed every ``window // 24`` frames: interpolated in between
    when centred, held from the last computation when causal (exactly what `CausalQuantiles` gives frame by
    frame). Frames with no value in their window yet get NaN.
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    window = max(1, int(window))
    if n == 0:
        return x.copy(), x.copy()
    win = frame_windows(x, window, causal)
    step = _envelope_step(window)
    at = np.arange(0, n, step)
    if not causal and at[-1] != n - 1:
        at = np.append(at, n - 1)
    lo_s, hi_s = nanquantile_rows(win[at], (quantile, 1.0 - quantile))
    ok = ~np.isnan(lo_s)
    if not ok.any():
        return np.full(n, np.nan), np.full(n, np.nan)
    idx = np.arange(n)
    at_ok, lo_ok, hi_ok = at[ok], lo_s[ok], hi_s[ok]
    if causal:
        k = np.searchsorted(at_ok, idx, side="right") - 1
        valid = k >= 0
        k = np.maximum(k, 0)
        return np.where(valid, lo_ok[k], np.nan), np.where(valid, hi_ok[k], np.nan)
    return np.interp(idx, at_ok, lo_ok), np.interp(idx, at_ok, hi_ok)


class CausalQuantiles:
    """Frame-by-frame twin of `rolling_envelope(causal=True)`: quantiles of the last `window` values."""

    def __init__(self, window: int, quantiles: tuple[float, ...]):
        from collections import deque
        self.window = max(1, int(window))
        self.q = list(quantiles)
        self.buf: deque = deque(maxlen=self.window)
        self.step = _envelope_step(self.window)
        self.i = 0
        self.value: tuple[float, ...] = tuple(float("nan") for _ in quantiles)

    def push(self, v: float) -> tuple[float, ...]:
        self.buf.append(v)
        if self.i % self.step == 0:
            arr = np.fromiter(self.buf, float, len(self.buf))
            arr = arr[~np.isnan(arr)]
            if arr.size:
                self.value = tuple(float(x) for x in np.quantile(arr, self.q))
        self.i += 1
        return self.value
