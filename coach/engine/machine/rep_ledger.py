"""The reps of a set, as the machines complete them: where the two sides' reps become one count.

Each machine (one per side of the body when each side is counted, `coach.engine.lanes`) offers the reps it
completes here as `RepCandidate`s. One general rule makes a count from them, for every exercise:

- reps of the two sides that overlap in time for at least `MERGE_OVERLAP` of the shorter one are **one
  rep** done with both limbs: both arms curling together, both legs of a squat, or a hidden limb whose
  estimate copies the visible one (cross-talk), even when one side's rep is cut short or drawn out (turning
  points are no guide: on a held top or bottom the extreme falls anywhere in it);
- other reps are separate: alternating arms or legs count one each, even when one limb starts before the
  other has quite finished.

A rep seen on one side only, when both are counted, must move at least `LONE_REP_SPAN` of the definition's
``min_span`` and last at least `LONE_REP_TIME` of the set's typical rep (the median of those recorded): one
side's estimate can be a guess (a hidden limb, an arm the model loses behind a machine), which wobbles less
or flicks faster than a real rep.

A rep completed on one side waits (at most `MERGE_WAIT_S`) while the other side is in a rep that began
before it ended, in case that one completes and joins it; the person's count shows it at once
(`pending`), and it is recorded, with its final side, when the wait ends. Per-side counts say what each
side did (a rep of both sides counts for each). The merged rep keeps the measures of the better-seen side
(the higher mean visibility over the rep).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from coach.engine.caveats import THIN_MARGIN, caveat
from coach.engine.events import FaultRaised, FormFault, RepCompleted, RepRecord

#: Reps of the two sides that overlap for more than this fraction of the shorter one are one rep.
MERGE_OVERLAP = 0.5
#: A rep of one side alone (both sides counted) moves at least this fraction of the range's min_span.
LONE_REP_SPAN = 0.5
#: ... and lasts at least this fraction of the median duration of the reps recorded before it.
LONE_REP_TIME = 0.4
#: Longest a completed rep waits for the other side's rep to complete.
MERGE_WAIT_S = 1.0


@dataclass(frozen=True)
class RepCandidate:
    """A rep completed by one machine, before it is counted."""

    lane: str  #: the machine's side ("left", "right" or "both" for a single machine)
    side: str  #: the side credited ("left"/"right"/"both"/"none")
    start_s: float
    end_s: float
    turn_s: float
    measure: str
    min_value: float
    max_value: float
    faults: tuple  #: FormFaults raised during the rep, and at its turn or over it
    rules: tuple  #: (FormFault, cooldown_s) of the faults found at completion, whose cues are due at `end_s`
    ended_early: bool = False
    quality: float = 1.0  #: mean visibility of the measure's landmarks over the rep (0-1)
    #: the sides known to have done it (counted per side): one side, both when merged, none when unknown
    sides_done: tuple = ()
    margin: float | None = None  #: how far past its turning threshold it went, as a fraction of the range

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    """How much two time spans overlap, as a fraction of the shorter one (0 when they do not meet)."""
    inter = min(a_end, b_end) - max(a_start, b_start)
    shorter = min(a_end - a_start, b_end - b_start)
    return inter / shorter if inter > 0 and shorter > 0 else 0.0


def same_rep(a: RepCandidate, b: RepCandidate) -> bool:
    """True when reps of two sides are one movement of both limbs (see the module docstring)."""
    return overlap(a.start_s, a.end_s, b.start_s, b.end_s) > MERGE_OVERLAP


def cue(tally, t: float, fault: FormFault, cooldown_s: float, out: list) -> None:
    """Show the fault's cue unless the same fault was cued less than `cooldown_s` ago (cues do not nag)."""
    last = tally.cue_times.get(fault.code)
    if last is None or t - last >= cooldown_s:
        tally.cue_times[fault.code] = t
        tally.last_cue = fault.cue
        tally.last_cue_s = t
        out.append(FaultRaised(t, fault))


class RepLedger:
    """Counts the reps the machines of one set complete, merging the two sides' reps (`same_rep`).

    `offer` when a machine completes a rep; `step` once per frame with, for each lane, when the rep it is
    in began (None when it is in none); `flush` at the end of the set. two_sides: the set's machines count
    the left and the right side apart (otherwise every rep is recorded as it is offered); min_span: the
    definition's range min_span (0 without a range).
    """

    def __init__(self, tally, two_sides: bool = False, min_span: float = 0.0) -> None:  # noqa: D107
        self.tally = tally
        self.two_sides = two_sides
        self.min_span = min_span
        self.pending: list[RepCandidate] = []
        self.merges = 0  #: reps of two sides counted as one
        self.dropped = 0  #: reps of one side alone too small to count (`LONE_REP_SPAN`)

    def offer(self, cand: RepCandidate, out: list) -> None:
        if not self.two_sides:
            self._record(cand, out)
            return
        for other in self.pending:
            if other.lane != cand.lane and same_rep(other, cand):
                self.pending.remove(other)
                self._record(self._merged(other, cand), out)
                return
        for rec in reversed(self.tally.records[-4:]):  # the other side's rep was recorded already
            if rec.side in ("left", "right") and rec.side != cand.lane \
                    and overlap(rec.start_s, rec.end_s, cand.start_s, cand.end_s) > MERGE_OVERLAP:
                self._join_recorded(rec, cand)
                return
        self.pending.append(cand)

    def step(self, t: float, rep_started: dict, out: list) -> None:
        """Record the waiting reps whose other side cannot join them any more: it is in no rep, or in one that
        began after they ended, or they have waited `MERGE_WAIT_S`."""
        for cand in list(self.pending):
            others = [s for lane, s in rep_started.items() if lane != cand.lane]
            could_join = any(s is not None and s < cand.end_s for s in others)
            if not could_join or t - cand.end_s > MERGE_WAIT_S:
                self.pending.remove(cand)
                self._record(cand, out)

    def flush(self, out: list) -> None:
        """The set ends: record every waiting rep."""
        for cand in sorted(self.pending, key=lambda c: c.end_s):
            self._record(cand, out)
        self.pending = []

    # ------------------------------------------------------------------ helpers

    def _merged(self, a: RepCandidate, b: RepCandidate) -> RepCandidate:
        self.merges += 1
        best, other = (a, b) if a.quality >= b.quality else (b, a)
        codes = {f.code for f in best.faults}
        faults = best.faults + tuple(f for f in other.faults if f.code not in codes)
        rules = best.rules + tuple(r for r in other.rules if r[0].code not in codes)
        return dataclasses.replace(best, lane="both", side="both", faults=faults, rules=rules,
                                   end_s=max(a.end_s, b.end_s), ended_early=a.ended_early and b.ended_early,
                                   sides_done=("left", "right"))

    def _caveats(self, index: int, cand: RepCandidate) -> None:
        warn = self.tally.warnings
        rom = cand.max_value - cand.min_value
        if cand.ended_early:
            warn.append(caveat("ended_early", f"rep {index}: its return was not seen (the source ended, faded or "
                                              f"lost the person); counted", cand.end_s))
        if cand.margin is not None and cand.margin < THIN_MARGIN:
            warn.append(caveat("thin_margin", f"rep {index} passed its turning threshold by only "
                                              f"{max(cand.margin, 0.0):.0%} of the range", cand.turn_s))
        if self.min_span and rom < self.min_span:
            warn.append(caveat("small_movement", f"rep {index} moved {rom:.3g}, less than the {self.min_span:g} a "
                                                 f"movement is expected to span (min_span)", cand.turn_s))

    def _join_recorded(self, rec: RepRecord, cand: RepCandidate) -> None:
        """A rep of the other side completed after its partner was recorded: the recorded rep becomes both
        sides' (its events were already sent with one side; the result says both)."""
        self.merges += 1
        k = self.tally.records.index(rec)
        self.tally.records[k] = dataclasses.replace(rec, side="both")
        if cand.lane == "left":
            self.tally.reps_left += 1
        else:
            self.tally.reps_right += 1

    def _record(self, cand: RepCandidate, out: list) -> None:
        tally = self.tally
        if self.two_sides and cand.lane != "both":
            typical = float(np.median([r.duration_s for r in tally.records])) if tally.records else 0.0
            if cand.max_value - cand.min_value < LONE_REP_SPAN * self.min_span \
                    or cand.duration_s < LONE_REP_TIME * typical:
                self.dropped += 1
                return
        index = tally.reps + 1
        faults = tuple(dataclasses.replace(f, rep_index=index, side=cand.side) for f in cand.faults)
        rec = RepRecord(index=index, side=cand.side, start_s=cand.start_s, end_s=cand.end_s,
                        eccentric_s=cand.turn_s - cand.start_s, concentric_s=cand.end_s - cand.turn_s,
                        measure=cand.measure, min_value=cand.min_value, max_value=cand.max_value, faults=faults,
                        ended_early=cand.ended_early)
        tally.reps = index
        tally.reps_left += "left" in cand.sides_done
        tally.reps_right += "right" in cand.sides_done
        tally.records.append(rec)
        self._caveats(index, cand)
        out.append(RepCompleted(cand.end_s, rec))
        for f, cooldown_s in cand.rules:
            f = dataclasses.replace(f, rep_index=index, side=cand.side)
            tally.faults.append(f)
            cue(tally, cand.end_s, f, cooldown_s, out)
