"""Public entry points of the counting engine: `analyse_series` (a whole recording) and `ExerciseEngine`
(live, frame by frame). Both are pure: no I/O, no drawing, no wall clock; times come from the source.

Pipeline: keypoints -> measures (visibility-gated, side chosen) -> de-spiking and smoothing (zero-phase
offline, One-Euro live) -> adaptive range (if the definition asks for it) -> conditions evaluated into a
per-frame bitmask -> the state machine (`coach.engine.state_machine`), one per side when sides are counted apart.
"""

from __future__ import annotations

import time as _time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from coach.engine.events import Event, FormFault, HoldRecord, NotMeasurable, RepRecord
from coach.exercise.spec import ExerciseDefinition
from coach.exercise.expressions import RANGE_HI, RANGE_LO
from coach.engine.adaptive_range import LiveRange, adaptive_range
from coach.engine.filters import CausalQuantiles, OneEuro, despike, one_euro, rolling_envelope, sample_rate_hz, \
    zero_phase
from coach.pose.keypoints import PoseFrame
from coach.pose.landmarks import LANDMARK_NAMES, N_LANDMARKS
from coach.engine.measures import compute, estimate_view, invisible_landmarks
from coach.engine.tracking import ExerciserChooser, choose_slots, jump_between, jump_gate, slot_arrays
from coach.pose.recording import KeypointSeries
from coach.engine.state_machine import MachineConfig, RuleInfo, StateMachine, Tally

SIDES = ("left", "right")


# ---------------------------------------------------------------------------- compiled definition


@dataclass
class Compiled:
    """What the engine needs from a definition, resolved once."""

    d: ExerciseDefinition
    phases: tuple[str, ...]
    cfg: MachineConfig
    conds: list[tuple[int, object]]  #: (bit, Condition) for every phase condition and form rule
    needed: tuple[str, ...]  #: measures that must be measurable for the machine to run
    primary: str


def compile_definition(d: ExerciseDefinition) -> Compiled:
    mv = d.movement
    phases = tuple(mv.phases)
    conds: list[tuple[int, object]] = []
    needed = {mv.measure}
    for k, p in enumerate(phases):
        w = d.condition(f"phase:{p}:when")
        u = d.condition(f"phase:{p}:until")
        conds.append((1 << (2 * k), w))
        conds.append((1 << (2 * k + 1), u))
        needed |= w.names | u.names
    rules = []
    base = 2 * len(phases)
    for i, r in enumerate(d.form):
        check = r.check.strip()
        phase = None
        kind = check
        if check.startswith("during"):
            kind = "during"
            phase = phases.index(check[len("during"):].strip())
        bit = 1 << (base + i)
        rules.append(RuleInfo(r.code, r.cue, r.severity, r.cooldown_s, kind, phase, r.breaks_hold, bit))
        conds.append((bit, d.condition(f"form:{i}")))
    cfg = MachineConfig(
        phases=phases,
        cycle=tuple(phases.index(p) for p in mv.rep) if mv.rep else None,
        hold_phase=phases.index(mv.hold.phase) if mv.hold else None,
        min_phase_s=mv.min_phase_s, max_gap_s=mv.max_gap_s, min_rep_s=mv.min_rep_s,
        max_rep_s=mv.max_rep_s, hold_min_s=mv.hold.min_s if mv.hold else 0.0,
        bridge_gap_s=mv.hold.bridge_gap_s if mv.hold else 0.0, rules=tuple(rules), measure=mv.measure,
        rest=mv.range.rest if mv.range else None, rest_s=mv.rest_s,
    )
    return Compiled(d, phases, cfg, conds, tuple(sorted(needed)), mv.measure)


# ---------------------------------------------------------------------------- results


@dataclass
class AnalysisResult:
    exercise: str
    reps: int
    reps_left: int
    reps_right: int
    hold_s: float
    reps_records: list[RepRecord]
    holds: list[HoldRecord]
    faults: list[FormFault]
    not_measurable: list[NotMeasurable]
    not_measurable_s: float
    phase_trace: dict  #: {"times_s": [...], "phase": [...]} phase name ("" between phases) per frame
    measure_trace: dict  #: {"times_s", "measure", "values", "range_lo", "range_hi", "side"}
    side: str = "none"  #: side the measures were taken on (auto resolves to left/right)
    content_hash: str = ""

    def to_dict(self) -> dict:
        return {
            "exercise": self.exercise,
            "reps": self.reps,
            "reps_per_side": {"left": self.reps_left, "right": self.reps_right},
            "hold_s": round(self.hold_s, 3),
            "side": self.side,
            "reps_records": [r.to_dict() for r in self.reps_records],
            "holds": [h.to_dict() for h in self.holds],
            "faults": [f.to_dict() for f in self.faults],
            "not_measurable_s": round(self.not_measurable_s, 3),
            "not_measurable": [n.to_dict() for n in self.not_measurable],
            "definition_hash": self.content_hash,
        }


# ---------------------------------------------------------------------------- measures over a series


def _choose_side_offline(sides: dict[str, np.ndarray]) -> str:
    """The side to follow over a whole clip: of the sides measurable in at least half as many frames as
    the best-seen one, the one whose measure moves most (5th to 95th percentile). Visibility alone is not
    enough: a hidden limb can be reported visible while it stays still at a made-up place."""
    counts = {s: int(np.count_nonzero(~np.isnan(v))) for s, v in sides.items()}
    best = max(counts.values())
    if best == 0:
        return "left"
    spread = {}
    for s, v in sides.items():
        if counts[s] >= 0.5 * best and counts[s] >= 3:
            lo, hi = np.nanpercentile(v, [5, 95])
            spread[s] = hi - lo
    return max(spread, key=lambda s: (spread[s], counts[s]))


SIDE_SWITCH_RATIO = 1.25  #: the other side must move this much more to take over (live)


def _side_eps(d: ExerciseDefinition) -> float:
    return 0.25 * d.movement.range.min_span if d.movement.range is not None else 0.0


def _choose_side_causal(sides: dict[str, np.ndarray], times: np.ndarray, window_s: float,
                        eps: float) -> np.ndarray:
    """Per-frame side, causally: the side whose measure moved most over the last `window_s` (5th to 95th
    percentile), among sides measurable in at least half as many of those frames as the best-seen one.
    The other side takes over only when it moves `SIDE_SWITCH_RATIO` times more (plus `eps`), so the
    choice does not flicker. Before anything moves, the better-seen side is used."""
    n = len(times)
    fs = sample_rate_hz(times)
    w = max(3, int(round(window_s * fs)))
    spread, count = [], []
    for side in SIDES:
        v = sides[side]
        lo, hi = rolling_envelope(v, w, causal=True, quantile=0.05)
        spread.append(np.nan_to_num(hi - lo, nan=0.0).tolist())
        c = np.cumsum(~np.isnan(v))
        c_prev = np.concatenate([np.zeros(w, c.dtype), c[:-w]]) if n > w else np.zeros(n, c.dtype)
        count.append((c - c_prev[:n]).tolist())
    out = np.empty(n, dtype=object)
    cur = 0
    started = False
    for i in range(n):
        c0, c1 = count[0][i], count[1][i]
        best = max(c0, c1)
        if not started:
            if best > 0:
                cur = 0 if c0 >= c1 else 1
                started = True
        else:
            o = 1 - cur
            co, cc = (c1, c0) if cur == 0 else (c0, c1)
            if co >= 0.5 * best and (cc < 0.5 * best or spread[o][i] > SIDE_SWITCH_RATIO * spread[cur][i] + eps):
                cur = o
        out[i] = SIDES[cur]
    return out


@dataclass
class _Traces:
    values: dict  #: measure -> (T,) smoothed values on the chosen side (or both-sides mean)
    per_side: dict  #: measure -> {"left": (T,), "right": (T,)} smoothed, for sided measures
    side: str  #: "left"/"right"/"both"/"none" (most common side used by the primary measure)
    side_per_frame: np.ndarray | None


def _smooth(x: np.ndarray, times: np.ndarray, d: ExerciseDefinition, offline: bool) -> np.ndarray:
    sm = d.movement.smoothing
    x = despike(x, sm.despike_frames, causal=not offline)
    if offline:
        return zero_phase(x, times, sm.cutoff_hz)
    return one_euro(x, times, sm.min_cutoff_hz, sm.beta)


def _needs_auto_side(d: ExerciseDefinition, side_override: str | None) -> bool:
    """True when some sided measure follows the auto side (so the side must be chosen)."""
    if side_override in SIDES or d.movement.sides == "each":
        return False
    if not d.measures[d.movement.measure].geometry.sided:
        return False
    return any(m.side == "auto" and m.geometry.sided for m in d.measures.values())


def _measure_traces(d: ExerciseDefinition, xy, world, vis, times, offline: bool,
                    side_override: str | None) -> _Traces:
    prim = d.measures[d.movement.measure]
    geom_p = prim.geometry
    cache: dict = {}

    def trace(name: str, side: str) -> np.ndarray:
        key = (name, side)
        if key not in cache:
            m = d.measures[name]
            mvis = m.min_visibility if m.min_visibility is not None else d.min_visibility
            cache[key] = _smooth(compute(m.geometry, xy, world, vis, side, mvis), times, d, offline)
        return cache[key]

    auto_side: str | np.ndarray
    if side_override in SIDES:
        auto_side = side_override
    elif not _needs_auto_side(d, side_override):
        auto_side = "left"
    elif offline:
        auto_side = _choose_side_offline({s: trace(d.movement.measure, s) for s in SIDES})
    else:
        window_s = d.movement.range.window_s if d.movement.range is not None else 10.0
        auto_side = _choose_side_causal({s: trace(d.movement.measure, s) for s in SIDES}, times, window_s,
                                        _side_eps(d))
    values, per_side = {}, {}
    for name, m in d.measures.items():
        g = m.geometry
        if not g.sided:
            values[name] = trace(name, "left")
            continue
        sides = {s: trace(name, s) for s in SIDES}
        per_side[name] = sides
        side = m.side if not (side_override in SIDES and m.side == "auto") else side_override
        if side in SIDES:
            values[name] = sides[side]
        elif side == "both":
            with np.errstate(invalid="ignore"):
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    values[name] = np.nanmean(np.stack([sides["left"], sides["right"]]), axis=0)
        elif isinstance(auto_side, str):
            values[name] = sides[auto_side]
        else:
            values[name] = np.where(auto_side == "left", sides["left"], sides["right"])
    if prim.side == "both" and side_override not in SIDES:
        side_label = "both"
    elif not geom_p.sided:
        side_label = "none"
    elif isinstance(auto_side, str):
        side_label = prim.side if prim.side in SIDES else auto_side
    else:
        side_label = "left" if np.mean(auto_side == "left") >= 0.5 else "right"
    return _Traces(values, per_side, side_label, None if isinstance(auto_side, str) else auto_side)


def _masks(comp: Compiled, env: dict, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=np.int64)
    for bit, cond in comp.conds:
        r = np.asarray(cond.evaluate(env), dtype=bool)
        if r.shape == ():
            r = np.full(n, bool(r))
        mask |= r.astype(np.int64) * bit
    return mask


def _reason_fn(d: ExerciseDefinition, comp: Compiled, vis, n_people, view_est, side_of):
    """Builds the text of a "not measurable" reason for frames [i0, i1)."""
    def reason(i0: int, i1: int) -> str:
        i1 = len(vis) if i1 < 0 else i1
        i0 = max(0, min(i0, len(vis) - 1))
        i1 = max(i0 + 1, i1)
        if np.mean(n_people[i0:i1] == 0) > 0.5:
            return "nobody in view"
        counts: dict[str, int] = {}
        for name in comp.needed:
            m = d.measures[name]
            g = m.geometry
            mv = m.min_visibility if m.min_visibility is not None else d.min_visibility
            for i in range(i0, i1, max(1, (i1 - i0) // 20)):
                for lm in invisible_landmarks(g, vis[i], side_of(i), mv):
                    counts[lm] = counts.get(lm, 0) + 1
        if counts:
            top = sorted(counts, key=lambda k: (-counts[k], k))[:4]
            text = f"{', '.join(top)} not visible"
        else:
            text = "landmarks unreliable (jumping between frames)"
        if d.view != "any":
            seen = [v for v in view_est[i0:i1] if v]
            if seen:
                common = max(set(seen), key=seen.count)
                if common != d.view:
                    text += f"; needs a {d.view} view, the camera sees the {common}"
        return text
    return reason


def _credit_fn(d: ExerciseDefinition, per_side: dict):
    cs = d.movement.credit_side
    if cs is None:
        return None
    left = per_side[cs.measure]["left"]
    right = per_side[cs.measure]["right"]

    def credit(i: int) -> str:
        a, b = left[i], right[i]
        if np.isnan(a) and np.isnan(b):
            return "none"
        if np.isnan(b):
            return "left"
        if np.isnan(a):
            return "right"
        return ("left" if a < b else "right") if cs.pick == "min" else ("left" if a > b else "right")
    return credit


def make_chooser(d: ExerciseDefinition, choose: str | int = "auto", width_px: float | None = None
                 ) -> ExerciserChooser:
    """The `ExerciserChooser` of a session of `d`: activity is the primary measure's spread (both sides of a
    sided measure, raw keypoints); someone moves "in the exercise's pattern" from half the definition's
    `range.min_span` (holds and definitions without a range: never, so the largest/central is taken)."""
    m = d.measures[d.movement.measure]
    g = m.geometry
    mvis = m.min_visibility if m.min_visibility is not None else d.min_visibility
    sides = SIDES if g.sided else ("left",)

    def measure_fn(xy, world, vis):
        return tuple(float(compute(g, xy[None], world[None], vis[None], s, mvis)[0]) for s in sides)

    rng = d.movement.range
    min_activity = 0.5 * rng.min_span if rng is not None and d.movement.hold is None else float("inf")
    return ExerciserChooser(choose, measure_fn=measure_fn, min_activity=min_activity, window_s=CHOOSER_WINDOW_S,
                            width_px=width_px)


#: seconds of movement over which the chooser compares people's activity
CHOOSER_WINDOW_S = 4.0


def series_slots(d: ExerciseDefinition, series: KeypointSeries, choose: str | int = "auto") -> np.ndarray:
    """Slot of the followed person per frame (-1 = nobody), exactly as `ExerciseEngine` follows them."""
    if choose == "auto" and series.n_slots == 1:  # one pose: the lone person (what the chooser would say)
        return np.where(series.n_people > 0, 0, -1)
    return choose_slots(series, make_chooser(d, choose, series.meta.width_px or None))


def analyse_series(definition: ExerciseDefinition, series: KeypointSeries, *, person: int = 0,
                   side: str | None = None, offline: bool = True, choose: str | int = "auto") -> AnalysisResult:
    """Count reps, time holds and check form over a whole recording.

    `offline=True` uses zero-phase smoothing and whole-clip information (auto side chosen on the whole
    clip, centred range window); `offline=False` is causal and gives what the live engine would.
    `person` 0 follows the person `choose` picks (see `ExerciserChooser`: "auto" = who exercises,
    "largest", "center", or a track id); k > 0 is raw slot k.
    """
    d = definition
    comp = compile_definition(d)
    times = np.asarray(series.timestamps_s, dtype=np.float64)
    n = len(times)
    if person == 0:
        slot = series_slots(d, series, choose)
    else:
        slot = np.where(series.n_people > person, min(person, series.n_slots - 1), -1)
    xy, world, vis, present = slot_arrays(series, slot)
    vis = jump_gate(xy, vis)
    tr = _measure_traces(d, xy, world, vis, times, offline, side)
    view_est = estimate_view(xy, vis) if n else np.array([], dtype=object)
    tally = Tally()
    mv = d.movement
    if mv.sides == "each":
        runs = [(s, {k: (tr.per_side[k][s] if k in tr.per_side and d.measures[k].side in ("auto", "both")
                         else v) for k, v in tr.values.items()}) for s in SIDES]
    else:
        runs = [(tr.side, tr.values)]
    machines = []
    phase_names = np.full(n, "", dtype=object)
    lo = hi = None
    first_x = None
    for run_side, vals in runs:
        vals = dict(vals)
        x = vals[comp.primary]
        if mv.range is not None:
            x, lo, hi = adaptive_range(mv.range, x, times, causal=not offline)
            vals[comp.primary] = x
        if first_x is None:
            first_x = x
        env = dict(vals)
        if mv.range is not None:
            env[RANGE_LO], env[RANGE_HI] = lo, hi
        mask = _masks(comp, env, n)
        ok = np.ones(n, bool)
        for name in comp.needed:
            ok &= ~np.isnan(vals[name])
        if mv.range is not None:
            ok &= ~np.isnan(lo)
        side_fixed = run_side if run_side in SIDES else (tr.side if tr.side in SIDES else "left")
        side_pf = tr.side_per_frame

        def side_of(i, _s=side_fixed, _pf=side_pf):
            return _pf[i] if _pf is not None and mv.sides != "each" else _s
        reason = _reason_fn(d, comp, vis, present.astype(int),
                            view_est, side_of)
        sm = StateMachine(comp.cfg, tally, side=run_side if mv.sides == "each" else "both",
                          credit=_credit_fn(d, tr.per_side), reason=reason)
        step = sm.step
        names = comp.phases
        for i, (t, v, o, m) in enumerate(zip(times.tolist(), x.tolist(), ok.tolist(), mask.tolist())):
            step(t, v, o, m, i)
            if sm.phase is not None and len(runs) == 1:
                phase_names[i] = names[sm.phase]
        sm.finish(float(times[-1]) if n else None)
        machines.append(sm)
    tally.records.sort(key=lambda r: r.end_s)
    tally.records[:] = [RepRecord(i + 1, r.side, r.start_s, r.end_s, r.eccentric_s, r.concentric_s, r.measure,
                                  r.min_value, r.max_value, r.faults) for i, r in enumerate(tally.records)]
    nm = sorted(tally.not_measurable, key=lambda x: x.start_s)
    if len(runs) > 1:  # keep intervals where neither side could be measured... report both sides' gaps
        nm = _merge_intervals(nm)
    return AnalysisResult(
        exercise=d.id, reps=tally.reps, reps_left=tally.reps_left, reps_right=tally.reps_right,
        hold_s=tally.held_s, reps_records=list(tally.records), holds=sorted(tally.holds, key=lambda h: h.start_s),
        faults=sorted(tally.faults, key=lambda f: f.time_s), not_measurable=nm,
        not_measurable_s=float(sum(i.duration_s for i in nm)),
        phase_trace={"times_s": times, "phase": phase_names},
        measure_trace={"times_s": times, "measure": comp.primary, "values": first_x,
                       "range_lo": lo, "range_hi": hi, "side": tr.side},
        side=tr.side if mv.sides != "each" else "both", content_hash=d.content_hash,
    )


def _merge_intervals(items: list[NotMeasurable]) -> list[NotMeasurable]:
    out: list[NotMeasurable] = []
    for it in items:
        if out and it.start_s <= out[-1].end_s:
            last = out[-1]
            out[-1] = NotMeasurable(last.start_s, max(last.end_s, it.end_s), last.reason)
        else:
            out.append(it)
    return out


def analyse_measures(definition: ExerciseDefinition, times_s, measures: dict, *, offline: bool = True,
                     smooth: bool = False) -> AnalysisResult:
    """Run the counting (range, conditions, state machine) on measure traces given directly.

    `measures` maps every measure name of the definition to a (T,) array (NaN = not measurable). Useful to
    try a definition on a hand-made trace and in tests; `analyse_series` is this after keypoints -> measures.
    """
    d = definition
    comp = compile_definition(d)
    times = np.asarray(times_s, dtype=np.float64)
    n = len(times)
    vals = {k: np.asarray(v, dtype=np.float64) for k, v in measures.items()}
    missing = set(d.measures) - set(vals)
    if missing:
        raise ValueError(f"traces missing for measures: {', '.join(sorted(missing))}")
    if smooth:
        vals = {k: _smooth(v, times, d, offline) for k, v in vals.items()}
    x = vals[comp.primary]
    lo = hi = None
    if d.movement.range is not None:
        x, lo, hi = adaptive_range(d.movement.range, x, times, causal=not offline)
        vals[comp.primary] = x
    env = dict(vals)
    if lo is not None:
        env[RANGE_LO], env[RANGE_HI] = lo, hi
    mask = _masks(comp, env, n)
    ok = np.ones(n, bool)
    for name in comp.needed:
        ok &= ~np.isnan(vals[name])
    if lo is not None:
        ok &= ~np.isnan(lo)
    tally = Tally()
    sm = StateMachine(comp.cfg, tally, side="none", reason=lambda a, b: "not measurable")
    phase_names = np.full(n, "", dtype=object)
    for i, (t, v, o, m) in enumerate(zip(times.tolist(), x.tolist(), ok.tolist(), mask.tolist())):
        sm.step(t, v, o, m, i)
        if sm.phase is not None:
            phase_names[i] = comp.phases[sm.phase]
    sm.finish(float(times[-1]) if n else None)
    nm = sorted(tally.not_measurable, key=lambda z: z.start_s)
    return AnalysisResult(
        exercise=d.id, reps=tally.reps, reps_left=tally.reps_left, reps_right=tally.reps_right,
        hold_s=tally.held_s, reps_records=list(tally.records), holds=list(tally.holds),
        faults=sorted(tally.faults, key=lambda f: f.time_s), not_measurable=nm,
        not_measurable_s=float(sum(z.duration_s for z in nm)),
        phase_trace={"times_s": times, "phase": phase_names},
        measure_trace={"times_s": times, "measure": comp.primary, "values": x, "range_lo": lo,
                       "range_hi": hi, "side": "none"},
        content_hash=d.content_hash)


def engine_fps(definition: ExerciseDefinition, series: KeypointSeries, *, offline: bool = True,
               repeat: int = 3) -> float:
    """Frames per second of `analyse_series` on a recording (best of `repeat` runs)."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = _time.perf_counter()
        analyse_series(definition, series, offline=offline)
        best = min(best, _time.perf_counter() - t0)
    return len(series) / best if best > 0 else float("inf")


# ---------------------------------------------------------------------------- live engine


@dataclass
class EngineState:
    """What the overlay shows; read it after each `update`."""

    phase: str | None = None
    reps: int = 0
    reps_left: int = 0
    reps_right: int = 0
    held_s: float = 0.0
    values: dict = field(default_factory=dict)  #: current (smoothed) measure values
    measurable: bool = True
    reason: str = ""
    last_cue: str = ""
    last_cue_s: float | None = None
    range_lo: float | None = None
    range_hi: float | None = None
    side: str = "none"
    slot: int = -1  #: slot of the followed person in the last frame (-1 = not in it)
    track_id: int | None = None  #: track id of the followed person (see `coach.engine.tracking`)
    track_ids: list = field(default_factory=list)  #: track id per slot of the last frame (-1 = none)


class ExerciseEngine:
    """Live, causal, per-frame counting for one definition. Pure: no I/O, no drawing, no wall clock.

    Frame by frame it computes exactly what `analyse_series(..., offline=False)` computes over a whole
    recording (same gates, filters, side choice, range and state machine), so a recording replayed through
    it gives the same reps. Windows given in seconds are turned into frames with `fps`; when it is not
    given it is measured from the first two frames (the first frame is then answered with the second).
    """

    def __init__(self, definition: ExerciseDefinition, *, side: str | None = None,
                 fps: float | None = None, choose: str | int = "auto"):
        """`choose`: whom to follow when several people are in view (`ExerciserChooser`)."""
        self.d = definition
        self.comp = compile_definition(definition)
        self.side_override = side
        self.tally = Tally()
        mv = definition.movement
        self._each = mv.sides == "each"
        self._fps = fps
        self._pending: list[tuple[PoseFrame, int]] = []
        self._i = 0
        self._prev_centre: tuple | None = None
        self._chooser = make_chooser(definition, choose)
        self._slot = -1
        self._spike: dict = {}
        self._euro: dict = {}
        self._history: deque = deque(maxlen=4096)  # (frame index, (left, right)) of the credit measure
        self._last_reason = ""
        run_sides = list(SIDES) if self._each else [None]
        self._machines = {
            s: StateMachine(self.comp.cfg, self.tally, side=s or "both",
                            credit=self._credit if mv.credit_side else None,
                            reason=lambda a, b: self._last_reason)
            for s in run_sides}
        self._conds = [(bit, c.compile()) for bit, c in self.comp.conds]
        self._state = EngineState()
        self._ready = False

    # -- set-up once the frame rate is known

    def _setup(self, fps: float) -> None:
        d, mv = self.d, self.d.movement
        self._fps = fps
        self._auto_needed = _needs_auto_side(d, self.side_override)
        window_s = mv.range.window_s if mv.range is not None else 10.0
        w = max(3, int(round(window_s * fps)))
        self._side_w = w
        self._side_q = {s: CausalQuantiles(w, (0.05, 0.95)) for s in SIDES}
        self._side_n = {s: deque(maxlen=w) for s in SIDES}
        self._side_cur = 0
        self._side_started = False
        self._eps = _side_eps(d)
        self._ranges = {}
        if mv.range is not None:
            for key in (list(SIDES) if self._each else [None]):
                self._ranges[key] = LiveRange(mv.range, fps)
        self._ready = True

    # -- helpers

    def _credit(self, i: int) -> str:
        cs = self.d.movement.credit_side
        for j, (a, b) in reversed(self._history):
            if j == i:
                if a != a and b != b:
                    return "none"
                if b != b:
                    return "left"
                if a != a:
                    return "right"
                return ("left" if a < b else "right") if cs.pick == "min" else ("left" if a > b else "right")
        return "none"

    def _smooth(self, key: str, v: float, t: float) -> float:
        sm = self.d.movement.smoothing
        buf = self._spike.get(key)
        if buf is None:
            buf = self._spike[key] = deque(maxlen=sm.despike_frames)
            self._euro[key] = OneEuro(sm.min_cutoff_hz, sm.beta)
        buf.append(v)
        if v != v:
            return v
        if sm.despike_frames > 1:
            vals = [x for x in buf if x == x]
            v = float(np.median(vals))
        return self._euro[key](v, t)

    def _choose_side(self, left: float, right: float) -> str:
        spread, count = [], []
        for s, v in zip(SIDES, (left, right)):
            lo, hi = self._side_q[s].push(v)
            spread.append(hi - lo if hi == hi and lo == lo else 0.0)
            self._side_n[s].append(v == v)
            count.append(sum(self._side_n[s]))
        c0, c1 = count
        best = max(c0, c1)
        cur = self._side_cur
        if not self._side_started:
            if best > 0:
                cur = 0 if c0 >= c1 else 1
                self._side_started = True
        else:
            o = 1 - cur
            co, cc = count[o], count[cur]
            if co >= 0.5 * best and (cc < 0.5 * best or spread[o] > SIDE_SWITCH_RATIO * spread[cur] + self._eps):
                cur = o
        self._side_cur = cur
        return SIDES[cur]

    # -- public

    @property
    def state(self) -> EngineState:
        return self._state

    def update(self, frame: PoseFrame, person: int = 0) -> list[Event]:
        """Feed one frame; returns the events it caused."""
        if not self._ready:
            if self._fps is not None:
                self._setup(self._fps)
            else:
                self._pending.append((frame, person))
                if len(self._pending) < 2:
                    return []
                dt = self._pending[1][0].timestamp_s - self._pending[0][0].timestamp_s
                self._setup(1.0 / dt if dt > 0 else 30.0)
                events = []
                for f, p in self._pending:
                    events += self._update(f, p)
                self._pending = []
                return events
        return self._update(frame, person)

    def _update(self, frame: PoseFrame, person: int) -> list[Event]:
        d, comp, mv = self.d, self.comp, self.d.movement
        t = float(frame.timestamp_s)
        i = self._i
        self._i += 1
        st = self._state
        if person == 0:
            ch = self._chooser
            if ch.width_px is None and frame.width_px:
                ch.width_px = float(frame.width_px)
            slot = ch.step(t, [(kp.image_xy_px, kp.world_xyz_m, kp.visibility) for kp in frame.people])
            st.track_ids = list(ch.ids)
            st.track_id = ch.chosen
        else:
            slot = person if person < len(frame.people) else -1
        self._slot = st.slot = slot
        if slot >= 0:
            kp = frame.people[slot]
            xy = kp.image_xy_px[None].astype(np.float64)
            world = kp.world_xyz_m[None].astype(np.float64)
            vis = np.nan_to_num(kp.visibility[None].astype(np.float64), nan=0.0)
        else:
            xy = np.full((1, N_LANDMARKS, 2), np.nan)
            world = np.full((1, N_LANDMARKS, 3), np.nan)
            vis = np.zeros((1, N_LANDMARKS))
        # jump gate (as jump_gate): compares with the previous frame, whoever was in it
        jumped, self._prev_centre = jump_between(self._prev_centre, xy[0])
        if jumped:
            vis = np.zeros_like(vis)
        # measures, smoothed
        values: dict = {}
        per_side: dict = {}
        prim_name = mv.measure
        for name, m in d.measures.items():
            g = m.geometry
            mvis = m.min_visibility if m.min_visibility is not None else d.min_visibility
            if not g.sided:
                values[name] = self._smooth(name, float(compute(g, xy, world, vis, "left", mvis)[0]), t)
                continue
            per_side[name] = {s: self._smooth(f"{name}:{s}", float(compute(g, xy, world, vis, s, mvis)[0]), t)
                              for s in SIDES}
        auto = self.side_override if self.side_override in SIDES else "left"
        prim_geom = d.measures[prim_name].geometry
        if self._auto_needed:
            auto = self._choose_side(per_side[prim_name]["left"], per_side[prim_name]["right"])
        for name, ps in per_side.items():
            m = d.measures[name]
            side = m.side if not (self.side_override in SIDES and m.side == "auto") else self.side_override
            if side in SIDES:
                values[name] = ps[side]
            elif side == "both":
                got = [x for x in (ps["left"], ps["right"]) if x == x]
                values[name] = sum(got) / len(got) if got else float("nan")
            else:
                values[name] = ps[auto]
        if mv.credit_side is not None:
            cps = per_side[mv.credit_side.measure]
            self._history.append((i, (cps["left"], cps["right"])))
        events: list[Event] = []
        for s, machine in self._machines.items():
            if s is None:
                vals = values
            else:
                vals = {k: (per_side[k][s] if k in per_side and d.measures[k].side in ("auto", "both") else v)
                        for k, v in values.items()}
            env = dict(vals)
            x = vals[prim_name]
            ok = True
            if mv.range is not None:
                x, lo, hi = self._ranges[s].push(x)
                env[prim_name] = x
                env[RANGE_LO], env[RANGE_HI] = lo, hi
                st.range_lo, st.range_hi = lo, hi
                ok = lo == lo
            ok = ok and all(env[nm] == env[nm] for nm in comp.needed)
            mask = 0
            for bit, fn in self._conds:
                try:
                    if fn(env):
                        mask |= bit
                except (TypeError, ZeroDivisionError, KeyError):
                    pass
            if not ok:
                self._last_reason = self._reason(frame, person, vis, s or auto)
            events += machine.step(t, x, ok, mask, i)
        m0 = next(iter(self._machines.values()))
        st.phase = None if m0.phase is None else comp.phases[m0.phase]
        st.reps, st.reps_left, st.reps_right = self.tally.reps, self.tally.reps_left, self.tally.reps_right
        st.held_s = self.tally.held_s + sum(mc.open_hold_s for mc in self._machines.values())
        st.values = values
        st.measurable = all(mc.measurable for mc in self._machines.values())
        st.reason = "" if st.measurable else self._last_reason
        st.last_cue, st.last_cue_s = self.tally.last_cue, self.tally.last_cue_s
        st.side = auto if prim_geom.sided and not self._each else ("both" if self._each else "none")
        return events

    def _reason(self, frame: PoseFrame, person: int, vis: np.ndarray, side: str) -> str:
        if self._slot < 0:
            return "nobody in view"
        d = self.d
        missing: list[str] = []
        for nm in self.comp.needed:
            m = d.measures[nm]
            mvis = m.min_visibility if m.min_visibility is not None else d.min_visibility
            sd = m.side if m.side in SIDES else side
            missing += [x for x in invisible_landmarks(m.geometry, vis[0], sd, mvis) if x not in missing]
        return f"{', '.join(missing[:4])} not visible" if missing else "landmarks unreliable"

    def finish(self, time_s: float | None = None) -> list[Event]:
        """Close open holds and not-measurable intervals (call at the end of the set)."""
        events: list[Event] = []
        if self._pending:  # a single frame was fed: process it with a nominal rate
            self._setup(30.0)
            for f, p in self._pending:
                events += self._update(f, p)
            self._pending = []
        for mc in self._machines.values():
            events += mc.finish(time_s)
        self._state.held_s = self.tally.held_s
        return events

    def result(self) -> AnalysisResult:
        """What has been counted so far, in the same form as `analyse_series` (traces left empty)."""
        t = self.tally
        records = sorted(t.records, key=lambda r: r.end_s)
        nm = _merge_intervals(sorted(t.not_measurable, key=lambda x: x.start_s))
        return AnalysisResult(
            exercise=self.d.id, reps=t.reps, reps_left=t.reps_left, reps_right=t.reps_right,
            hold_s=t.held_s, reps_records=records, holds=sorted(t.holds, key=lambda h: h.start_s),
            faults=sorted(t.faults, key=lambda f: f.time_s), not_measurable=nm,
            not_measurable_s=float(sum(x.duration_s for x in nm)),
            phase_trace={"times_s": [], "phase": []},
            measure_trace={"times_s": [], "measure": self.comp.primary, "values": [], "range_lo": None,
                           "range_hi": None, "side": self._state.side},
            side=self._state.side, content_hash=self.d.content_hash)


_LI = {name: i for i, name in enumerate(LANDMARK_NAMES)}
