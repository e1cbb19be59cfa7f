"""The exercise state machine: phases with hysteresis and dwell, the rep cycle, holds, gaps, form faults.

It is fed one frame at a time — time, primary measure value, whether the frame is measurable, and a
bitmask of which conditions hold in that frame (computed vectorised beforehand, see `coach.engine.analysis`) —
so the per-frame work is a handful of integer and float operations. The same machine serves live use
(`ExerciseEngine.update`) and offline analysis (`analyse_series`).

Rules
-----
- A phase is entered when its ``when`` condition has held continuously for ``min_phase_s`` (the entry is
  dated to when it started holding) and left when its ``until`` condition holds. The dwell debounces
  changes of phase, so the first phase after the start (or after a long gap) is entered at once. Between phases the
  person is "moving" (phase None). Thresholds apart (hysteresis) plus the dwell mean jitter around a
  threshold never enters a phase twice.
- A rep is the declared cycle of phases, e.g. [up, down, up]: it starts when the person leaves the first
  phase and ends when the last phase is entered. Entering the first phase again restarts the cycle (a half
  rep is not counted); a phase out of order abandons it.
- Frames that are not measurable pause the machine. A gap longer than ``max_gap_s`` abandons the rep in
  progress (a rep must be seen) and forgets the phase; shorter gaps are passed over.
- When the recording or set ends after the turn of a rep, on the way back (the last phase left, the
  start phase not yet reached), `finish` counts it: its return is cut by the end, not missing.
- Holds: time in the hold phase while measurable and no ``breaks_hold`` rule fails. An interruption
  (out of view, out of position, a rule failing) shorter than ``bridge_gap_s`` after which the person is
  in the hold again does not end it: the hold is one interval across it. Set ``bridge_gap_s: 0`` to count
  only time seen in position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from coach.engine.events import (Event, FaultRaised, FormFault, HoldProgress, HoldRecord, MeasurabilityChanged,
                          NotMeasurable, PhaseChanged, RepCompleted, RepRecord)

#: Not-measurable intervals shorter than this are not reported (single dropped frames are bridged).
MIN_REPORTED_GAP_S = 0.2


@dataclass(frozen=True)
class RuleInfo:
    code: str
    cue: str
    severity: str
    cooldown_s: float
    check: str  #: always | at_turn | over_rep | during
    phase: int | None  #: phase index for "during"
    breaks_hold: bool
    bit: int


@dataclass
class Tally:
    """Results shared by the machines of one set (one machine per side when sides are counted apart)."""

    reps: int = 0
    reps_left: int = 0
    reps_right: int = 0
    records: list[RepRecord] = field(default_factory=list)
    faults: list[FormFault] = field(default_factory=list)
    holds: list[HoldRecord] = field(default_factory=list)
    held_s: float = 0.0
    not_measurable: list[NotMeasurable] = field(default_factory=list)
    last_cue: str = ""
    last_cue_s: float | None = None
    _cue_times: dict = field(default_factory=dict)


@dataclass
class MachineConfig:
    phases: tuple[str, ...]
    cycle: tuple[int, ...] | None
    hold_phase: int | None
    min_phase_s: float
    max_gap_s: float
    min_rep_s: float
    max_rep_s: float | None
    hold_min_s: float
    bridge_gap_s: float
    rules: tuple[RuleInfo, ...]
    measure: str
    rest: str | None  #: "high"/"low" end where reps start, or None (inferred per rep)
    rest_s: float | None = None


class StateMachine:
    """One counting machine (one side, or both sides together)."""

    def __init__(self, cfg: MachineConfig, tally: Tally, side: str = "none",
                 credit: Callable[[int], str] | None = None,
                 reason: Callable[[int, int], str] | None = None):
        self.cfg = cfg
        self.tally = tally
        self.side = side
        self.credit = credit
        self.reason = reason or (lambda i0, i1: "not visible")
        n = len(cfg.phases)
        self.when_bits = tuple(1 << (2 * k) for k in range(n))
        self.until_bits = tuple(1 << (2 * k + 1) for k in range(n))
        self.frame_rule_bits = 0
        self.hold_break_bits = 0
        for r in cfg.rules:
            if r.check in ("always", "during"):
                self.frame_rule_bits |= r.bit
            if r.breaks_hold:
                self.hold_break_bits |= r.bit
        self.phase: int | None = None
        self.fresh = True  # no phase seen yet (start, or after a long gap): the first needs no dwell
        self.cand: int | None = None
        self.cand_since = 0.0
        self.progress = -1
        self.rep_start: float | None = None
        self.tracking = False
        self.vmin = self.vmax = float("nan")
        self.tmin = self.tmax = 0.0
        self.imin = self.imax = -1
        self.mmin = self.mmax = 0
        self.v_start = float("nan")
        self.rep_or = 0
        self.rep_faults: list[FormFault] = []
        self.prev_mask = 0
        self.prev_active = 0
        self.prev_t: float | None = None
        self.gap_start: float | None = None
        self.gap_i = -1
        self.last_ok_t: float | None = None
        self.measurable = True
        self.hold_start: float | None = None
        self.hold_pause: float | None = None  # when an open hold was interrupted
        self.phase_entry_t = 0.0
        self.just_entered = False
        self.last_change_t: float | None = None
        self.resting = False
        self.value = float("nan")

    # ------------------------------------------------------------------ helpers

    def _cue(self, t: float, fault: FormFault, cooldown_s: float, out: list) -> None:
        last = self.tally._cue_times.get(fault.code)
        if last is None or t - last >= cooldown_s:
            self.tally._cue_times[fault.code] = t
            self.tally.last_cue = fault.cue
            self.tally.last_cue_s = t
            out.append(FaultRaised(t, fault))

    def _reset_rep(self) -> None:
        self.rep_start = None
        self.tracking = False
        self.vmin = self.vmax = float("nan")
        self.imin = self.imax = -1
        self.rep_or = 0
        self.rep_faults = []

    def _track_from_start_phase(self) -> None:
        """Min/max of the coming rep are tracked from the start phase on, so that its range of motion
        includes the start position itself (not just the point where the start phase is left)."""
        self._reset_rep()
        self.tracking = True

    def _start_rep(self, t: float, v: float) -> None:
        self.rep_start = t
        self.v_start = v
        if not self.tracking:
            self.tracking = True
            self.vmin = self.vmax = float("nan")
            self.imin = self.imax = -1
        self.rep_or = 0
        self.rep_faults = []

    def _close_hold(self, end: float, out: list) -> None:
        self.hold_pause = None
        if self.hold_start is None:
            return
        dur = end - self.hold_start
        if dur >= self.cfg.hold_min_s and dur > 0:
            self.tally.holds.append(HoldRecord(self.hold_start, end, self.side if self.side != "none"
                                               else "both"))
            self.tally.held_s += dur
            out.append(HoldProgress(end, self.tally.held_s, False))
        self.hold_start = None

    @property
    def open_hold_s(self) -> float:
        if self.hold_start is None or self.prev_t is None:
            return 0.0
        end = self.hold_pause if self.hold_pause is not None else self.prev_t
        return max(0.0, end - self.hold_start)

    def _complete_rep(self, t_end: float, i: int, out: list) -> None:
        cfg = self.cfg
        start = self.rep_start
        if start is None or self.imin < 0:
            return
        dur = t_end - start
        if dur < cfg.min_rep_s or (cfg.max_rep_s is not None and dur > cfg.max_rep_s):
            return
        if cfg.rest == "high":
            use_min = True
        elif cfg.rest == "low":
            use_min = False
        else:
            use_min = abs(self.v_start - self.vmin) >= abs(self.vmax - self.v_start)
        t_turn, i_turn, m_turn = (self.tmin, self.imin, self.mmin) if use_min else \
            (self.tmax, self.imax, self.mmax)
        t_turn = min(max(t_turn, start), t_end)
        side = self.side
        if self.credit is not None:
            side = self.credit(i_turn)
        tally = self.tally
        index = tally.reps + 1
        during = [FormFault(f.code, f.cue, f.time_s, f.severity, index, side, f.value)
                  for f in self.rep_faults]
        new: list[tuple[FormFault, RuleInfo]] = []
        for r in cfg.rules:
            if r.check == "at_turn" and (m_turn & r.bit):
                new.append((FormFault(r.code, r.cue, t_turn, r.severity, index, side), r))
            elif r.check == "over_rep" and (self.rep_or & r.bit):
                new.append((FormFault(r.code, r.cue, t_end, r.severity, index, side), r))
        faults = during + [f for f, _ in new]
        rec = RepRecord(index=index, side=side, start_s=start, end_s=t_end, eccentric_s=t_turn - start,
                        concentric_s=t_end - t_turn, measure=cfg.measure, min_value=self.vmin,
                        max_value=self.vmax, faults=tuple(faults))
        tally.reps = index
        if side == "left":
            tally.reps_left += 1
        elif side == "right":
            tally.reps_right += 1
        tally.records.append(rec)
        out.append(RepCompleted(t_end, rec))
        for f, r in new:
            tally.faults.append(f)
            self._cue(t_end, f, r.cooldown_s, out)

    def _enter(self, k: int, t_entry: float, t: float, v: float, i: int, out: list) -> None:
        cfg = self.cfg
        self.phase = k
        self.fresh = False
        self.last_change_t = t_entry
        self.resting = False
        out.append(PhaseChanged(t, cfg.phases[k], self.side))
        self.phase_entry_t = t_entry
        self.just_entered = True
        cyc = cfg.cycle
        if cyc is None:
            return
        p = self.progress
        if p >= 0 and k == cyc[p + 1]:
            p += 1
            if p == len(cyc) - 1:
                if cyc[0] != cyc[-1]:
                    # e.g. [bottom, top]: counted when the last phase is left, so that the rep's range of
                    # motion includes the whole of it (lockout), see _exit
                    self.progress = p
                    return
                self._complete_rep(t_entry, i, out)
                self._reset_rep()
                p = 0
                self._track_from_start_phase()
            self.progress = p
        elif p >= 1 and k == cyc[p]:
            pass  # back in the phase just left (a wobble at the turn): the rep goes on
        elif k == cyc[0]:
            self.progress = 0
            self._track_from_start_phase()
        elif k in cyc:
            self.progress = -1
            self._reset_rep()

    def _exit(self, t: float, v: float, out: list) -> None:
        k = self.phase
        self.phase = None
        cyc = self.cfg.cycle
        if cyc is not None and self.progress == 0 and k == cyc[0]:
            self._start_rep(t, v)
        elif self._pending_last_phase() and k == cyc[-1]:
            self._complete_rep(t, -1, out)
            self._reset_rep()
            self.progress = -1

    def _pending_last_phase(self) -> bool:
        """A cycle that does not return to its first phase has reached its last phase (rep not yet out)."""
        cyc = self.cfg.cycle
        return cyc is not None and cyc[0] != cyc[-1] and self.progress == len(cyc) - 1

    # ------------------------------------------------------------------ per frame

    def step(self, t: float, v: float, ok: bool, mask: int, i: int) -> list[Event]:
        """Advance by one frame. `i` is the frame's index (used to look up values at turning points)."""
        out: list[Event] = []
        cfg = self.cfg
        if not ok:
            if self.gap_start is None:
                self.gap_start = t if self.last_ok_t is None else self.last_ok_t
                self.gap_i = i
            self.cand = None
            if self.hold_start is not None:
                if self.hold_pause is None:
                    self.hold_pause = self.gap_start
                if t - self.hold_pause > cfg.bridge_gap_s:
                    self._close_hold(self.hold_pause, out)
            if self.measurable and t - self.gap_start >= MIN_REPORTED_GAP_S:
                self.measurable = False
                out.append(MeasurabilityChanged(t, False, self.reason(self.gap_i, i)))
            self.prev_t = t
            return out
        self.value = v
        if self.gap_start is not None:
            g = t - self.gap_start
            if g >= MIN_REPORTED_GAP_S:
                self.tally.not_measurable.append(NotMeasurable(self.gap_start, t, self.reason(self.gap_i, i)))
                if not self.measurable:
                    self.measurable = True
                    out.append(MeasurabilityChanged(t, True, ""))
            if g > cfg.max_gap_s:
                if self._pending_last_phase():
                    self._complete_rep(self.gap_start, -1, out)
                self.phase = None
                self.fresh = True
                self.progress = -1
                self._reset_rep()
            self.gap_start = None
        self.last_ok_t = t
        # phases
        ph = self.phase
        if ph is not None and (mask & self.until_bits[ph]):
            self._exit(t, v, out)
            ph = None
        if ph is None:
            cand = None
            for k, b in enumerate(self.when_bits):
                if mask & b:
                    cand = k
                    break
            if cand is None:
                self.cand = None
            else:
                if cand != self.cand:
                    self.cand = cand
                    self.cand_since = t
                if self.fresh or t - self.cand_since >= cfg.min_phase_s:
                    self._enter(cand, self.cand_since, t, v, i, out)
                    self.cand = None
        # rep tracking
        if self.tracking:
            if not v >= self.vmin:  # also true while vmin is NaN
                self.vmin, self.tmin, self.imin, self.mmin = v, t, i, mask
            if not v <= self.vmax:
                self.vmax, self.tmax, self.imax, self.mmax = v, t, i, mask
            if self.rep_start is not None:
                self.rep_or |= mask
        # frame-level form rules: a fault when a rule starts failing (in its phase, for "during")
        fr = mask & self.frame_rule_bits
        active = 0
        if fr:
            for r in cfg.rules:
                if fr & r.bit and (r.check == "always" or r.phase == self.phase):
                    active |= r.bit
            rising = active & ~self.prev_active
            if rising:
                for r in cfg.rules:
                    if rising & r.bit:
                        idx = self.tally.reps + 1 if self.rep_start is not None else None
                        f = FormFault(r.code, r.cue, t, r.severity, idx, self.side)
                        last = self.tally._cue_times.get(r.code)
                        if last is None or t - last >= r.cooldown_s:
                            self.tally.faults.append(f)
                            if idx is not None:
                                self.rep_faults.append(f)
                            self._cue(t, f, r.cooldown_s, out)
        self.prev_active = active
        # holds
        if cfg.hold_phase is not None:
            if self.phase == cfg.hold_phase and not (mask & self.hold_break_bits):
                if self.hold_start is None:
                    self.hold_start = self.phase_entry_t if self.just_entered else t
                    out.append(HoldProgress(t, self.tally.held_s, True))
                elif self.hold_pause is not None:
                    if t - self.hold_pause <= cfg.bridge_gap_s:
                        self.hold_pause = None
                    else:
                        self._close_hold(self.hold_pause, out)
                        self.hold_start = t
                        out.append(HoldProgress(t, self.tally.held_s, True))
            elif self.hold_start is not None:
                if self.hold_pause is None:
                    self.hold_pause = t
                if t - self.hold_pause > cfg.bridge_gap_s:
                    self._close_hold(self.hold_pause, out)
        # rest (inactivity)
        if cfg.rest_s is not None and not self.resting and self.last_change_t is not None \
                and t - self.last_change_t > cfg.rest_s and self.phase != cfg.hold_phase:
            self.resting = True
            out.append(PhaseChanged(t, "rest", self.side))
        self.prev_mask = mask
        self.prev_t = t
        self.just_entered = False
        return out

    def finish(self, t: float | None = None) -> list[Event]:
        """Close an open hold or not-measurable interval at time `t` (default: the last frame)."""
        out: list[Event] = []
        end = t if t is not None else (self.prev_t if self.prev_t is not None else 0.0)
        cyc = self.cfg.cycle
        if self._pending_last_phase() and self.last_ok_t is not None:
            self._complete_rep(self.last_ok_t, -1, out)
            self._reset_rep()
            self.progress = -1
        if (cyc is not None and len(cyc) >= 3 and cyc[0] == cyc[-1] and self.progress == len(cyc) - 2
                and self.phase is None and self.last_ok_t is not None
                and end - self.last_ok_t <= self.cfg.max_gap_s):
            # Past the turn and on the way back when the recording stops: the return is cut by the end,
            # not missing. Counted, ending at the last measured frame.
            self._complete_rep(self.last_ok_t, -1, out)
            self._reset_rep()
            self.progress = -1
        if self.gap_start is not None:
            if end - self.gap_start >= MIN_REPORTED_GAP_S:
                self.tally.not_measurable.append(NotMeasurable(self.gap_start, end,
                                                               self.reason(self.gap_i, -1)))
            self.gap_start = None
        if self.hold_start is not None:
            self._close_hold(self.hold_pause if self.hold_pause is not None else end, out)
        return out
