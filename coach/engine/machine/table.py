"""The transition table a definition compiles into: what entering or leaving each phase does at each step
of the rep cycle. The `Machine` looks its moves up here; `exercises show` prints it (`TransitionTable.rows`).

Steps of a cycle ``[p0, p1, ..., pn]``: step -1 is "no rep in progress"; step 0 is "in (or just left) the
start phase p0"; step k is "reached p_k". Entering the next phase of the cycle advances a step; entering the
last one counts the rep (a cycle that ends where it starts, [up, down, up]) or waits for that phase to be
left (an open cycle, [bottom, top], so the rep's range includes the whole lockout). Entering p0 again
restarts the cycle (a half rep is not counted); entering another phase of the cycle out of order abandons
the rep; going back into the phase just left (a wobble at the turn) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

#: What entering a phase does (see the module docstring).
ADVANCE, COUNT, PENDING, STAY, RESTART, ABANDON, NOTHING = (
    "advance", "count", "pending", "stay", "restart", "abandon", "nothing")
#: What leaving a phase does.
START_REP, COUNT_ON_EXIT = "start_rep", "count_on_exit"


@dataclass(frozen=True)
class Rule:
    """A form rule, compiled: its condition is bit `bit` of the frame's mask."""

    code: str
    cue: str
    severity: str
    cooldown_s: float
    check: str  #: always | at_turn | over_rep | during
    phase: int | None  #: phase index for "during"
    breaks_hold: bool
    bit: int


@dataclass(frozen=True)
class Row:
    """One printable line of the table."""

    step: str
    event: str
    condition: str
    effect: str


@dataclass(frozen=True)
class TransitionTable:
    """Everything the machine needs of a definition, resolved once (phase indices, condition bits, moves)."""

    phases: tuple[str, ...]
    when_text: tuple[str, ...]  #: condition to enter each phase
    until_text: tuple[str, ...]  #: condition to leave it
    cycle: tuple[int, ...] | None  #: phase indices of one rep, or None (holds only)
    hold_phase: int | None
    min_phase_s: float
    max_gap_s: float
    min_rep_s: float
    max_rep_s: float | None
    hold_min_s: float
    bridge_gap_s: float
    hold_tolerance: float | None  #: a hold is timed only near its held level (None: the whole phase)
    rules: tuple[Rule, ...]
    measure: str  #: the primary measure
    rest: str | None  #: "high"/"low" end where reps start, or None (inferred per rep)
    rest_s: float | None
    enter: dict  #: (step, phase) -> (new step, effect)
    exit: dict  #: (step, phase) -> effect

    @property
    def when_bits(self) -> tuple[int, ...]:
        return tuple(1 << (2 * k) for k in range(len(self.phases)))

    @property
    def until_bits(self) -> tuple[int, ...]:
        return tuple(1 << (2 * k + 1) for k in range(len(self.phases)))

    @property
    def open_cycle(self) -> bool:
        """True for a cycle that does not return to its first phase ([bottom, top])."""
        return self.cycle is not None and self.cycle[0] != self.cycle[-1]

    def rows(self) -> list[Row]:
        """The moves along one repetition, then the exceptions, as printable rows."""
        out: list[Row] = []
        dwell = f" for {self.min_phase_s:.2f} s" if self.min_phase_s > 0 else ""
        if self.cycle is None:
            for k, name in enumerate(self.phases):
                hold = " (time held counts)" if k == self.hold_phase else ""
                out.append(Row("any", f"enter {name}", self.when_text[k] + dwell, f"in {name}{hold}"))
                out.append(Row(f"in {name}", f"leave {name}", self.until_text[k], "moving"))
            return out
        cyc = self.cycle
        names = [self.phases[k] for k in cyc]
        for step, k in enumerate(cyc):
            label = "no rep yet" if step == 0 else f"step {step - 1}"
            new_step, effect = self.enter[(step - 1 if step else -1, k)]
            text = {ADVANCE: f"reached {names[step]}" + (" (turning point)" if step == 1 else ""),
                    COUNT: "rep counted; ready for the next", PENDING: "rep counted when it is left",
                    RESTART: "ready: the rep's extremes are tracked from here", STAY: "", ABANDON: "",
                    NOTHING: ""}[effect]
            out.append(Row(label, f"enter {names[step]}", self.when_text[k] + dwell, text))
            leave = self.exit.get((new_step, k))
            if leave == START_REP:
                out.append(Row(f"step {new_step}", f"leave {names[step]}", self.until_text[k],
                               "rep starts (time and value taken)"))
            elif leave == COUNT_ON_EXIT:
                out.append(Row(f"step {new_step}", f"leave {names[step]}", self.until_text[k], "rep counted"))
            elif step < len(cyc) - 1:
                out.append(Row(f"step {new_step}", f"leave {names[step]}", self.until_text[k], "moving on"))
        out.append(Row("any step", "enter the start phase again", "", "cycle restarts (a half rep is not counted)"))
        out.append(Row("any step", "enter a phase of the cycle out of order", "", "rep abandoned"))
        out.append(Row("any step", f"not measurable for more than {self.max_gap_s:g} s", "",
                       "rep abandoned (counted if on its way back); the next phase is entered without dwell"))
        if len(cyc) >= 3 and not self.open_cycle:
            out.append(Row(f"step {len(cyc) - 2}", "observation ends on the way back", "",
                           "rep counted, flagged ended early (its return is cut by the end, a fade or a loss)"))
        if self.min_rep_s > 0 or self.max_rep_s is not None:
            span = f"{self.min_rep_s:g} s" + (f" to {self.max_rep_s:g} s" if self.max_rep_s is not None else " or more")
            out.append(Row("counting", "a rep lasting outside " + span, "", "not counted"))
        return out

    def __str__(self) -> str:
        rows = self.rows()
        widths = [max(len(getattr(r, f)) for r in rows + [Row("step", "event", "condition", "effect")])
                  for f in ("step", "event", "condition", "effect")]
        lines = []
        for r in [Row("step", "event", "condition", "effect")] + rows:
            lines.append("  ".join(getattr(r, f).ljust(w) for f, w in zip(("step", "event", "condition", "effect"),
                                                                            widths)).rstrip())
        return "\n".join(lines)


def _moves(cycle: tuple[int, ...] | None, n_phases: int) -> tuple[dict, dict]:
    """The enter and exit moves of a cycle, for every step and phase (see the module docstring)."""
    enter: dict = {}
    exit_: dict = {}
    if cycle is None:
        return enter, exit_
    last = len(cycle) - 1
    closed = cycle[0] == cycle[-1]
    for step in range(-1, len(cycle)):
        for k in range(n_phases):
            if step >= 0 and step + 1 <= last and k == cycle[step + 1]:
                nxt = step + 1
                if nxt == last:
                    enter[(step, k)] = (0, COUNT) if closed else (nxt, PENDING)
                else:
                    enter[(step, k)] = (nxt, ADVANCE)
            elif step >= 1 and k == cycle[step]:
                enter[(step, k)] = (step, STAY)
            elif k == cycle[0]:
                enter[(step, k)] = (0, RESTART)
            elif k in cycle:
                enter[(step, k)] = (-1, ABANDON)
            else:
                enter[(step, k)] = (step, NOTHING)
            if step == 0 and k == cycle[0]:
                exit_[(step, k)] = START_REP
            elif not closed and step == last and k == cycle[-1]:
                exit_[(step, k)] = COUNT_ON_EXIT
    return enter, exit_


def compile_table(*, phases: tuple[str, ...], when_text: tuple[str, ...], until_text: tuple[str, ...],
                  cycle: tuple[int, ...] | None, rules: tuple[Rule, ...], measure: str, hold_phase: int | None = None,
                  min_phase_s: float = 0.1, max_gap_s: float = 4.0, min_rep_s: float = 0.0,
                  max_rep_s: float | None = None, hold_min_s: float = 0.0, bridge_gap_s: float = 0.0,
                  hold_tolerance: float | None = None, rest: str | None = None,
                  rest_s: float | None = None) -> TransitionTable:
    """Build the table; the moves are derived from the cycle."""
    enter, exit_ = _moves(cycle, len(phases))
    return TransitionTable(phases, when_text, until_text, cycle, hold_phase, min_phase_s, max_gap_s, min_rep_s,
                           max_rep_s, hold_min_s, bridge_gap_s, hold_tolerance, rules,
                           measure, rest, rest_s, enter, exit_)
