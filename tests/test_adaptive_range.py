"""The adaptive range: whole-trace and frame-by-frame computations agree; gaps, settling, outliers."""

from __future__ import annotations

import numpy as np
import pytest

from coach.engine.adaptive_range import LiveRange, adaptive_range
from coach.exercise.spec import RangeSpec

FPS = 30.0


def trace(seed=0):
    t = np.arange(0, 30, 1 / FPS)
    rng = np.random.default_rng(seed)
    x = 130 + 40 * np.cos(2 * np.pi * 0.4 * t) + rng.normal(0, 1.0, len(t))
    x[200:260] = np.nan  # a 2 s gap: the range is learned afresh after it
    x[400:403] = -400  # garbage: fenced out
    x[600:640] = 20 + 5 * np.sin(t[600:640])  # a close-up at another scale, settled then fenced or learned
    return t, x


@pytest.mark.parametrize("rest", ["high", "low"])
def test_live_range_equals_causal_trace(rest):
    rg = RangeSpec(rest=rest, min_span=30, window_s=6, outlier_span=60)
    t, x = trace()
    xc, lo, hi = adaptive_range(rg, x, t, causal=True)
    live = LiveRange(rg, FPS)
    got = np.array([live.push(float(v)) for v in x])
    assert np.allclose(got[:, 0], xc, equal_nan=True)
    assert np.allclose(got[:, 1], lo, equal_nan=True)
    assert np.allclose(got[:, 2], hi, equal_nan=True)


def test_garbage_is_fenced_and_first_values_after_a_gap_are_settled():
    rg = RangeSpec(rest="high", min_span=30, window_s=6, outlier_span=60)
    t, x = trace()
    xc, lo, hi = adaptive_range(rg, x, t, causal=True)
    assert np.isnan(xc[400:403]).all()
    settle = int(round(rg.settle_s * FPS))
    assert np.isnan(xc[260:260 + settle]).all() and not np.isnan(xc[260 + settle])
    # after the gap the range starts again from the new values, not from before it
    assert hi[260 + settle] - lo[260 + settle] == pytest.approx(30)


def test_range_never_narrower_than_min_span_and_anchored_at_rest():
    t = np.arange(0, 10, 1 / FPS)
    x = 170 + 0.5 * np.sin(t)
    for rest, check in (("high", lambda lo, hi: np.allclose(hi - lo, 40) and hi.min() > 169),
                        ("low", lambda lo, hi: np.allclose(hi - lo, 40) and lo.max() < 171)):
        _, lo, hi = adaptive_range(RangeSpec(rest=rest, min_span=40), x, t, causal=False)
        assert check(lo, hi)
