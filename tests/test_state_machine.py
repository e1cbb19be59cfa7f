"""The state machine on hand-made measure traces with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from coach.engine.counter import count_measures
from coach.engine.events import FaultRaised, PhaseChanged, RepCompleted
from coach.exercise.loader import parse_definition_text

FPS = 30.0

ABSOLUTE = """\
id: t
name: T
measures:
  knee: {angle: [hip, knee, ankle]}
  lean: {inclination: [hip, shoulder]}
movement:
  measure: knee
  phases:
    up:   {when: "knee > 160", until: "knee < 150"}
    down: {when: "knee < 100", until: "knee > 110"}
  rep: [up, down, up]
  min_phase_s: 0.1
form:
  - {code: shallow, check: at_turn, fail_if: "knee > 80", cue: "Deeper", cooldown_s: 0}
  - {code: lean, check: during down, fail_if: "lean > 45", cue: "Chest up", cooldown_s: 100}
"""

RELATIVE = """\
id: r
name: R
measures:
  knee: {angle: [hip, knee, ankle]}
movement:
  measure: knee
  range: {rest: high, min_span: 30, window_s: 8, outlier_span: 100}
  phases:
    up:   {when: "knee > 75%", until: "knee < 60%"}
    down: {when: "knee < 35%", until: "knee > 50%"}
  rep: [up, down, up]
  min_phase_s: 0.1
"""

HOLD = """\
id: h
name: H
measures:
  line: {angle: [shoulder, hip, ankle]}
movement:
  measure: line
  phases:
    hold: {when: "line > 160", until: "line < 150"}
  hold: {phase: hold, min_s: 1.0, bridge_gap_s: BRIDGE}
  min_phase_s: 0.2
"""


def definition(text: str):
    d, probs = parse_definition_text(text)
    assert not probs, [str(p) for p in probs]
    return d


def reps_trace(n_reps: int, top=170.0, bottom=70.0, rep_s=2.0, lead_s=1.0, tail_s=1.0):
    """Cosine reps from `top` down to `bottom` and back; returns (times, values, turning times)."""
    t = np.arange(0, lead_s + n_reps * rep_s + tail_s, 1 / FPS)
    v = np.full(len(t), top)
    turns = []
    for k in range(n_reps):
        t0 = lead_s + k * rep_s
        m = (t >= t0) & (t < t0 + rep_s)
        v[m] = bottom + (top - bottom) * (0.5 + 0.5 * np.cos(2 * np.pi * (t[m] - t0) / rep_s))
        turns.append(t0 + rep_s / 2)
    return t, v, turns


def run(text, t, knee, **extra):
    d = definition(text)
    measures = {"knee": knee, **extra}
    for name in d.measures:
        measures.setdefault(name, np.zeros_like(knee))
    return count_measures(d, t, measures)


@pytest.mark.parametrize("n", [0, 1, 5, 12])
def test_counts_clean_reps(n):
    t, v, turns = reps_trace(n)
    r = run(ABSOLUTE, t, v)
    assert r.reps == n
    for rec, turn in zip(r.rep_records, turns):
        assert abs(rec.start_s + rec.eccentric_s - turn) < 0.05
        assert rec.min_value == pytest.approx(70, abs=0.5) and rec.max_value > 150
        assert rec.range_of_motion > 80
        assert rec.start_s < turn < rec.end_s


def test_jitter_at_a_threshold_never_double_counts():
    t = np.arange(0, 10, 1 / FPS)
    rng = np.random.default_rng(0)
    # hovering around the 'down' entry (100) and exit (110) thresholds with big jitter, then one real rep
    v = 105 + 8 * rng.standard_normal(len(t))
    v[:30] = 170
    v[-60:] = 170
    r = run(ABSOLUTE, t, v)
    assert r.reps == 1


def test_jitter_around_top_threshold_does_not_count():
    t = np.arange(0, 8, 1 / FPS)
    v = 160 + 12 * np.sin(2 * np.pi * 5 * t)  # crossing 150/160/170 five times a second
    r = run(ABSOLUTE, t, v)
    assert r.reps == 0


def test_half_rep_is_not_counted():
    t, v, _ = reps_trace(3)
    # make the second rep stop at 120 (never reaches 'down')
    m = (t >= 3.0) & (t < 5.0)
    v[m] = np.maximum(v[m], 120)
    r = run(ABSOLUTE, t, v)
    assert r.reps == 2


def test_gap_longer_than_max_gap_abandons_the_rep():
    t, v, _ = reps_trace(4, rep_s=3.0)  # reps 1-4 s, 4-7 s, 7-10 s, 10-13 s
    v[(t > 3.9) & (t < 9.95)] = np.nan  # reps 2 and 3 unseen (a 6 s gap > max_gap_s 4)
    r = run(ABSOLUTE, t, v)
    assert r.reps == 2
    assert r.not_measurable and r.not_measurable_s == pytest.approx(6.05, abs=0.1)
    # a 3 s gap (< max_gap_s) hiding the turn of rep 2 and the start of rep 3: what is seen of them counts once
    t, v, _ = reps_trace(4, rep_s=3.0)
    v[(t > 4.9) & (t < 7.9)] = np.nan
    assert run(ABSOLUTE, t, v).reps == 3


def test_short_dropout_is_passed_over():
    t, v, _ = reps_trace(4)
    v[(t > 3.9) & (t < 4.1)] = np.nan
    r = run(ABSOLUTE, t, v)
    assert r.reps == 4


def test_dwell_filters_a_one_frame_visit():
    t, v, _ = reps_trace(2)
    v[(t > 3.5) & (t < 3.55)] = 90  # a single frame dip into 'down' territory while standing between reps
    r = run(ABSOLUTE, t, v)
    assert r.reps == 2


def test_form_faults_at_turn_and_during_phase_with_cooldown():
    t, v, _ = reps_trace(3, bottom=90)  # shallow: bottom 90 > 80
    lean = np.where(v < 100, 60.0, 10.0)  # leaning whenever in the bottom
    r = run(ABSOLUTE, t, v, lean=lean)
    assert r.reps == 3
    codes = [f.code for f in r.faults]
    assert codes.count("shallow") == 3
    assert codes.count("lean") == 1  # cooldown 100 s: reported once
    assert all(any(f.code == "shallow" for f in rec.faults) for rec in r.rep_records)
    assert r.rep_records[0].faults[0].rep_index == 1


def test_events_from_the_live_machine():
    from coach.engine.compiled import compile_definition
    from coach.engine.machine import Machine, Tally
    from coach.engine.offline import _masks

    d = definition(ABSOLUTE)
    comp = compile_definition(d)
    sm = Machine(comp.table, Tally())
    t, v, _ = reps_trace(2)
    mask = _masks(comp.conditions, {"knee": v, "lean": np.zeros_like(v)}, len(t))
    events = []
    for i in range(len(t)):
        events += sm.step(float(t[i]), float(v[i]), True, int(mask[i]), i)
    phases = [e.phase for e in events if isinstance(e, PhaseChanged)]
    assert phases == ["up", "down", "up", "down", "up"]
    assert sum(isinstance(e, RepCompleted) for e in events) == 2
    assert sum(isinstance(e, FaultRaised) for e in events) == 0


def test_the_transition_table_reads_as_one_repetition():
    from coach.engine.compiled import compile_definition

    table = compile_definition(definition(ABSOLUTE)).table
    rows = [(r.event, r.condition, r.effect) for r in table.rows()]
    assert rows[:5] == [
        ("enter up", "knee > 160 for 0.10 s", "ready: the rep's extremes are tracked from here"),
        ("leave up", "knee < 150", "rep starts (time and value taken)"),
        ("enter down", "knee < 100 for 0.10 s", "reached down (turning point)"),
        ("leave down", "knee > 110", "moving on"),
        ("enter up", "knee > 160 for 0.10 s", "rep counted; ready for the next"),
    ]
    assert "rep abandoned" in str(table) and "cut by the end" in str(table)


@pytest.mark.parametrize("bottom", [120.0, 90.0, 60.0])
def test_relative_range_counts_people_who_never_reach_textbook_angles(bottom):
    t, v, _ = reps_trace(6, top=165, bottom=bottom)
    assert run(ABSOLUTE, t, v).reps == (6 if bottom < 100 else 0)
    assert run(RELATIVE, t, v).reps == 6


def test_relative_range_ignores_jitter_when_idle():
    t = np.arange(0, 20, 1 / FPS)
    rng = np.random.default_rng(1)
    v = 170 + 4 * rng.standard_normal(len(t))
    assert run(RELATIVE, t, v).reps == 0


def test_relative_range_rejects_an_implausible_spike():
    t, v, _ = reps_trace(5, top=165, bottom=110)
    v[(t > 4.0) & (t < 4.2)] = -500  # a garbage frame stretch: must not stretch the range
    r = run(RELATIVE, t, v)
    assert r.reps == 5


def test_hold_accumulates_and_bridges_short_interruptions():
    t = np.arange(0, 20, 1 / FPS)
    v = np.where((t > 2) & (t < 17), 170.0, 120.0)
    v[(t > 8) & (t < 9)] = np.nan  # out of view 1 s
    v[(t > 12) & (t < 12.3)] = 140  # briefly out of position
    r0 = count_measures(definition(HOLD.replace("BRIDGE", "0")), t, {"line": v})
    r2 = count_measures(definition(HOLD.replace("BRIDGE", "2.0")), t, {"line": v})
    assert r2.hold_s == pytest.approx(15.0, abs=0.2)
    assert len(r2.holds) == 1
    assert r0.hold_s == pytest.approx(15.0 - 1.0 - 0.3, abs=0.3)
    assert len(r0.holds) == 3


def test_hold_shorter_than_min_is_ignored():
    t = np.arange(0, 6, 1 / FPS)
    v = np.where((t > 2) & (t < 2.6), 170.0, 120.0)
    r = count_measures(definition(HOLD.replace("BRIDGE", "0")), t, {"line": v})
    assert r.hold_s == 0 and r.holds == []


def test_alternating_sides_are_counted_per_side():
    text = """\
id: a
name: A
measures:
  elbow: {angle: [shoulder, elbow, wrist], space: 3d}
movement:
  measure: elbow
  sides: each
  range: {rest: high, min_span: 40}
  phases:
    down: {when: "elbow > 70%", until: "elbow < 55%"}
    up:   {when: "elbow < 35%", until: "elbow > 50%"}
  rep: [down, up, down]
"""
    from coach.devtools.synthetic import synthesize
    from coach.engine.counter import count

    clip = synthesize("bicep_curl", reps=6, limbs="alternate", view="front")
    r = count(definition(text), clip.series)
    assert (r.reps_left, r.reps_right) == (clip.reps_left, clip.reps_right)
    assert r.reps == clip.reps
    assert [rec.index for rec in r.rep_records] == list(range(1, r.reps + 1))


def test_a_wobble_at_the_turn_does_not_lose_the_rep():
    t, v, _ = reps_trace(3)
    # during the second rep's bottom, bounce up past the 'down' exit (110) and back down
    m = (t > 3.85) & (t < 4.15)
    v[m] = 115
    r = run(ABSOLUTE, t, v)
    assert r.reps == 3


def test_a_rep_whose_return_is_cut_by_the_end_is_counted_but_not_a_descent():
    t, v, _ = reps_trace(3, tail_s=0.0)
    cut_on_the_way_back = (t < 6.75)  # third rep past its turn (6.0), back above 'down' exit, not yet 'up'
    r = run(ABSOLUTE, t[cut_on_the_way_back], v[cut_on_the_way_back])
    assert r.reps == 3
    cut_on_the_way_down = (t < 5.4)  # third rep still going down: not a rep
    assert run(ABSOLUTE, t[cut_on_the_way_down], v[cut_on_the_way_down]).reps == 2


def test_range_of_motion_includes_the_start_position_and_lockout():
    t, v, _ = reps_trace(3, top=175, bottom=70)
    r = run(ABSOLUTE, t, v)
    assert [round(x.max_value) for x in r.rep_records] == [175, 175, 175]
    two_phase = ABSOLUTE.replace("rep: [up, down, up]", "rep: [down, up]")
    r2 = run(two_phase, t, v)  # counted when 'up' is left: the whole top is in the rep
    assert r2.reps == 3 and all(x.max_value == pytest.approx(175) for x in r2.rep_records)
    assert all(x.min_value == pytest.approx(70, abs=0.5) for x in r2.rep_records)
