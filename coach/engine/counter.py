"""Counting one set, frame by frame: the `Counter`, and `count` for a whole recording.

Per frame (each stage written once; times come from the source; nothing is drawn or stored):

1. whom to follow (`tracking.ExerciserChooser`), and whether their skeleton jumped (`jump_gate.JumpGate`);
2. every measure on each side it has (`measures.compute`, visibility-gated: NaN where unseen);
3. de-spiking and smoothing per measure and side (`filters.Smoother`), the side to follow (`sides.SideChooser`);
4. the adaptive range of the primary measure (`adaptive_range.AdaptiveRange`), the conditions as a bitmask,
   and the state machine (`machine.Machine`), one per side when sides are counted apart.

`Counter.update(frame)` runs 1–4 for one frame (live). `count(definition, series)` is the same for a whole
recording: stage 2 is vectorised over all frames (it has no state), the stateful stages run in a loop over
the very same objects, so a recording gives exactly what the live counter gives frame by frame.
`count(..., offline=True)` is the genuinely offline analysis instead (zero-phase smoothing, whole-clip side
choice, centred range windows; `coach.engine.offline`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from coach.engine.adaptive_range import AdaptiveRange
from coach.engine.caveats import caveat, fallback_caveats, margin_function, sides_caveats
from coach.engine.compiled import SIDES, Compiled, compile_definition
from coach.engine.cuts import CutWatcher
from coach.engine.events import Event
from coach.engine.filters import Smoother, sample_rate_hz
from coach.engine.lanes import Lane, counted_sides, fallback_range
from coach.engine.jump_gate import JumpGate
from coach.engine.machine import Machine, Tally
from coach.engine.machine.rep_ledger import RepLedger
from coach.engine.measures import compute, compute_frame
from coach.engine.reasons import frame_reason
from coach.engine.result import CountResult, Trace, not_measurable_by_all
from coach.engine.sides import SideChooser
from coach.engine.torso import body_centres, body_frame, body_sizes
from coach.engine.tracking import ExerciserChooser
from coach.exercise.expressions import RANGE_HI, RANGE_LO
from coach.exercise.spec import ExerciseDefinition
from coach.pose.landmarks import N_LANDMARKS, landmark_index
from coach.pose.series import PoseFrame, PoseSeries

_NAN = float("nan")
#: seconds of movement over which the chooser compares people's activity
CHOOSER_WINDOW_S = 4.0


@dataclass
class CounterState:
    """What the overlay shows; read it after each `Counter.update`."""

    phase: str | None = None
    reps: int = 0
    reps_left: int = 0
    reps_right: int = 0
    held_s: float = 0.0
    values: dict = field(default_factory=dict)  #: current (smoothed) measure values, by measure name
    measurable: bool = True
    reason: str = ""  #: why not measurable
    last_cue: str = ""
    last_cue_s: float | None = None
    range_lo: float | None = None
    range_hi: float | None = None
    side: str = "none"
    slot: int = -1  #: slot of the followed person in the last frame (-1 = not in it)
    track_id: int | None = None  #: track id of the followed person (see `coach.engine.tracking`)
    track_ids: list = field(default_factory=list)  #: track id per slot of the last frame (-1 = none)
    several_seen: bool = False  #: two or more people have been in view at once


def make_chooser(d: ExerciseDefinition, comp: Compiled, choose: str | int = "auto") -> ExerciserChooser:
    """The `ExerciserChooser` of a set of `d`: among the people in the definition's `posture`, activity is the
    primary measure's spread (both sides of a sided measure, raw keypoints); someone moves "in the
    exercise's pattern" from half the definition's `range.min_span` (holds and definitions without a range:
    never, so the largest/central is taken)."""
    chans = [c for c in comp.channels if c.measure == comp.primary]

    def measure_fn(xy, world, vis):
        return tuple(compute_frame(c.geometry, xy, world, vis, c.side, c.min_visibility) for c in chans)

    rng = d.movement.range
    min_activity = 0.5 * rng.min_span if rng is not None and d.movement.hold is None else float("inf")
    return ExerciserChooser(choose, measure_fn=measure_fn, min_activity=min_activity, window_s=CHOOSER_WINDOW_S,
                            posture=None if d.posture == "any" else d.posture)


def _side_eps(d: ExerciseDefinition) -> float:
    return 0.25 * d.movement.range.min_span if d.movement.range is not None else 0.0


class Counter:
    """Counts one set of one exercise, frame by frame: `update(frame)` -> events; `state` for the overlay;
    `finish()` at the end of the set; `result()` for what was counted.

    side: "left"/"right" fixes the side of ``side: auto`` measures. fps: the source's frame rate (windows
    in seconds become frames); when None it is measured from the first two frames (the first frame is then
    answered with the second). choose: whom to follow when several people are in view ("auto", "largest",
    "center" or a track id). has_world: False for 2-D keypoints (definitions that need 3-D are refused).
    keep_trace: keep every frame's values for `result().trace` (plots, the stored angle series).
    """

    def __init__(self, definition: ExerciseDefinition, *, side: str | None = None, fps: float | None = None,
                 choose: str | int = "auto", has_world: bool = True, keep_trace: bool = False) -> None:
        self.d = definition
        self.comp = compile_definition(definition, has_world=has_world)
        self.has_world = has_world
        self.side_override = side if side in SIDES else None
        self.tally = Tally()
        mv = definition.movement
        sides = counted_sides(definition, self.comp.sided[mv.measure], self.side_override)
        self.each = len(sides) == 2  #: each side is counted in a lane of its own
        self.ledger = RepLedger(self.tally, two_sides=self.each,
                                min_span=mv.range.min_span if mv.range is not None else 0.0)
        self.keep_trace = keep_trace
        self.chooser = make_chooser(definition, self.comp, choose)
        self.gate = JumpGate()
        self.cuts = CutWatcher()
        self.smoothers = self._new_smoothers()
        self._history: deque = deque(maxlen=4096)  # (frame index, (left, right)) of the credit measure
        min_span = mv.range.min_span if mv.range is not None else 0.0
        margin = margin_function(self.comp)
        self.lanes = [Lane(s, Machine(self.comp.table, self.tally, side=s or "both",
                                      credit=self._credit if mv.credit_side else None, ledger=self.ledger,
                                      margin=margin),
                           None, min_span) for s in sides]
        self._followed: int | None = None  # the person followed, once several have been seen
        self._conds = [(bit, c.compile()) for bit, c in self.comp.conditions]
        self._rule_bit = 1 << (2 * len(self.comp.phases))  # bits from here on are form rules
        self._fallback_measure = mv.fallback.measure if mv.fallback is not None else None
        prim_geom = self.comp.channels[self.comp.channel_of[(mv.measure, "left")]].geometry
        self._quality_idx = {sd: [landmark_index(n) for n in prim_geom.landmarks(sd)] for sd in SIDES}
        self._fps = fps
        self._pending: list[PoseFrame] = []
        self._ready = False
        self._i = 0
        self._left_frames = 0
        self._frames = 0
        self.state = CounterState()
        self._trace: dict | None = None
        if keep_trace:
            self._trace = {"t": [], "phase": [], "counted": [], "lo": [], "hi": [],
                           "values": {n: [] for n in definition.measures},
                           "per_side": {n: {s: [] for s in SIDES} for n, sd in self.comp.sided.items() if sd}}
        # per-measure reading plan: (name, channel of each side or the single channel, how the value is taken)
        self._plan = []
        for name, m in definition.measures.items():
            if not self.comp.sided[name]:
                self._plan.append((name, self.comp.channel_of[(name, "left")], None, "single"))
            else:
                take = m.side if not (self.side_override and m.side == "auto") else self.side_override
                self._plan.append((name, self.comp.channel_of[(name, "left")], self.comp.channel_of[(name, "right")],
                                   take))
        prim = definition.measures[mv.measure]
        self._auto_needed = (self.side_override is None and self.comp.sided[mv.measure]
                             and any(m.side == "auto" and self.comp.sided[n] for n, m in definition.measures.items()))
        self._prim_sided = self.comp.sided[mv.measure]
        self._prim_both = prim.side == "both" and self.side_override is None
        if fps is not None:
            self._setup(fps)

    # ------------------------------------------------------------------ set-up once the frame rate is known

    def _setup(self, fps: float) -> None:
        mv = self.d.movement
        self._fps = fps
        window_s = mv.range.window_s if mv.range is not None else 10.0
        self.side_chooser = SideChooser(max(3, int(round(window_s * fps))), _side_eps(self.d))
        if mv.range is not None:
            for lane in self.lanes:
                lane.range = AdaptiveRange(mv.range, fps)
                fb = fallback_range(self.d, fps)
                if fb is not None:
                    lane.fallback, lane.flip = fb
        self._ready = True

    # ------------------------------------------------------------------ helpers

    def _new_smoothers(self) -> list[Smoother]:
        sm = self.d.movement.smoothing
        return [Smoother(sm.despike_frames, sm.min_cutoff_hz, sm.beta) for _ in self.comp.channels]

    def _restart_after_cut(self) -> None:
        """A camera cut: smoothing and the side followed start afresh (the frames before it are another
        shot); each lane decides from its first value after the cut whether the shot continues (`Lane`)."""
        self.smoothers = self._new_smoothers()
        if self._ready:
            self.side_chooser = SideChooser(self.side_chooser.quantiles[0].window, _side_eps(self.d))
        for lane in self.lanes:
            lane.cut()

    def _credit(self, i: int) -> str:
        pick_min = self.d.movement.credit_side.pick == "min"
        for j, (a, b) in reversed(self._history):
            if j == i:
                if a != a and b != b:
                    return "none"
                if b != b:
                    return "left"
                if a != a:
                    return "right"
                return ("left" if a < b else "right") if pick_min else ("left" if a > b else "right")
        return "none"

    def _check_world(self, frame: PoseFrame) -> None:
        if self.has_world and frame.n_people and frame.world_m is None:
            self.comp = compile_definition(self.d, has_world=False)  # raises when the definition needs 3-D
            self.has_world = False

    # ------------------------------------------------------------------ stage 1: who, and their measures

    def _measure_frame(self, frame: PoseFrame) -> tuple[list[float], dict]:
        """Raw measure channels of the followed person in one frame, and what a reason needs."""
        slot = self.chooser.step(frame)
        st = self.state
        st.track_ids, st.track_id, st.slot = list(self.chooser.ids), self.chooser.chosen, slot
        st.several_seen = self.chooser.seen_several
        if slot >= 0:
            xy = frame.xy_px[slot].astype(np.float64)
            world = None if frame.world_m is None else frame.world_m[slot].astype(np.float64)
            vis = np.nan_to_num(frame.visibility[slot].astype(np.float64), nan=0.0)
        else:
            xy = np.full((N_LANDMARKS, 2), np.nan)
            world = np.full((N_LANDMARKS, 3), np.nan) if self.has_world else None
            vis = np.zeros(N_LANDMARKS)
        cx, cy, torso, size = body_frame(xy)
        jumped = self.gate.update(cx, cy, torso)
        if jumped:
            vis = np.zeros_like(vis)
        raw = [compute_frame(c.geometry, xy, world, vis, c.side, c.min_visibility) for c in self.comp.channels]
        return raw, {"nobody": slot < 0, "jumped": jumped, "xy": xy, "vis": vis, "cut": frame.cut,
                     "size": size, "who": self.chooser.chosen if self.chooser.seen_several else None}

    # ------------------------------------------------------------------ stages 3 and 4, shared by live and count()

    def _step(self, t: float, raw: list[float], ctx: dict) -> list[Event]:
        """Camera cuts, then stages 3 and 4, for one frame of raw measure channels."""
        cut, refitting = self.cuts.update(t, ctx["cut"], ctx["size"], ctx["jumped"], ctx["nobody"])
        if cut:
            self._restart_after_cut()
            self.tally.warnings.append(caveat("cut", f"camera cut or zoom at {t:.1f} s: the range of the movement "
                                                     f"is learned afresh if the shot changed", t))
        who = ctx.get("who")
        if who is not None:
            if self._followed is not None and who != self._followed:
                self.tally.warnings.append(caveat("person_switched", f"another person is followed from {t:.1f} s",
                                                  t))
            self._followed = who
        if refitting:
            raw = [_NAN] * len(raw)
        ctx["refitting"] = refitting
        return self._count(t, *self._smooth(t, raw), ctx)

    def _smooth(self, t: float, raw: list[float]) -> tuple[dict, dict, str]:
        """Stage 3: (value per measure on the side followed, per-side values of sided measures, auto side)."""
        comp = self.comp
        smooth = [s.update(v, t) for s, v in zip(self.smoothers, raw)]
        values: dict = {}
        per_side: dict = {}
        for name, a, b, take in self._plan:
            if take == "single":
                values[name] = smooth[a]
                continue
            left, right = smooth[a], smooth[b]
            per_side[name] = {"left": left, "right": right}
            if take in SIDES:
                values[name] = left if take == "left" else right
            elif take == "both":
                got = [x for x in (left, right) if x == x]
                values[name] = sum(got) / len(got) if got else _NAN
            else:
                values[name] = None  # auto: filled once the side is known
        auto = self.side_override or "left"
        if self._auto_needed:
            ps = per_side[comp.primary]
            auto = self.side_chooser.update(ps["left"], ps["right"])
        for name, _, _, take in self._plan:
            if take == "auto":
                values[name] = per_side[name][auto]
        return values, per_side, auto

    def _count(self, t: float, values: dict, per_side: dict, auto: str, ctx: dict) -> list[Event]:
        """Stage 4: for each lane, the adaptive range, the conditions and the machine, for one frame; then
        the ledger that makes reps of the lanes' reps."""
        i = self._i
        self._i += 1
        d, comp, mv = self.d, self.comp, self.d.movement
        if mv.credit_side is not None:
            cps = per_side[mv.credit_side.measure]
            self._history.append((i, (cps["left"], cps["right"])))
        self._frames += 1
        self._left_frames += auto == "left"
        st = self.state
        events: list[Event] = []
        shown = self.lanes[0]
        counted = lo = hi = _NAN
        vis = ctx["vis"]
        fb_name = self._fallback_measure
        for lane in self.lanes:
            s = lane.side
            if s is None:
                env = dict(values)
            else:
                env = {k: (per_side[k][s] if k in per_side and d.measures[k].side in ("auto", "both") else v)
                       for k, v in values.items()}
            x, lo_s, hi_s, fell_back = lane.measure(env[comp.primary], env[fb_name] if fb_name else _NAN)
            env[comp.primary] = x
            ok = True
            if lane.range is not None:
                env[RANGE_LO], env[RANGE_HI] = lo_s, hi_s
                ok = lo_s == lo_s
            ok = ok and all(env[nm] == env[nm] for nm in comp.needed)
            mask = 0
            rules_env = dict(env, **{comp.primary: _NAN}) if fell_back else env  # no form verdict on a stand-in
            for bit, fn in self._conds:
                try:
                    if fn(env if bit < self._rule_bit else rules_env):
                        mask |= bit
                except (TypeError, ZeroDivisionError, KeyError):
                    pass
            reason = ""
            rng = lane.range
            if not ok:
                reason = frame_reason(comp, nobody=ctx["nobody"], jumped=ctx["jumped"], xy=ctx["xy"], vis=vis,
                                      side=s or auto, refitting=ctx.get("refitting", False),
                                      settling=rng is not None and rng.settling,
                                      rejected=rng is not None and rng.rejected, learning=rng is not None and lo_s != lo_s)
            quality = 1.0 if vis is None else min(float(vis[k]) for k in self._quality_idx[s or auto])
            events += lane.machine.step(t, x, ok, mask, i, reason, quality, (lo_s, hi_s))
            lane.seen_frames += ok
            if s is None or s == auto:
                shown, counted, lo, hi = lane, x, lo_s, hi_s
        if self.each:
            self.ledger.step(t, {lane.side: lane.machine.rep_started_s for lane in self.lanes}, events)
        st.range_lo, st.range_hi = lo, hi
        st.phase = None if shown.machine.phase is None else comp.phases[shown.machine.phase]
        self._state_counts()
        st.held_s = self.tally.held_s + sum(lane.machine.open_hold_s for lane in self.lanes)
        st.values = values
        st.measurable = any(lane.machine.measurable for lane in self.lanes)  # one side is enough to count
        st.reason = "" if st.measurable else shown.machine.gaps.reason
        st.last_cue, st.last_cue_s = self.tally.last_cue, self.tally.last_cue_s
        st.side = self._side_label(auto)
        tr = self._trace
        if tr is not None:
            tr["t"].append(t)
            tr["phase"].append(st.phase or "")
            tr["counted"].append(counted)
            tr["lo"].append(lo)
            tr["hi"].append(hi)
            for name, v in values.items():
                tr["values"][name].append(v)
            for name, sides in tr["per_side"].items():
                for sd in SIDES:
                    sides[sd].append(per_side[name][sd])
        return events

    def _state_counts(self) -> None:
        """The counts the person sees: recorded reps and those waiting for the other side (`RepLedger`)."""
        st, tally, pending = self.state, self.tally, self.ledger.pending
        st.reps = tally.reps + len(pending)
        st.reps_left = tally.reps_left + sum("left" in c.sides_done for c in pending)
        st.reps_right = tally.reps_right + sum("right" in c.sides_done for c in pending)

    def _side_label(self, auto: str) -> str:
        """The side whose values are shown (with a lane per side: the side that moves most)."""
        if self._prim_both:
            return "both"
        if not self._prim_sided:
            return "none"
        return auto

    # ------------------------------------------------------------------ public

    def update(self, frame: PoseFrame) -> list[Event]:
        """Feed one frame (everyone found in it); returns the events it caused."""
        self._check_world(frame)
        if not self._ready:
            self._pending.append(frame)
            if len(self._pending) < 2:
                return []
            dt = self._pending[1].timestamp_s - self._pending[0].timestamp_s
            self._setup(1.0 / dt if dt > 0 else 30.0)
            events = []
            for f in self._pending:
                events += self._step(f.timestamp_s, *self._measure_frame(f))
            self._pending = []
            return events
        return self._step(frame.timestamp_s, *self._measure_frame(frame))

    def finish(self, time_s: float | None = None) -> list[Event]:
        """End the set at `time_s` (default: the last frame): close open holds and not-measurable intervals."""
        events: list[Event] = []
        if self._pending:  # a single frame was fed: process it with a nominal rate
            self._setup(30.0)
            for f in self._pending:
                events += self._step(f.timestamp_s, *self._measure_frame(f))
            self._pending = []
        for lane in self.lanes:
            events += lane.machine.finish(time_s)
        self.ledger.flush(events)
        self._state_counts()
        self.state.held_s = self.tally.held_s
        return events

    def _overall_side(self) -> str:
        if self.each or self._prim_both:
            return "both"
        if not self._prim_sided:
            return "none"
        if self.side_override or not self._auto_needed:
            m = self.d.measures[self.d.movement.measure]
            return m.side if m.side in SIDES else (self.side_override or "left")
        return "left" if self._frames and self._left_frames >= 0.5 * self._frames else "right"

    def result(self) -> CountResult:
        """What has been counted so far (the trace is empty unless `keep_trace`)."""
        t = self.tally
        side = self._overall_side()
        tr = self._trace
        if tr is None:
            trace = Trace.empty(self.comp.primary, side)
        else:
            trace = Trace(np.asarray(tr["t"], np.float64), np.asarray(tr["phase"], dtype=object),
                          {k: np.asarray(v, np.float64) for k, v in tr["values"].items()}, self.comp.primary,
                          np.asarray(tr["counted"], np.float64), np.asarray(tr["lo"], np.float64),
                          np.asarray(tr["hi"], np.float64), side,
                          {k: {s: np.asarray(v, np.float64) for s, v in sd.items()}
                           for k, sd in tr["per_side"].items()})
        return CountResult(
            exercise=self.d.id, reps=t.reps, reps_left=t.reps_left, reps_right=t.reps_right, hold_s=t.held_s,
            rep_records=sorted(t.records, key=lambda r: r.end_s), holds=sorted(t.holds, key=lambda h: h.start_s),
            faults=sorted(t.faults, key=lambda f: f.time_s),
            not_measurable=not_measurable_by_all([lane.machine.not_measurable for lane in self.lanes]),
            trace=trace, side=side, definition_hash=self.d.content_hash,
            warnings=sorted(t.warnings + sides_caveats({ln.side: ln.seen_frames for ln in self.lanes})
                            + fallback_caveats(self.d, sum(ln.fallback_frames for ln in self.lanes) / (self._fps or 30.0)),
                            key=lambda w: (w["time_s"] is None, w["time_s"] or 0.0)))


def _follow(series: PoseSeries, counter: Counter) -> tuple[np.ndarray, list]:
    """(slot followed in each frame, -1 = nobody; who is followed in each frame once several people have been
    seen, else None), exactly as the counter's chooser follows them frame by frame."""
    chooser = counter.chooser
    if chooser.choice == "auto" and series.n_slots == 1:  # the lone person (what the chooser says)
        return np.where(series.n_people > 0, 0, -1), [None] * len(series)
    slots, who = [], []
    for f in series.frames():
        slots.append(chooser.step(f))
        who.append(chooser.chosen if chooser.seen_several else None)
    return np.array(slots, np.int64), who


def followed_slots(definition: ExerciseDefinition, series: PoseSeries, choose: str | int = "auto") -> np.ndarray:
    """Slot of the person a count follows in every frame (-1 = nobody), exactly as a `Counter` follows them."""
    return _follow(series, Counter(definition, choose=choose, has_world=series.has_world))[0]


def count(definition: ExerciseDefinition, series: PoseSeries, *, offline: bool = False, side: str | None = None,
          choose: str | int = "auto") -> CountResult:
    """Count reps, time holds and check form over a whole recording.

    Causal by default: exactly what a `Counter` fed the frames one by one gives (what `coach workout` does
    live). `offline=True`: whole-clip analysis with zero-phase smoothing (needs the whole recording).
    `side` fixes the side of ``side: auto`` measures; `choose` whom to follow among several people.
    Definitions that need 3-D world coordinates are refused on 2-D keypoints (`KeypointsMismatch`).
    """
    if offline:
        from coach.engine.offline import count_offline

        return count_offline(definition, series, side=side, choose=choose)
    counter = Counter(definition, side=side, fps=sample_rate_hz(series.timestamps_s), choose=choose,
                      has_world=series.has_world, keep_trace=True)
    n = len(series)
    if n == 0:
        return counter.result()
    slots, who = _follow(series, counter)
    xy, world, vis = person_arrays(series, slots)
    centres, torsos = body_centres(xy)
    gate = counter.gate
    jumped = np.array([gate.update(cx, cy, tl) for (cx, cy), tl in zip(centres.tolist(), torsos.tolist())], bool)
    vis = np.where(jumped[:, None], 0.0, vis)
    raw = np.stack([compute(c.geometry, xy, world, vis, c.side, c.min_visibility)
                    for c in counter.comp.channels], axis=1).tolist()
    times = series.timestamps_s.tolist()
    sizes = body_sizes(xy).tolist()
    cuts = [None] * n if series.cuts is None else series.cuts.tolist()
    st = counter.state
    for i in range(n):
        st.slot = int(slots[i])
        counter._step(times[i], raw[i], {"nobody": slots[i] < 0, "jumped": bool(jumped[i]), "xy": xy[i], "vis": vis[i],
                                         "cut": cuts[i], "size": sizes[i], "who": who[i]})
    counter.finish(times[-1])
    return counter.result()


def person_arrays(series: PoseSeries, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(xy (T, 33, 2), world (T, 33, 3) or None, visibility (T, 33)) float64 of the person in `slots` per frame
    (-1 = nobody: NaN coordinates, visibility 0)."""
    rows = np.arange(len(series))
    s = np.maximum(slots, 0)
    present = slots >= 0
    xy = series.xy_px[rows, s].astype(np.float64)
    xy[~present] = np.nan
    world = None
    if series.world_m is not None:
        world = series.world_m[rows, s].astype(np.float64)
        world[~present] = np.nan
    vis = np.where(present[:, None], np.nan_to_num(series.visibility[rows, s].astype(np.float64), nan=0.0), 0.0)
    return xy, world, vis


def count_measures(definition: ExerciseDefinition, times_s, measures: dict, *, offline: bool = True,
                   smooth: bool = False) -> CountResult:
    """Run the counting (adaptive range, conditions, state machine) on measure traces given directly.

    `measures` maps every measure name of the definition to a (T,) array (NaN = not measurable), taken as
    the value on the side followed. Useful to try a definition on a hand-made trace, and in tests.
    offline=True uses the centred (whole-trace) range; smooth=True smooths the traces first.
    """
    times = np.asarray(times_s, dtype=np.float64)
    vals = {k: np.asarray(v, dtype=np.float64) for k, v in measures.items()}
    missing = set(definition.measures) - set(vals)
    if missing:
        raise ValueError(f"traces missing for measures: {', '.join(sorted(missing))}")
    if offline:
        from coach.engine.offline import count_traces

        return count_traces(definition, times, vals, smooth=smooth)
    # one trace per measure is one side's: the measures' `auto` side is fixed to it (one lane)
    counter = Counter(definition, side="left", fps=sample_rate_hz(times), keep_trace=True)
    names = list(definition.measures)
    columns = [vals[k].tolist() for k in names]
    sm = definition.movement.smoothing
    smoothers = {k: Smoother(sm.despike_frames, sm.min_cutoff_hz, sm.beta) for k in names}
    ctx = {"nobody": False, "jumped": False, "xy": None, "vis": np.ones(N_LANDMARKS), "cut": False, "size": _NAN}
    for i, t in enumerate(times.tolist()):
        row = {k: (smoothers[k].update(col[i], t) if smooth else col[i]) for k, col in zip(names, columns)}
        counter._count(t, row, {}, counter.side_override or "left", ctx)
    if len(times):
        counter.finish(float(times[-1]))
    return counter.result()
