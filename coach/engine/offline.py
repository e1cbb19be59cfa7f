"""Offline analysis of a whole recording: zero-phase smoothing (no lag, needs the future), the side chosen
over the whole clip, and the adaptive range over windows centred on each frame. It shares everything else
with causal counting (who is followed, the jump gate, the measures, the conditions and the state machine);
`count(..., offline=True)` is the way in. Causal counting (`count`, `Counter`) is what `coach workout` does
and what the labelled clips are measured with; this path is for re-analysing history and for comparison.
"""

from __future__ import annotations

import warnings

import numpy as np

from coach.engine.adaptive_range import offline_range
from coach.engine.caveats import caveat, fallback_caveats, margin_function, sides_caveats
from coach.engine.compiled import SIDES, compile_definition
from coach.engine.cuts import CutWatcher
from coach.engine.lanes import counted_sides, from_fallback, shot_continues
from coach.engine.filters import centred_median, sample_rate_hz, zero_phase
from coach.engine.jump_gate import JumpGate
from coach.engine.torso import body_centres, body_sizes
from coach.engine.machine import Machine, Tally
from coach.engine.machine.rep_ledger import RepLedger
from coach.engine.measures import compute, side_visibility
from coach.engine.reasons import frame_reason
from coach.engine.result import CountResult, Trace, not_measurable_by_all
from coach.engine.sides import choose_side_offline
from coach.exercise.expressions import RANGE_HI, RANGE_LO
from coach.exercise.spec import ExerciseDefinition
from coach.pose.series import PoseSeries


def _masks(conditions, env: dict, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=np.int64)
    for bit, cond in conditions:
        r = np.asarray(cond.evaluate(env), dtype=bool)
        if r.shape == ():
            r = np.full(n, bool(r))
        mask |= r.astype(np.int64) * bit
    return mask


def count_offline(definition: ExerciseDefinition, series: PoseSeries, *, side: str | None = None,
                  choose: str | int = "auto") -> CountResult:
    """Whole-clip, zero-phase counting of `series` (see the module docstring)."""
    from coach.engine.counter import Counter, _follow, person_arrays

    d, mv = definition, definition.movement
    comp = compile_definition(d, has_world=series.has_world)
    follower = Counter(d, choose=choose, has_world=series.has_world)
    times = np.asarray(series.timestamps_s, dtype=np.float64)
    n = len(times)
    primary = comp.primary
    if n == 0:
        return follower.result()
    slots, _ = _follow(series, follower)
    xy, world, vis = person_arrays(series, slots)
    centres, torsos = body_centres(xy)
    gate = JumpGate()
    jumped = np.array([gate.update(cx, cy, tl) for (cx, cy), tl in zip(centres.tolist(), torsos.tolist())], bool)
    watcher = CutWatcher()
    flags = [None] * n if series.cuts is None else series.cuts.tolist()
    cut_refit = [watcher.update(t, c, z, j) for t, c, z, j in zip(times.tolist(), flags, body_sizes(xy).tolist(),
                                                                   jumped.tolist())]
    cuts = np.array([c for c, _ in cut_refit], bool)
    refitting = np.array([r for _, r in cut_refit], bool)
    vis = np.where((jumped | refitting)[:, None], 0.0, vis)
    sm = mv.smoothing
    smoothed = {(c.measure, c.side): zero_phase(centred_median(compute(c.geometry, xy, world, vis, c.side,
                                                                       c.min_visibility), sm.despike_frames),
                                                times, sm.cutoff_hz)
                for c in comp.channels}
    override = side if side in SIDES else None
    lanes = counted_sides(d, comp.sided[primary], override)
    each = len(lanes) == 2
    auto_needed = (override is None and comp.sided[primary]
                   and any(m.side == "auto" and comp.sided[k] for k, m in d.measures.items()))
    if override:
        auto = override
    elif not auto_needed:
        auto = "left"
    else:
        auto = choose_side_offline({s: smoothed[(primary, s)] for s in SIDES})
    values, per_side = {}, {}
    for name, m in d.measures.items():
        if not comp.sided[name]:
            values[name] = smoothed[(name, "left")]
            continue
        sides = {s: smoothed[(name, s)] for s in SIDES}
        per_side[name] = sides
        take = m.side if not (override and m.side == "auto") else override
        if take in SIDES:
            values[name] = sides[take]
        elif take == "both":
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                values[name] = np.nanmean(np.stack([sides["left"], sides["right"]]), axis=0)
        else:
            values[name] = sides[auto]
    prim = d.measures[primary]
    if each or (prim.side == "both" and override is None):
        side_label = "both"
    elif not comp.sided[primary]:
        side_label = "none"
    else:
        side_label = prim.side if prim.side in SIDES else auto
    credit = None
    if mv.credit_side is not None:
        left, right = per_side[mv.credit_side.measure]["left"], per_side[mv.credit_side.measure]["right"]
        pick_min = mv.credit_side.pick == "min"

        def credit(i: int) -> str:
            a, b = left[i], right[i]
            if np.isnan(a) and np.isnan(b):
                return "none"
            if np.isnan(b):
                return "left"
            if np.isnan(a):
                return "right"
            return ("left" if a < b else "right") if pick_min else ("left" if a > b else "right")

    def reason_of(i: int, side_now: str) -> str:
        return frame_reason(comp, nobody=bool(slots[i] < 0), jumped=bool(jumped[i]), xy=xy[i], vis=vis[i],
                            side=side_now, refitting=bool(refitting[i]))

    geom = comp.channels[comp.channel_of[(primary, "left")]].geometry
    quality = {sd: side_visibility(geom, vis, sd) for sd in SIDES}
    return _run(comp, times, values, per_side, auto, side_label, credit, reason_of, cuts, lanes, quality)


def count_traces(definition: ExerciseDefinition, times: np.ndarray, values: dict, *,
                 smooth: bool = False) -> CountResult:
    """Offline counting of measure traces given directly (see `coach.engine.counter.count_measures`)."""
    comp = compile_definition(definition)
    if smooth:
        sm = definition.movement.smoothing
        values = {k: zero_phase(centred_median(v, sm.despike_frames), times, sm.cutoff_hz) for k, v in values.items()}
    return _run(comp, times, dict(values), {}, "left", "none", None, lambda i, side: "not measurable")


def _run(comp, times: np.ndarray, values: dict, per_side: dict, auto: str, side_label: str, credit,
         reason_of, cuts: np.ndarray | None = None, lanes: tuple = (None,),
         quality: dict | None = None) -> CountResult:
    """Range, conditions and machines over whole traces, one lane per side counted (`counted_sides`), their
    reps made into a count by one ledger. At a camera cut (`cuts`, (T,) bool) where the shot does not
    continue (`shot_continues`, judged on each lane's whole-clip range) the range starts afresh and the
    lane's machine forgets its phase. quality: side -> (T,) visibility of the primary measure's landmarks."""
    d, mv = comp.definition, comp.definition.movement
    primary = comp.primary
    n = len(times)
    tally = Tally()
    margin = margin_function(comp)
    if cuts is not None:
        tally.warnings += [caveat("cut", f"camera cut or zoom at {times[c]:.1f} s: the range of the movement is "
                                         f"learned afresh if the shot changed", times[c]) for c in np.flatnonzero(cuts)]
    ledger = RepLedger(tally, two_sides=len(lanes) == 2, min_span=mv.range.min_span if mv.range is not None else 0.0)
    runs = []
    for run_side in lanes:
        vals = dict(values) if run_side is None else {
            k: (per_side[k][run_side] if k in per_side and d.measures[k].side in ("auto", "both") else v)
            for k, v in values.items()}
        x, lo, hi = vals[primary], None, None
        new_shots = _new_shots(x, times, cuts, mv.range)
        fell_back = np.zeros(n, bool)
        if mv.range is not None:
            x, lo, hi = offline_range(mv.range, x, times, new_shots)
            if mv.fallback is not None:
                x, lo, hi, fell_back = _with_fallback(d, x, lo, hi, vals[mv.fallback.measure], times, new_shots)
            vals[primary] = x
        env = dict(vals)
        if lo is not None:
            env[RANGE_LO], env[RANGE_HI] = lo, hi
        rule_bit = 1 << (2 * len(comp.phases))
        mask = _masks([c for c in comp.conditions if c[0] < rule_bit], env, n)
        mask |= _masks([c for c in comp.conditions if c[0] >= rule_bit],
                       dict(env, **{primary: np.where(fell_back, np.nan, x)}), n)  # no form verdict on a stand-in
        fallback_s = float(np.count_nonzero(fell_back)) / sample_rate_hz(times) if len(times) else 0.0
        ok = np.ones(n, bool)
        for name in comp.needed:
            ok &= ~np.isnan(vals[name])
        if lo is not None:
            ok &= ~np.isnan(lo)
        machine = Machine(comp.table, tally, side=run_side or "both", credit=credit, ledger=ledger, margin=margin)
        q = np.ones(n) if quality is None else quality[run_side or auto]
        runs.append((run_side, machine, x, lo, hi, mask, ok, q, new_shots, fallback_s))
    phase_names = np.full(n, "", dtype=object)
    tl = times.tolist()
    nan = np.full(n, np.nan)
    cols = [(r[2].tolist(), r[6].tolist(), r[5].tolist(), np.asarray(r[7], np.float64).tolist(),
             set() if r[8] is None else set(np.flatnonzero(r[8]).tolist()),
             (nan if r[3] is None else r[3]).tolist(), (nan if r[4] is None else r[4]).tolist()) for r in runs]
    shown = next((k for k, r in enumerate(runs) if r[0] in (None, auto)), 0)
    for i in range(n):
        for (run_side, machine, *_rest), (xl, okl, ml, ql, cut_at, lol, hil) in zip(runs, cols):
            if i in cut_at:
                machine.cut()
            reason = "" if okl[i] else reason_of(i, run_side or auto)
            machine.step(tl[i], xl[i], okl[i], ml[i], i, reason, ql[i], (lol[i], hil[i]))
        if ledger.two_sides:
            events: list = []
            ledger.step(tl[i], {r[0]: r[1].rep_started_s for r in runs}, events)
        m0 = runs[shown][1]
        if m0.phase is not None:
            phase_names[i] = comp.phases[m0.phase]
    for _, machine, *_rest in runs:
        machine.finish(float(times[-1]) if n else None)
    ledger.flush([])
    _, _, x0, lo0, hi0, *_rest = runs[shown]
    trace = Trace(times, phase_names, values, primary, x0, nan if lo0 is None else lo0,
                  nan if hi0 is None else hi0, side_label, per_side)
    return CountResult(
        exercise=d.id, reps=tally.reps, reps_left=tally.reps_left, reps_right=tally.reps_right, hold_s=tally.held_s,
        rep_records=sorted(tally.records, key=lambda r: r.end_s), holds=sorted(tally.holds, key=lambda h: h.start_s),
        faults=sorted(tally.faults, key=lambda f: f.time_s),
        not_measurable=not_measurable_by_all([r[1].not_measurable for r in runs]),
        trace=trace, side=side_label, definition_hash=d.content_hash,
        warnings=sorted(tally.warnings + sides_caveats({r[0]: int(np.count_nonzero(r[6])) for r in runs})
                        + fallback_caveats(d, sum(r[9] for r in runs)),
                        key=lambda w: (w["time_s"] is None, w["time_s"] or 0.0)))


def _new_shots(x: np.ndarray, times: np.ndarray, cuts: np.ndarray | None, rg) -> np.ndarray | None:
    """The cuts after which one lane's shot does not continue; None without a range. Offline the whole
    movement on each side of a cut is known, so the ranges of a window before and after it (5th-95th
    percentile over the range's window_s) are compared: both ends within `shot_continues` of each other,
    the same movement is seen, only closer or from elsewhere (the causal `Lane` can only compare the last
    value before the cut with the first after it)."""
    if cuts is None or rg is None or not cuts.any():
        return None
    out = np.zeros(len(x), bool)
    for c in np.flatnonzero(cuts).tolist():
        before = x[(times < times[c]) & (times >= times[c] - rg.window_s)]
        after = x[(times >= times[c]) & (times < times[c] + rg.window_s)]
        before, after = before[~np.isnan(before)], after[~np.isnan(after)]
        if before.size < 3 or after.size < 3:
            out[c] = True
            continue
        b_lo, b_hi = np.percentile(before, [5, 95])
        a_lo, a_hi = np.percentile(after, [5, 95])
        span = max(float(max(b_hi, a_hi) - min(b_lo, a_lo)), rg.min_span)
        out[c] = not (shot_continues(b_lo, a_lo, span) and shot_continues(b_hi, a_hi, span))
    return out


def _with_fallback(d: ExerciseDefinition, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, fx: np.ndarray,
                   times: np.ndarray, new_shots: np.ndarray | None):
    """The primary trace with its unmeasurable frames taken from the fallback measure, at the same place in the
    primary's range (nearest known range, else 0-100) as the fallback in its own (see `coach.engine.lanes`).
    Returns (x, lo, hi, which frames came from the fallback)."""
    mv = d.movement
    fb = mv.fallback
    rest = fb.rest or mv.range.rest
    frg = mv.range.model_copy(update={"rest": rest, "min_span": fb.min_span})
    fx, flo, fhi = offline_range(frg, np.asarray(fx, np.float64), times, new_shots)
    use = np.isnan(x) & ~np.isnan(fx) & ~np.isnan(flo) & (fhi > flo)
    if not use.any():
        return x, lo, hi, use
    known = np.flatnonzero(~np.isnan(lo))
    if known.size:
        idx = np.arange(len(x))
        near = known[np.clip(np.searchsorted(known, idx), 0, known.size - 1)]
        plo, phi = lo[near], hi[near]
    else:
        plo, phi = np.zeros(len(x)), np.full(len(x), 100.0)
    x, lo, hi = x.copy(), lo.copy(), hi.copy()
    x[use] = from_fallback(fx[use], flo[use], fhi[use], rest != mv.range.rest, plo[use], phi[use])
    lo[use], hi[use] = plo[use], phi[use]
    return x, lo, hi, use
