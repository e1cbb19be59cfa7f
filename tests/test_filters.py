"""Smoothing: zero-phase has no lag, One-Euro is causal, NaN stays NaN, windows match frame by frame."""

from __future__ import annotations

import numpy as np
import pytest

from coach.engine.filters import (CausalQuantiles, OneEuro, despike, nanquantile_rows, one_euro, rolling_envelope,
                           zero_phase)

FPS = 30.0


def sine(seconds=10.0, hz=0.5, amp=40.0, noise=0.0, seed=0):
    t = np.arange(0, seconds, 1 / FPS)
    rng = np.random.default_rng(seed)
    return t, 120 + amp * np.sin(2 * np.pi * hz * t) + noise * rng.standard_normal(len(t))


def lag_s(t, ref, x):
    """Delay of x against ref by cross-correlation, seconds."""
    ok = ~np.isnan(x) & ~np.isnan(ref)
    a, b = ref[ok] - ref[ok].mean(), x[ok] - x[ok].mean()
    lags = np.arange(-15, 16)
    corr = [np.dot(a[max(0, -k): len(a) - max(0, k)], b[max(0, k): len(b) - max(0, -k)]) for k in lags]
    return lags[int(np.argmax(corr))] / FPS


def test_zero_phase_smooths_without_lag():
    t, clean = sine()
    _, noisy = sine(noise=5.0)
    out = zero_phase(noisy, t, cutoff_hz=3.0)
    assert np.std(out - clean) < 0.5 * np.std(noisy - clean)
    assert abs(lag_s(t, clean, out)) < 1e-9


def test_one_euro_is_causal_with_small_documented_lag():
    t, clean = sine()
    _, noisy = sine(noise=5.0)
    out = one_euro(noisy, t, min_cutoff_hz=1.0, beta=0.05)
    assert np.std(out - clean) < np.std(noisy - clean)
    assert 0 <= lag_s(t, clean, out) <= 0.17  # documented: at most ~1/(2 pi min_cutoff) = 0.16 s
    # causal: changing the future does not change the past
    noisy2 = noisy.copy()
    noisy2[200:] += 50
    out2 = one_euro(noisy2, t)
    assert np.array_equal(out[:200], out2[:200])


def test_one_euro_trace_equals_frame_by_frame():
    t, x = sine(noise=3.0)
    x[40:50] = np.nan
    f = OneEuro()
    frame_by_frame = np.array([f(v, tt) for v, tt in zip(x, t)])
    assert np.allclose(one_euro(x, t), frame_by_frame, equal_nan=True)


def test_nan_stays_nan_and_is_not_filled():
    t, x = sine()
    x[100:140] = np.nan
    for out in (zero_phase(x, t), one_euro(x, t), despike(x, 5), despike(x, 5, causal=True)):
        assert np.isnan(out[100:140]).all()
        assert not np.isnan(out[:95]).any()


def test_despike_removes_single_frame_outliers():
    t, x = sine()
    x[50] = 1000
    x[51] = -1000
    out = despike(x, 5)
    assert abs(out[50] - x[49]) < 10 and abs(out[51] - x[52]) < 10


def test_nanquantile_rows_matches_numpy():
    rng = np.random.default_rng(3)
    a = rng.random((40, 25))
    a[a < 0.3] = np.nan
    a[5] = np.nan
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanquantile(a, [0.02, 0.25, 0.5, 0.98], axis=1)
    assert np.allclose(nanquantile_rows(a, (0.02, 0.25, 0.5, 0.98)), ref, equal_nan=True)


@pytest.mark.parametrize("q", [0.0, 0.05])
def test_causal_envelope_equals_frame_by_frame(q):
    t, x = sine(noise=2.0)
    x[30:45] = np.nan
    lo, hi = rolling_envelope(x, 90, causal=True, quantile=q)
    cq = CausalQuantiles(90, (q, 1 - q))
    live = np.array([cq.push(v) for v in x])
    assert np.allclose(lo, live[:, 0], equal_nan=True) and np.allclose(hi, live[:, 1], equal_nan=True)


def test_centred_envelope_follows_the_range():
    t, x = sine(amp=40.0)
    lo, hi = rolling_envelope(x, 120, causal=False)
    assert np.allclose(lo[60:-60], 80, atol=1.0) and np.allclose(hi[60:-60], 160, atol=1.0)
