"""The `Machine`: one counting machine (one side, or both sides together) composed of the parts of this
package, and the `Tally` the machines of one set share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from coach.engine.events import Event, FormFault, MeasurabilityChanged, NotMeasurable, PhaseChanged, RepRecord
from coach.engine.machine.faults import FaultWatcher
from coach.engine.machine.gaps import MIN_REPORTED_GAP_S, GapTracker
from coach.engine.machine.holds import HoldTimer
from coach.engine.machine.phases import PhaseTracker
from coach.engine.machine.rep_ledger import RepCandidate, RepLedger
from coach.engine.machine.rep_cycle import RepCycle, RepDraft
from coach.engine.machine.table import TransitionTable


@dataclass
class Tally:
    """Results shared by the machines of one set (one machine per side when sides are counted apart)."""

    reps: int = 0
    reps_left: int = 0
    reps_right: int = 0
    records: list[RepRecord] = field(default_factory=list)
    faults: list[FormFault] = field(default_factory=list)
    holds: list = field(default_factory=list)
    held_s: float = 0.0
    last_cue: str = ""
    last_cue_s: float | None = None
    cue_times: dict = field(default_factory=dict)  #: fault code -> time its cue was last shown
    warnings: list = field(default_factory=list)  #: caveats of the count (`coach.engine.caveats`)


class Machine:
    """Runs a `TransitionTable` frame by frame: `step` per frame, `finish` at the end of the set.

    credit(frame index) -> side: who is credited with a rep, looked up at its turning point (definitions
    with ``credit_side``); otherwise the machine's own side. margin: `coach.engine.caveats.margin_function`
    (how far a rep's turning value went past its threshold). ledger: where completed reps are counted
    (shared by the machines of a set, which merges the two sides' reps; a ledger of its own by default).
    """

    def __init__(self, table: TransitionTable, tally: Tally, side: str = "both",
                 credit: Callable[[int], str] | None = None, ledger: RepLedger | None = None,
                 margin: Callable[[float, float, float, float], float | None] | None = None) -> None:
        self.table = table
        self.margin = margin
        self.tally = tally
        self.side = side
        self.credit = credit
        self.ledger = ledger if ledger is not None else RepLedger(tally)
        self.gaps = GapTracker()
        self.phases = PhaseTracker(table.when_bits, table.until_bits, table.min_phase_s)
        self.cycle = RepCycle(table)
        self.faults = FaultWatcher(tally, table.rules, side)
        self.hold = HoldTimer(tally, side, table.hold_min_s, table.bridge_gap_s, table.hold_tolerance)
        self.hold_break_bits = 0
        for r in table.rules:
            if r.breaks_hold:
                self.hold_break_bits |= r.bit
        self.resting = False
        #: stretches this machine could not measure (a set's are where none of its machines could)
        self.not_measurable: list[NotMeasurable] = []
        self.prev_t: float | None = None
        self.value = float("nan")

    # ------------------------------------------------------------------ reading

    @property
    def phase(self) -> int | None:
        """Index of the current phase in `table.phases`, None while moving."""
        return self.phases.phase

    @property
    def measurable(self) -> bool:
        return self.gaps.measurable

    @property
    def rep_started_s(self) -> float | None:
        """When the rep in progress began (its start phase was left), None when none is in progress."""
        return self.cycle.start_s

    @property
    def open_hold_s(self) -> float:
        """Seconds of the hold still open (not yet in the tally)."""
        return self.hold.open_s(self.prev_t)

    # ------------------------------------------------------------------ recording a rep

    def _complete(self, draft: RepDraft | None, out: list, ended_early: bool = False) -> None:
        """Offer a rep that reached the end of its cycle to the ledger (unless too short or too long)."""
        table = self.table
        if draft is None:
            return
        start, end = draft.start_s, draft.end_s
        dur = end - start
        if dur < table.min_rep_s or (table.max_rep_s is not None and dur > table.max_rep_s):
            return
        if table.rest == "high":
            use_min = True
        elif table.rest == "low":
            use_min = False
        else:
            use_min = abs(draft.v_start - draft.min_value) >= abs(draft.max_value - draft.v_start)
        t_turn, i_turn, m_turn = (draft.t_min, draft.i_min, draft.mask_min) if use_min else \
            (draft.t_max, draft.i_max, draft.mask_max)
        v_turn, (lo, hi) = (draft.min_value, draft.range_min) if use_min else (draft.max_value, draft.range_max)
        margin = self.margin(v_turn, lo, hi, draft.max_value - draft.min_value) if self.margin is not None else None
        t_turn = min(max(t_turn, start), end)
        side = self.credit(i_turn) if self.credit is not None else self.side
        new = self.faults.at_rep(index=0, side=side, t_turn=t_turn, mask_turn=m_turn, mask_or=draft.mask_or,
                                 end_s=end)
        self.ledger.offer(RepCandidate(
            lane=self.side, side=side, start_s=start, end_s=end, turn_s=t_turn, measure=table.measure,
            min_value=draft.min_value, max_value=draft.max_value,
            faults=tuple(draft.faults) + tuple(f for f, _ in new), rules=tuple((f, r.cooldown_s) for f, r in new),
            ended_early=ended_early, quality=draft.quality, margin=margin,
            sides_done=(side,) if side in ("left", "right") else ()), out)

    # ------------------------------------------------------------------ per frame

    def step(self, t: float, v: float, ok: bool, mask: int, i: int, reason: str = "",
             quality: float = 1.0, rng: tuple = (float("nan"), float("nan"))) -> list[Event]:
        """Advance by one frame: time `t` (s), primary value `v`, measurable `ok`, condition bits `mask`,
        frame index `i`; `reason` says why a frame is not measurable; `quality` how well the measure's
        landmarks are seen (0-1, the merged rep of two sides keeps the better-seen one's measures); `rng` the
        adaptive range (low, high) in this frame."""
        out: list[Event] = []
        table, gaps, phases, cycle = self.table, self.gaps, self.phases, self.cycle
        if not ok:
            became = gaps.missing(t, reason)
            phases.drop_candidate()
            self.hold.interrupted(gaps.gap_start, t, out)
            if became:
                out.append(MeasurabilityChanged(t, False, gaps.reason))
            self.prev_t = t
            return out
        self.value = v
        gap_start, gap = gaps.seen(t)
        if gap_start is not None:
            if gap >= MIN_REPORTED_GAP_S:
                self.not_measurable.append(NotMeasurable(gap_start, t, gaps.reason))
                if not gaps.measurable:
                    gaps.measurable = True
                    out.append(MeasurabilityChanged(t, True, ""))
            if gap > table.max_gap_s:
                pending, back = cycle.pending, self.on_the_way_back
                draft = cycle.close(gap_start)
                if pending or back:
                    self._complete(draft, out, ended_early=back)
                phases.forget()
        left = phases.leaving(mask)
        if left is not None:
            self._complete(cycle.leave(left, t, v), out)
        entered = phases.entering(t, mask)
        if entered is not None:
            k, t_entry = entered
            self.resting = False
            out.append(PhaseChanged(t, table.phases[k], self.side))
            self._complete(cycle.enter(k, t_entry), out)
        cycle.track(t, v, i, mask, quality, rng)
        in_rep = cycle.in_rep
        raised = self.faults.frame(t, mask, phases.phase,
                                   self.tally.reps + len(self.ledger.pending) + 1 if in_rep else None, out)
        if raised and in_rep:
            cycle.faults.extend(raised)
        if table.hold_phase is not None:
            if phases.phase == table.hold_phase and not (mask & self.hold_break_bits):
                self.hold.holding(t, phases.entry_t if phases.just_entered else t, v, out)
            else:
                self.hold.interrupted(t, t, out)
        if table.rest_s is not None and not self.resting and phases.last_change_t is not None \
                and t - phases.last_change_t > table.rest_s and phases.phase != table.hold_phase:
            self.resting = True
            out.append(PhaseChanged(t, "rest", self.side))
        self.prev_t = t
        phases.just_entered = False
        return out

    def cut(self) -> None:
        """A camera cut: the phase is forgotten (the next one is entered without dwell), and a rep in
        progress is abandoned unless it has passed its turning point, in which case it completes as usual
        when its start phase is seen again after the cut."""
        if not self.cycle.past_turn:
            self.cycle.close(0.0)
        self.phases.forget()

    @property
    def on_the_way_back(self) -> bool:
        """A rep has passed its turning phase and left it (its `until` held: most of the way back), and has not
        reached the start phase yet."""
        return self.cycle.returning and self.phases.phase is None

    def finish(self, t: float | None = None) -> list[Event]:
        """End of the set at `t` (default: the last frame), which is also where observation ends: a rep on
        its way back (`on_the_way_back`) when the person was last measured counts, flagged `ended_early`,
        however long ago that was (the end of the source, a fade, the person lost for good); an open cycle
        waiting to leave its last phase counts; the open hold and not-measurable interval are closed."""
        out: list[Event] = []
        end = t if t is not None else (self.prev_t if self.prev_t is not None else 0.0)
        last_ok = self.gaps.last_ok_t
        if self.cycle.pending and last_ok is not None:
            self._complete(self.cycle.close(last_ok), out)
        if self.on_the_way_back and last_ok is not None:
            self._complete(self.cycle.close(last_ok), out, ended_early=True)
        gs = self.gaps.gap_start
        if gs is not None:
            if end - gs >= MIN_REPORTED_GAP_S:
                self.not_measurable.append(NotMeasurable(gs, end, self.gaps.reason))
            self.gaps.gap_start = None
        self.hold.finish(end, out)
        return out
