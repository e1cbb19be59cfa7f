"""A lane: the counting of the primary measure on one side of the body (or of the one value a measure has):
its adaptive range and its machine, and what a camera cut does to them.

When each side is counted (`counted_sides`: ``sides: each``, limbs that may move one at a time), a set has
two lanes and their reps meet in the set's `coach.engine.machine.rep_ledger.RepLedger`, which makes one rep of
the two sides' reps that overlap in time and keeps alternating ones apart. Otherwise it has one lane.

After a camera cut (`coach.engine.cuts`) the first value the lane measures is compared with the last one
before the cut: within `SHOT_CONTINUES` of the person's range, the same movement goes on, seen closer or
from elsewhere, and nothing is forgotten; further apart, the shot shows another moment or another view, so
the range is learned afresh and the machine forgets its phase (keeping a rep past its turning point).
"""

from __future__ import annotations

from coach.engine.adaptive_range import AdaptiveRange
from coach.engine.machine import Machine
from coach.exercise.spec import ExerciseDefinition

#: After a cut, a first value within this fraction of the range's span of the last one before it continues
#: the shot.
SHOT_CONTINUES = 0.25

_NAN = float("nan")


def counted_sides(d: ExerciseDefinition, sided_primary: bool, side_override: str | None) -> tuple:
    """The lanes of a set of `d`: ("left", "right") when each side's reps are counted (``sides: each``: a
    repetition exercise whose limbs may move one at a time, with a primary measure that has sides), else
    (None,): one lane, on the side the measure says (``side: auto``: the side that moves most)."""
    mv = d.movement
    if mv.rep and sided_primary and side_override is None and mv.credit_side is None and mv.sides == "each":
        return ("left", "right")
    return (None,)


def shot_continues(before: float, after: float, span: float) -> bool:
    """True when the first value after a cut (`after`) is within `SHOT_CONTINUES` of `span` of the last one
    before it (`before`); a value missing on either side is not continuity."""
    return abs(after - before) <= SHOT_CONTINUES * span


class Lane:
    """One side's counting. `measure(x)` per frame with the side's smoothed primary value -> (value kept,
    range low, range high); `cut()` at a camera cut."""

    __slots__ = ("side", "machine", "range", "min_span", "last_x", "after_cut", "lo", "hi", "seen_frames")

    def __init__(self, side: str | None, machine: Machine, rng: AdaptiveRange | None, min_span: float) -> None:
        self.side = side  #: "left"/"right", or None for the one lane of a set
        self.machine = machine
        self.range = rng
        self.min_span = min_span
        self.last_x = _NAN  #: the last value measured (before a cut: the last of the previous shot)
        self.after_cut = False
        self.lo = self.hi = _NAN
        self.seen_frames = 0  #: frames this lane could measure

    def cut(self) -> None:
        """A camera cut: the next value measured decides whether the shot continues."""
        self.after_cut = True

    def measure(self, x: float) -> tuple[float, float, float]:
        if self.after_cut and x == x:
            self.after_cut = False
            span = self.hi - self.lo if self.hi == self.hi else self.min_span
            if self.range is not None and not shot_continues(self.last_x, x, span):
                self.range.restart()
                self.machine.cut()
        if x == x:
            self.last_x = x
        if self.range is None:
            return x, _NAN, _NAN
        x, lo, hi = self.range.update(x)
        if lo == lo:
            self.lo, self.hi = lo, hi
        return x, lo, hi
