"""A definition resolved once for counting: the measures to compute (one channel per measure and side), the
conditions as bits of a per-frame mask, and the machine's `TransitionTable`."""

from __future__ import annotations

from dataclasses import dataclass

from coach.engine.machine.table import Rule, TransitionTable, compile_table
from coach.engine.measures import MeasureGeometry
from coach.errors import CoachError
from coach.exercise.expressions import Condition
from coach.exercise.spec import ExerciseDefinition

SIDES = ("left", "right")


@dataclass(frozen=True)
class Channel:
    """One measure on one side (a measure without sided parts has one channel, side "left")."""

    measure: str
    side: str
    geometry: MeasureGeometry  #: with its space resolved (2d or 3d)
    min_visibility: float


@dataclass(frozen=True)
class Compiled:
    """What counting needs from a definition."""

    definition: ExerciseDefinition
    table: TransitionTable
    conditions: tuple[tuple[int, Condition], ...]  #: (bit, condition) for every phase condition and form rule
    needed: tuple[str, ...]  #: measures that must be measurable for the machine to run
    primary: str
    channels: tuple[Channel, ...]
    channel_of: dict  #: (measure, side) -> index in `channels`
    sided: dict  #: measure -> True when it has sides

    @property
    def phases(self) -> tuple[str, ...]:
        return self.table.phases


class KeypointsMismatch(CoachError):
    """A definition that needs what the keypoints do not have (3-D world coordinates)."""


def needs_world(d: ExerciseDefinition) -> list[str]:
    """Measures of `d` that can only be taken in 3-D world coordinates (``space: 3d``)."""
    return [name for name, m in d.measures.items() if m.space == "3d"]


#: Default `hold.tolerance` of a hold on an angle or inclination, degrees.
HOLD_TOLERANCE_DEG = 8.0


def hold_tolerance(d: ExerciseDefinition) -> float | None:
    """How far from its held level the primary measure may stray while a hold is timed (the measure's unit):
    the definition's ``hold.tolerance``, else `HOLD_TOLERANCE_DEG` for measures in degrees; None (the whole
    hold phase is timed) without a hold or for other units without one."""
    hold = d.movement.hold
    if hold is None:
        return None
    if hold.tolerance is not None:
        return hold.tolerance
    return HOLD_TOLERANCE_DEG if d.measures[d.movement.measure].unit == "deg" else None


def rest_end(d: ExerciseDefinition) -> str | None:
    """Where reps start, the "high" or "low" end of the primary measure, so that a rep turns at the other
    end: ``movement.range.rest`` when a range is given, else read from the phases' thresholds
    (`ExerciseDefinition.rest_from_phases`). None when the conditions do not say: then each rep turns at the
    extreme farther from where it started."""
    mv = d.movement
    return mv.range.rest if mv.range is not None else d.rest_from_phases()


def compile_definition(d: ExerciseDefinition, *, has_world: bool = True) -> Compiled:
    """Resolve `d` for keypoints with (`has_world`) or without world coordinates. Measures with ``space:
    auto`` are taken in 3-D when world coordinates exist, else in the image; ``space: 3d`` on keypoints
    without them is refused up front (`KeypointsMismatch`), never counted as "not measurable"."""
    if not has_world:
        strict = needs_world(d)
        if strict:
            raise KeypointsMismatch(
                f"'{d.id}' measures {', '.join(strict)} in 3-D world coordinates (space: 3d), but these keypoints "
                f"are 2-D only (no world landmarks, as from a COCO-17 model); use keypoints from MediaPipe, or a "
                f"definition whose measures say space: 2d or space: auto")
    mv = d.movement
    phases = tuple(mv.phases)
    conds: list[tuple[int, Condition]] = []
    needed = {mv.measure}
    when_text, until_text = [], []
    for k, p in enumerate(phases):
        w = d.condition(f"phase:{p}:when")
        u = d.condition(f"phase:{p}:until")
        conds.append((1 << (2 * k), w))
        conds.append((1 << (2 * k + 1), u))
        when_text.append(w.text)
        until_text.append(u.text)
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
        rules.append(Rule(r.code, r.cue, r.severity, r.cooldown_s, kind, phase, r.breaks_hold, bit))
        conds.append((bit, d.condition(f"form:{i}")))
    table = compile_table(
        phases=phases, when_text=tuple(when_text), until_text=tuple(until_text),
        cycle=tuple(phases.index(p) for p in mv.rep) if mv.rep else None, rules=tuple(rules), measure=mv.measure,
        hold_phase=phases.index(mv.hold.phase) if mv.hold else None, min_phase_s=mv.min_phase_s,
        max_gap_s=mv.max_gap_s, min_rep_s=mv.min_rep_s, max_rep_s=mv.max_rep_s,
        hold_min_s=mv.hold.min_s if mv.hold else 0.0, bridge_gap_s=mv.hold.bridge_gap_s if mv.hold else 0.0,
        hold_tolerance=hold_tolerance(d), rest=rest_end(d), rest_s=mv.rest_s)
    channels: list[Channel] = []
    channel_of: dict = {}
    sided: dict = {}
    each_side = bool(mv.rep) and mv.credit_side is None and mv.sides == "each"
    for name, m in d.measures.items():
        space = "3d" if m.space == "3d" or (m.space == "auto" and has_world) else "2d"
        g = MeasureGeometry(kind=m.kind, parts=m.parts, space=space, reference=m.from_, axis=m.axis, per=m.per)
        mvis = m.min_visibility if m.min_visibility is not None else d.min_visibility
        if name == mv.measure and each_side and g.sided:  # each side counted: a far limb still counts
            mvis = min(mvis, mv.count_visibility)
        sided[name] = g.sided
        for side in (SIDES if g.sided else ("left",)):
            channel_of[(name, side)] = len(channels)
            channels.append(Channel(name, side, g, mvis))
    return Compiled(d, table, tuple(conds), tuple(sorted(needed)), mv.measure, tuple(channels), channel_of, sided)
