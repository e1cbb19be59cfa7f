"""What counting a set gives: `CountResult` (reps, holds, faults, what could not be measured) and its
per-frame `Trace` (for plots and the session's stored angle series)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach.engine.events import FormFault, HoldRecord, NotMeasurable, RepRecord


@dataclass
class Trace:
    """Per frame of the set: times (s), the phase (name, "" between phases), every measure's smoothed value
    on the side followed, and the primary measure as the counter used it (after the adaptive range dropped
    implausible and settling values) with the range's low and high ends (NaN without a range).
    Arrays all have one value per frame."""

    times_s: np.ndarray
    phase: np.ndarray  #: object array of phase names
    values: dict[str, np.ndarray]  #: measure name -> (T,) value on the side followed (its unit)
    primary: str
    counted: np.ndarray  #: (T,) the primary measure as counted
    range_lo: np.ndarray
    range_hi: np.ndarray
    side: str  #: the side the primary measure was mostly taken on (left/right/both/none)
    per_side: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  #: sided measure -> side -> (T,)

    @classmethod
    def empty(cls, primary: str, side: str = "none") -> "Trace":
        e = np.zeros(0)
        return cls(e, np.zeros(0, dtype=object), {}, primary, e, e, e, side)


@dataclass
class CountResult:
    """The result of counting one set (`coach.count`, `Counter.result`). Times are source seconds."""

    exercise: str
    reps: int
    reps_left: int
    reps_right: int
    hold_s: float
    rep_records: list[RepRecord]
    holds: list[HoldRecord]
    faults: list[FormFault]
    not_measurable: list[NotMeasurable]
    trace: Trace
    side: str = "none"  #: side the measures were taken on (auto resolves to left/right)
    definition_hash: str = ""
    #: why the count could be wrong (`coach.engine.caveats`): dicts of code, message, time_s
    warnings: list[dict] = field(default_factory=list)

    @property
    def not_measurable_s(self) -> float:
        """Seconds not measurable in all."""
        return float(sum(n.duration_s for n in self.not_measurable))

    def to_dict(self) -> dict:
        """Machine-readable form (what `workout --json` prints per set)."""
        return {
            "exercise": self.exercise,
            "reps": self.reps,
            "reps_per_side": {"left": self.reps_left, "right": self.reps_right},
            "hold_s": round(self.hold_s, 3),
            "side": self.side,
            "reps_records": [r.to_dict() for r in self.rep_records],
            "holds": [h.to_dict() for h in self.holds],
            "faults": [f.to_dict() for f in self.faults],
            "not_measurable_s": round(self.not_measurable_s, 3),
            "not_measurable": [n.to_dict() for n in self.not_measurable],
            "warnings": list(self.warnings),
            "definition_hash": self.definition_hash,
        }


def merge_intervals(items: list[NotMeasurable]) -> list[NotMeasurable]:
    """Sorted not-measurable intervals with overlapping ones joined (two sides counted apart)."""
    out: list[NotMeasurable] = []
    for it in sorted(items, key=lambda x: x.start_s):
        if out and it.start_s <= out[-1].end_s:
            last = out[-1]
            out[-1] = NotMeasurable(last.start_s, max(last.end_s, it.end_s), last.reason)
        else:
            out.append(it)
    return out


def not_measurable_by_all(per_machine: list[list[NotMeasurable]]) -> list[NotMeasurable]:
    """Where none of a set's machines could measure: the intersection of their (merged) intervals; a part
    keeps the reason of the first machine's interval it lies in. One machine: its intervals."""
    parts = [merge_intervals(x) for x in per_machine]
    if not parts:
        return []
    out = parts[0]
    for other in parts[1:]:
        both = []
        for a in out:
            for b in other:
                start, end = max(a.start_s, b.start_s), min(a.end_s, b.end_s)
                if end > start:
                    both.append(NotMeasurable(start, end, a.reason))
        out = both
    return out
