"""The exercise state machine, in small composed parts.

A definition compiles into a `TransitionTable` (phases with their enter/leave conditions, the rep cycle,
what entering or leaving each phase does at each step of the cycle: an explicit table that `exercises show`
prints). A `Machine` runs it frame by frame out of five parts, each one concept:

- `gaps.GapTracker` — frames that cannot be measured: not-measurable intervals, long gaps that abandon a rep;
- `phases.PhaseTracker` — entering and leaving phases (hysteresis, dwell);
- `rep_cycle.RepCycle` — the cycle of phases that makes one repetition, and each rep's extremes;
- `holds.HoldTimer` — time held in the hold phase, bridging short interruptions;
- `faults.FaultWatcher` — form rules (per frame, at the turn, over the rep) and the cues' cool-down.

It is fed one frame at a time — time, primary measure value, whether the frame is measurable, and a bitmask
of which conditions hold — so the per-frame work is a handful of integer and float operations.
"""

from coach.engine.machine.machine import Machine, Tally
from coach.engine.machine.table import TransitionTable, compile_table

__all__ = ["Machine", "Tally", "TransitionTable", "compile_table"]
