"""Smoothing of measure traces: causal stages fed one value at a time, and the zero-phase offline path.

Streaming (causal; used live and, in a loop, for causal analysis of a whole recording — written once):

- `TrailingMedian` removes one- and two-frame outliers (a landmark flicking to the wrong limb): the median
  of the last ``window`` values, NaN ignored. It delays about half its window.
- `OneEuro` (Casiez et al. 2012) is a first-order low-pass whose cutoff rises with speed:
  ``fc = min_cutoff_hz + beta * |d value / dt|``. Its delay is the time constant ``1 / (2 pi fc)``: with
  ``min_cutoff_hz = 1.0`` about 0.16 s when the measure is still, falling to a few tens of milliseconds while
  it moves fast (beta = 0.05 on an angle moving 100 deg/s gives fc = 6 Hz, 27 ms). After a gap longer than
  `reset_after_s` it restarts from the next value (no drag across the gap).
- `Smoother` is the two in a row, as a definition's ``smoothing`` asks.
- `RollingQuantiles` and `RollingCount`: quantiles and the number of measured values of the last frames.

Offline (whole trace, needs the future):

- `centred_median`, then `zero_phase`: a 2nd-order Butterworth low-pass run forwards and backwards
  (`scipy.signal.filtfilt`): no lag at all and a 4th-order roll-off. Gaps up to `max_fill_s` are bridged by
  linear interpolation for the filter's sake, then put back to NaN; longer gaps split the trace into
  segments filtered separately.
- `centred_envelope`: low and high quantiles over a window centred on each frame.

All are NaN-aware: a NaN (not measurable) stays NaN; it is never filled with a made-up value.
"""

from __future__ import annotations

import math
from collections import deque
from functools import lru_cache

import numpy as np
from scipy import signal

_NAN = float("nan")


def sample_rate_hz(times_s: np.ndarray) -> float:
    """Median frame rate of a time axis (30 when it cannot be told)."""
    if len(times_s) < 2:
        return 30.0
    dt = np.median(np.diff(times_s))
    return float(1.0 / dt) if dt > 0 else 30.0


# ---------------------------------------------------------------------------- streaming stages


class TrailingMedian:
    """Median of the last `window` values (NaN ignored); a NaN value gives NaN and is kept in the window."""

    __slots__ = ("window", "buf")

    def __init__(self, window: int = 5) -> None:
        self.window = max(1, int(window))
        self.buf: deque = deque(maxlen=self.window)

    def update(self, v: float) -> float:
        self.buf.append(v)
        if v != v or self.window == 1:
            return v
        vals = sorted(x for x in self.buf if x == x)
        n = len(vals)
        mid = n // 2
        return vals[mid] if n % 2 else (vals[mid - 1] + vals[mid]) / 2.0


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

    def update(self, value: float, t: float) -> float:
        """Filtered value at time `t` (seconds); NaN passes through and keeps the state."""
        if value != value:
            return value
        if self._x is None or t - self._t > self.reset_after_s or t <= self._t:
            self._x, self._dx, self._t = value, 0.0, t
            return value
        dt = t - self._t
        dx = (value - self._x) / dt
        self._dx = self._dx + self._alpha(self.d_cutoff_hz, dt) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * abs(self._dx)
        self._x = self._x + self._alpha(cutoff, dt) * (value - self._x)
        self._t = t
        return self._x


class Smoother:
    """`TrailingMedian` then `OneEuro`, with a definition's ``smoothing`` settings."""

    __slots__ = ("median", "euro")

    def __init__(self, despike_frames: int = 5, min_cutoff_hz: float = 1.0, beta: float = 0.05) -> None:
        self.median = TrailingMedian(despike_frames)
        self.euro = OneEuro(min_cutoff_hz, beta)

    def update(self, v: float, t: float) -> float:
        v = self.median.update(v)
        if v != v:
            return v
        return self.euro.update(v, t)


def envelope_step(window: int) -> int:
    """Quantiles change slowly: they are recomputed every this many frames of a `window`."""
    return max(1, window // 24)


class RollingQuantiles:
    """Quantiles of the last `window` values (NaN ignored), recomputed every `envelope_step(window)`
    frames and held in between; NaN until a value has been seen."""

    __slots__ = ("window", "q", "buf", "step", "i", "value")

    def __init__(self, window: int, quantiles: tuple[float, ...]):
        self.window = max(1, int(window))
        self.q = list(quantiles)
        self.buf: deque = deque(maxlen=self.window)
        self.step = envelope_step(self.window)
        self.i = 0
        self.value: tuple[float, ...] = tuple(_NAN for _ in quantiles)

    def update(self, v: float) -> tuple[float, ...]:
        self.buf.append(v)
        if self.i % self.step == 0:
            arr = np.fromiter(self.buf, float, len(self.buf))
            arr = arr[~np.isnan(arr)]
            if arr.size:
                self.value = tuple(float(x) for x in np.quantile(arr, self.q))
        self.i += 1
        return self.value


class RollingCount:
    """How many of the last `window` values were measured (not NaN)."""

    __slots__ = ("buf", "count")

    def __init__(self, window: int) -> None:
        self.buf: deque = deque(maxlen=max(1, int(window)))
        self.count = 0

    def update(self, v: float) -> int:
        seen = v == v
        if len(self.buf) == self.buf.maxlen:
            self.count -= self.buf[0]
        self.buf.append(seen)
        self.count += seen
        return self.count


# ---------------------------------------------------------------------------- offline (whole trace)


def _nan_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    if not mask.any():
        return []
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _centred_windows(x: np.ndarray, window: int) -> np.ndarray:
    """(T, window) view of `x`: row t is the window centred on t, NaN-padded at the ends."""
    h = window // 2
    padded = np.concatenate([np.full(h, np.nan), x, np.full(window - 1 - h, np.nan)])
    return np.lib.stride_tricks.sliding_window_view(padded, window)


def centred_median(values: np.ndarray, window: int = 5) -> np.ndarray:
    """NaN-aware running median over `window` frames centred on each frame (offline de-spiking).

    The values of ``np.nanmedian`` over each window (the middle of the sorted non-NaN values, or the mean
    of the two middle ones), computed by one sort of all windows instead of its slow masked-array path."""
    x = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(x) < window:
        return x.copy()
    win = _centred_windows(x, window)
    srt = np.sort(win, axis=1)  # NaN sorts last
    cnt = np.count_nonzero(~np.isnan(win), axis=1)
    rows = np.arange(len(x))
    lower = srt[rows, np.maximum((cnt - 1) // 2, 0)]
    upper = srt[rows, cnt // 2]
    out = np.where(cnt % 2 == 1, lower, (lower + upper) / 2.0)
    out[cnt == 0] = np.nan
    out[np.isnan(x)] = np.nan
    return out


@lru_cache(maxsize=64)
def _butter_low(order: int, wn: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(b, a, zi) of a Butterworth low-pass and the initial state of its step response (`lfilter_zi`),
    computed once per design."""
    b, a = signal.butter(order, wn)
    return b, a, signal.lfilter_zi(b, a)


def _filtfilt(b: np.ndarray, a: np.ndarray, zi: np.ndarray, x: np.ndarray, padlen: int) -> np.ndarray:
    """``scipy.signal.filtfilt(b, a, x, padlen=padlen)`` (odd padding, the "pad" method) for a 1-D `x`,
    with the same operations in the same order but `zi` designed once (`_butter_low`)."""
    left = 2 * x[0:1] - x[padlen:0:-1]
    right = 2 * x[-1:] - x[-2:-(padlen + 2):-1]
    ext = np.concatenate((left, x, right))
    y, _ = signal.lfilter(b, a, ext, zi=zi * ext[0:1])
    y, _ = signal.lfilter(b, a, y[::-1], zi=zi * y[-1:])
    return y[::-1][padlen:-padlen]


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
    b, a, zi = _butter_low(2, float(wn))
    nan = np.isnan(x)
    filled = x.copy()  # short gaps filled for the filter's sake only
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
            out[s:e] = _filtfilt(b, a, zi, seg, min(padlen * 5, e - s - 1))
        else:
            out[s:e] = seg
    out[nan] = np.nan
    return out


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


def centred_envelope(values: np.ndarray, window: int, quantile: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Low and high quantiles (`quantile`, 1 - `quantile`; 0 = min and max) of a trace over a window of
    frames centred on each frame, NaN ignored; computed every `envelope_step(window)` frames and
    interpolated in between. Frames with no value in their window get NaN."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    window = max(1, int(window))
    if n == 0:
        return x.copy(), x.copy()
    win = _centred_windows(x, window)
    at = np.arange(0, n, envelope_step(window))
    if at[-1] != n - 1:
        at = np.append(at, n - 1)
    lo_s, hi_s = nanquantile_rows(win[at], (quantile, 1.0 - quantile))
    ok = ~np.isnan(lo_s)
    if not ok.any():
        return np.full(n, np.nan), np.full(n, np.nan)
    idx = np.arange(n)
    return np.interp(idx, at[ok], lo_s[ok]), np.interp(idx, at[ok], hi_s[ok])
