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


def fallback_range(d: ExerciseDefinition, fps: float) -> tuple[AdaptiveRange, bool] | None:
    """The adaptive range of `d`'s fallback measure, and whether its rest is at the other end than the
    primary's (its position in its range then counts from the other end); None without a fallback."""
    mv = d.movement
    if mv.fallback is None or mv.range is None:
        return None
    fb = mv.fallback
    rest = fb.rest or mv.range.rest
    return AdaptiveRange(mv.range.model_copy(update={"rest": rest, "min_span": fb.min_span}), fps), rest != mv.range.rest


def from_fallback(fx: float, flo: float, fhi: float, flip: bool, lo: float, hi: float) -> float:
    """The primary value at the same place in the primary's range (`lo`, `hi`) as the fallback value `fx` in
    its own range (`flo`, `fhi`); `flip`: the fallback's rest is at the other end."""
    pos = (fx - flo) / (fhi - flo)
    return lo + (1.0 - pos if flip else pos) * (hi - lo)


class Lane:
    """One side's counting. `measure(x, fallback)` per frame with the side's smoothed primary value (and the
    fallback measure's) -> (value kept, range low, range high, taken from the fallback); `cut()` at a
    camera cut.

    With a fallback measure (``movement.fallback``), its own range is learned all along, and when the
    primary cannot be measured but the fallback can, the value counted is the primary value at the same
    place in the primary's range (its last known one, or 0-100 before it is known): the phases' "%"
    thresholds then hold for the fallback as they do for the primary."""

    __slots__ = ("side", "machine", "range", "min_span", "last_x", "after_cut", "lo", "hi", "seen_frames",
                 "fallback", "flip", "fallback_frames")

    def __init__(self, side: str | None, machine: Machine, rng: AdaptiveRange | None, min_span: float) -> None:
        self.side = side  #: "left"/"right", or None for the one lane of a set
        self.machine = machine
        self.range = rng
        self.fallback: AdaptiveRange | None = None
        self.flip = False
        self.fallback_frames = 0  #: frames counted from the fallback measure
        self.min_span = min_span
        self.last_x = _NAN  #: the last value measured (before a cut: the last of the previous shot)
        self.after_cut = False
        self.lo = self.hi = _NAN
        self.seen_frames = 0  #: frames this lane could measure

    def cut(self) -> None:
        """A camera cut: the next value measured decides whether the shot continues."""
        self.after_cut = True

    def measure(self, x: float, fallback: float = _NAN) -> tuple[float, float, float, bool]:
        if self.after_cut and x == x:
            self.after_cut = False
            span = self.hi - self.lo if self.hi == self.hi else self.min_span
            if self.range is not None and not shot_continues(self.last_x, x, span):
                self.range.restart()
                if self.fallback is not None:
                    self.fallback.restart()
                self.machine.cut()
        if x == x:
            self.last_x = x
        if self.range is None:
            return x, _NAN, _NAN, False
        fx = flo = fhi = _NAN
        if self.fallback is not None:
            fx, flo, fhi = self.fallback.update(fallback)
        x, lo, hi = self.range.update(x)
        if lo == lo:
            self.lo, self.hi = lo, hi
        if x != x and fx == fx and flo == flo and fhi > flo:
            lo, hi = (self.lo, self.hi) if self.lo == self.lo else (0.0, 100.0)
            self.fallback_frames += 1
            return from_fallback(fx, flo, fhi, self.flip, lo, hi), lo, hi, True
        return x, lo, hi, False
