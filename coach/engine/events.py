"""Events and records the counting engine emits; sinks (overlay, terminal, database, JSON) consume them.

All times are source timestamps in seconds; angles in degrees; the engine never reads the wall clock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Side = Literal["left", "right", "both", "none"]
Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class FormFault:
    """A form rule that failed: a code for machines, a cue for the person."""

    code: str  #: stable identifier from the definition, e.g. "shallow"
    cue: str  #: short instruction for the person, e.g. "Sit a little deeper"
    time_s: float  #: source time the fault was detected
    severity: Severity = "warning"
    rep_index: int | None = None  #: rep it belongs to (1-based), None when outside a rep
    side: Side = "none"
    value: float | None = None  #: value of the measure that failed the rule

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RepRecord:
    """One counted repetition."""

    index: int  #: 1-based, over the whole set (all sides)
    side: Side  #: side that did it ("both" for bilateral movements)
    start_s: float
    end_s: float
    eccentric_s: float  #: time spent moving away from the start position
    concentric_s: float  #: time spent moving back to the start position
    measure: str  #: name of the primary measure
    min_value: float  #: minimum of the primary measure during the rep (deg or the measure's unit)
    max_value: float
    faults: tuple[FormFault, ...] = field(default_factory=tuple)
    #: observation ended (end of the source, a fade, the person lost for good) after the turning point, on the
    #: way back: counted, but its end and return are not seen
    ended_early: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def range_of_motion(self) -> float:
        """max - min of the primary measure during the rep."""
        return self.max_value - self.min_value

    def to_dict(self) -> dict:
        d = asdict(self)
        d["duration_s"] = self.duration_s
        d["range_of_motion"] = self.range_of_motion
        d["faults"] = [f.to_dict() for f in self.faults]
        return d


@dataclass(frozen=True)
class _Interval:
    """An interval of the source's time, seconds."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        d = asdict(self)
        d["duration_s"] = self.duration_s
        return d


@dataclass(frozen=True)
class HoldRecord(_Interval):
    """One continuous interval in the hold position (plank, wall sit)."""

    side: Side = "both"


@dataclass(frozen=True)
class NotMeasurable(_Interval):
    """An interval the engine could not measure, with the reason (landmarks unseen, wrong view)."""

    reason: str  #: e.g. "left_knee, left_ankle not visible" or "needs a side view"


# Per-frame events, for live sinks (overlay, terminal panel, WebSocket).

@dataclass(frozen=True)
class PhaseChanged:
    time_s: float
    phase: str
    side: Side = "none"


@dataclass(frozen=True)
class RepCompleted:
    time_s: float
    rep: RepRecord


@dataclass(frozen=True)
class FaultRaised:
    time_s: float
    fault: FormFault


@dataclass(frozen=True)
class HoldProgress:
    time_s: float
    held_s: float  #: total seconds held so far in this set
    holding: bool


@dataclass(frozen=True)
class MeasurabilityChanged:
    time_s: float
    measurable: bool
    reason: str = ""


Event = PhaseChanged | RepCompleted | FaultRaised | HoldProgress | MeasurabilityChanged
