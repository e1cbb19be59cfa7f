"""Smoothing: zero-phase has no lag, One-Euro is causal with its documented lag, NaN stays NaN, the
streaming windows (median, quantiles, counts) hold what they say."""

from __future__ import annotations

import numpy as np
import pytest

from coach.engine.filters import (OneEuro, RollingCount, RollingQuantiles, Smoother, TrailingMedian, centred_envelope,
                                  centred_median, envelope_step, nanquantile_rows, zero_phase)

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


def run(stage, x, t=None):
    return np.array([stage.update(v) if t is None else stage.update(v, tt) for v, tt in zip(x, t if t is not None
                                                                                           else x)])


def test_zero_phase_smooths_without_lag():
    t, clean = sine()
    _, noisy = sine(noise=5.0)
    out = zero_phase(noisy, t, cutoff_hz=3.0)
    assert np.std(out - clean) < 0.5 * np.std(noisy - clean)
    assert abs(lag_s(t, clean, out)) < 1e-9


def test_one_euro_is_causal_with_small_documented_lag():
    t, clean = sine()
    _, noisy = sine(noise=5.0)
    out = run(OneEuro(min_cutoff_hz=1.0, beta=0.05), noisy, t)
    assert np.std(out - clean) < np.std(noisy - clean)
    assert 0 <= lag_s(t, clean, out) <= 0.17  # documented: at most ~1/(2 pi min_cutoff) = 0.16 s
    # causal: changing the future does not change the past
    noisy2 = noisy.copy()
    noisy2[200:] += 50
    out2 = run(OneEuro(), noisy2, t)
    assert np.array_equal(out[:200], out2[:200])


def test_one_euro_restarts_after_a_gap_instead_of_dragging():
    t, x = sine()
    x[100:130] = np.nan  # 1 s: longer than reset_after_s
    x[130:] += 60
    out = run(OneEuro(), x, t)
    assert out[130] == x[130]


def test_nan_stays_nan_and_is_not_filled():
    t, x = sine()
    x[100:140] = np.nan
    for out in (zero_phase(x, t), centred_median(x, 5), run(Smoother(5), x, t), run(TrailingMedian(5), x)):
        assert np.isnan(out[100:140]).all()
        assert not np.isnan(out[:95]).any()


def test_medians_remove_single_frame_outliers():
    t, x = sine()
    x[50] = 1000
    x[51] = -1000
    centred = centred_median(x, 5)
    assert abs(centred[50] - x[49]) < 10 and abs(centred[51] - x[52]) < 10
    trailing = run(TrailingMedian(5), x)
    assert np.all((trailing[45:60] > 50) & (trailing[45:60] < 200))  # the spikes never come through


def test_trailing_median_is_the_median_of_the_last_values_seen():
    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    x[rng.random(200) < 0.2] = np.nan
    out = run(TrailingMedian(5), x)
    for i in range(200):
        if np.isnan(x[i]):
            assert np.isnan(out[i])
        else:
            w = x[max(0, i - 4): i + 1]
            assert out[i] == pytest.approx(np.median(w[~np.isnan(w)]))


def test_rolling_quantiles_and_counts_over_the_last_window():
    t, x = sine(noise=2.0)
    x[30:45] = np.nan
    q = RollingQuantiles(90, (0.05, 0.95))
    c = RollingCount(90)
    step = envelope_step(90)
    for i, v in enumerate(x):
        lo, hi = q.update(v)
        n = c.update(v)
        w = x[max(0, i - 89): i + 1]
        assert n == np.count_nonzero(~np.isnan(w))
        if i % step == 0 and np.any(~np.isnan(w)):
            assert (lo, hi) == pytest.approx(tuple(np.nanquantile(w, [0.05, 0.95])))


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


def test_centred_envelope_follows_the_range():
    t, x = sine(amp=40.0)
    lo, hi = centred_envelope(x, 120)
    assert np.allclose(lo[60:-60], 80, atol=1.0) and np.allclose(hi[60:-60], 160, atol=1.0)


def test_centred_median_is_numpys_nanmedian_of_each_centred_window():
    import warnings

    from coach.engine.filters import _centred_windows, centred_median

    rng = np.random.default_rng(7)
    for trial in range(200):
        x = rng.normal(size=int(rng.integers(3, 300))) * rng.choice([1e-3, 1.0, 100.0])
        x[rng.random(len(x)) < rng.choice([0.0, 0.2, 0.6, 0.95])] = np.nan
        for window in (2, 3, 4, 5, 9):
            got = centred_median(x, window)
            if len(x) < window:
                np.testing.assert_array_equal(got, x)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = np.nanmedian(_centred_windows(x, window), axis=1)
            expected[np.isnan(x)] = np.nan
            np.testing.assert_array_equal(got, expected)  # bit for bit, NaN where NaN


def test_zero_phase_filters_each_segment_exactly_as_scipys_filtfilt():
    from scipy import signal

    from coach.engine.filters import _butter_low, _filtfilt

    rng = np.random.default_rng(8)
    for trial in range(50):
        x = np.cumsum(rng.normal(size=int(rng.integers(12, 500))))
        wn = float(rng.uniform(0.02, 0.9))
        b, a = signal.butter(2, wn)
        b2, a2, zi = _butter_low(2, wn)
        np.testing.assert_array_equal(b, b2)
        padlen = min(45, len(x) - 1)
        np.testing.assert_array_equal(_filtfilt(b2, a2, zi, x, padlen), signal.filtfilt(b, a, x, padlen=padlen))


def test_one_frames_body_centre_with_plain_floats_is_the_vectorised_one():
    from coach.engine.torso import body_centres, body_frame, body_sizes

    def body_centre_frame(xy):
        return body_frame(xy)[:3]

    rng = np.random.default_rng(9)
    xy = rng.uniform(-50, 2000, (300, 33, 2))
    xy[rng.random((300, 33)) < 0.1] = np.nan
    (centres, torsos) = body_centres(xy)
    for t in range(len(xy)):
        got = body_centre_frame(xy[t])
        np.testing.assert_array_equal(np.array(got), np.array([*centres[t], torsos[t]]))
    sizes = body_sizes(xy)
    for t in range(len(xy)):
        np.testing.assert_array_equal(np.array(body_frame(xy[t])[3]), sizes[t])
