"""The adaptive range: outliers fenced, values settled and the range learned afresh after a gap, never
narrower than min_span; causal (one value at a time) and offline (centred windows)."""

from __future__ import annotations

import numpy as np
import pytest

from coach.engine.adaptive_range import AdaptiveRange, GapSettle, offline_range
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


def causal(rg, x):
    rng = AdaptiveRange(rg, FPS)
    return np.array([rng.update(float(v)) for v in x]).T


def test_garbage_is_fenced_and_first_values_after_a_gap_are_settled():
    rg = RangeSpec(rest="high", min_span=30, window_s=6, outlier_span=60)
    t, x = trace()
    xc, lo, hi = causal(rg, x)
    assert np.isnan(xc[400:403]).all() and not np.isnan(xc[399]) and not np.isnan(xc[403])
    settle = int(round(rg.settle_s * FPS))
    assert np.isnan(xc[260:260 + settle]).all() and not np.isnan(xc[260 + settle])
    # after the gap the range starts again from the new values, not from before it
    assert hi[260 + settle] - lo[260 + settle] == pytest.approx(30)
    assert hi[259] - lo[259] > 70  # before: the whole movement


def test_the_range_follows_the_movement_causally():
    rg = RangeSpec(rest="high", min_span=30, window_s=6)
    t = np.arange(0, 20, 1 / FPS)
    x = 130 + 40 * np.cos(2 * np.pi * 0.4 * t)
    xc, lo, hi = causal(rg, x)
    assert lo[-1] == pytest.approx(90, abs=1.5) and hi[-1] == pytest.approx(170, abs=1.5)
    # causal: changing the future does not change the past
    x2 = x.copy()
    x2[300:] += 100
    _, lo2, hi2 = causal(rg, x2)
    assert np.array_equal(lo[:300], lo2[:300]) and np.array_equal(hi[:300], hi2[:300])


def test_offline_range_settles_and_restarts_like_the_causal_one():
    rg = RangeSpec(rest="high", min_span=30, window_s=6, outlier_span=60)
    t, x = trace()
    xo, lo, hi = offline_range(rg, x, t)
    xc, _, _ = causal(rg, x)
    settle = int(round(rg.settle_s * FPS))
    assert np.isnan(xo[260:260 + settle]).all() and not np.isnan(xo[260 + settle])
    assert np.isnan(xo[400:403]).all()
    # the same values are trusted, only the windows differ (centred here)
    assert np.array_equal(np.isnan(xo[:600]), np.isnan(xc[:600]))


def test_gap_settle_marks_the_first_trusted_value_after_a_gap():
    g = GapSettle(gap=3, settle=2)
    out = [g.update(v) for v in [1.0, np.nan, np.nan, np.nan, 2.0, 3.0, 4.0, 5.0]]
    assert [np.isnan(v) for v, _ in out] == [False, True, True, True, True, True, False, False]
    assert [new for _, new in out] == [False, False, False, False, False, False, True, False]
    short = GapSettle(gap=3, settle=2)  # a gap shorter than `gap` is passed over
    assert [short.update(v)[1] for v in [1.0, np.nan, 2.0]] == [False, False, False]


def test_range_never_narrower_than_min_span_and_anchored_at_rest():
    t = np.arange(0, 10, 1 / FPS)
    x = 170 + 0.5 * np.sin(t)
    for rest, check in (("high", lambda lo, hi: np.allclose(hi - lo, 40) and hi.min() > 169),
                        ("low", lambda lo, hi: np.allclose(hi - lo, 40) and lo.max() < 171)):
        rg = RangeSpec(rest=rest, min_span=40)
        _, lo, hi = offline_range(rg, x, t)
        assert check(lo, hi)
        _, lo, hi = causal(rg, x)
        assert check(lo, hi)


SPIKY = """\
id: floor_press_height
name: Floor press (wrist height)
measures:
  h: {distance: [left_shoulder, left_wrist], axis: y}
movement:
  measure: h
  range: {rest: low, min_span: 0.5, outlier_span: 1.0}
  phases:
    down: {when: "h < 30%", until: "h > 45%"}
    up:   {when: "h > 70%", until: "h < 55%"}
  rep: [down, up, down]
"""


@pytest.mark.parametrize("offline", [False, True])
def test_a_spike_of_six_torso_lengths_is_removed_with_the_edges_smoothing_gave_it(offline):
    """A skeleton glitch (a wrist thrown six torso lengths for 0.3 s, while resting between reps) is
    implausible as a whole: the smoothing stages before the range spread it into a rise and a decay of a
    few frames, and those edges are just as implausible. Nothing of it may be counted or stretch the range."""
    from coach.engine.counter import count_measures
    from coach.exercise.loader import parse_definition_text

    d, problems = parse_definition_text(SPIKY)
    assert not problems
    t = np.arange(0, 24, 1 / FPS)
    x = 0.5 - 0.5 * np.cos(2 * np.pi * t / 3)  # 8 reps between 0 and 1 torso length, resting at 0 at 12 s
    spiky = x.copy()
    glitch = (t >= 11.85) & (t < 12.15)
    spiky[glitch] = 6.0
    clean = count_measures(d, t, {"h": x}, offline=offline, smooth=True)
    r = count_measures(d, t, {"h": spiky}, offline=offline, smooth=True)
    assert r.reps == clean.reps == 8
    near = (t > 11.0) & (t < 13.0)
    assert np.nanmax(r.trace.counted[near]) <= np.nanmax(clean.trace.counted) + 0.05  # no part of it counted
    assert np.nanmax(r.trace.range_hi) <= np.nanmax(clean.trace.range_hi) + 0.05  # the range is not stretched
    assert any(n.start_s <= 12.0 <= n.end_s for n in r.not_measurable)  # and it is reported
