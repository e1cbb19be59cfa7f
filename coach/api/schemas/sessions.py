"""Sessions as the API shows them: the list with per-session totals, and one session with its sets, reps,
faults, holds, intervals not measurable, angle series and notes — what ``coach sessions show --json``
prints too (:func:`session_detail`).

Built from the history's rows (``db.sessions``: ``SessionSummary``, ``get_session``); reps, faults, holds
and intervals are the records of ``coach.api.schemas.records``. ``_s`` fields are source seconds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, computed_field, field_validator, model_validator
from sqlalchemy.orm import Session

from coach.api.schemas.patients import NameOf
from coach.api.schemas.records import FormFaultOut, HoldOut, NotMeasurableOut, RepOut
from coach.api.schemas.timestamps import Timestamp


class _SessionOut(BaseModel):
    """What a session is: whose, which exercise, what was watched, when."""

    model_config = ConfigDict(from_attributes=True)
    id: int = Field(..., description="Session id.")
    patient: NameOf = Field(..., description="Patient name.")
    exercise_id: str = Field(..., description="Exercise id.")
    definition_version: str = Field(..., description="Version of the exercise definition used.")
    source: str = Field(..., description="What was watched: `camera 0`, a file, `upload: NAME` (an analysis "
                                         "job), `live (browser camera)`...")
    started_at: Timestamp = Field(..., description="When it started (UTC).")
    ended_at: Timestamp | None = Field(..., description="When it ended; null while recording, or if the program "
                                                        "was killed.")
    end_reason: str | None = Field(..., description="Why it ended: `completed`, `source ended`, `interrupted`, "
                                                    "`camera lost`, `error`...; null while recording.")


class SessionSummaryOut(_SessionOut):
    """One session with its totals (``db.sessions.SessionSummary``)."""

    n_sets: int = Field(..., description="Sets.")
    n_reps: int = Field(..., description="Reps counted, all sets.")
    target_reps: int | None = Field(..., description="Reps the sets were to reach (sum over the sets that had a "
                                                     "target); null if none had one.")
    n_faults: int = Field(..., description="Form faults flagged.")
    hold_s: float = Field(..., description="Seconds held (hold exercises).")
    not_measurable_s: float = Field(..., description="Seconds that could not be measured.")
    mean_range_of_motion: float | None = Field(..., description="Mean range of motion of the reps, in the primary "
                                                                "measure's unit (degrees for angles); null without "
                                                                "reps.")


class AngleSeriesOut(BaseModel):
    """A measure's values over a set, stored for charts (at most a few samples a second)."""

    model_config = ConfigDict(from_attributes=True)
    measure: str = Field(..., description="The measure, e.g. `knee`.")
    n_samples: int = Field(..., description="Samples stored.")
    times_s: list[float] | None = Field(None, description="Sample times, source seconds (only with `series=true`).")
    values: list[float | None] | None = Field(None, description="Values at those times, in the measure's unit "
                                                                "(degrees for angles); null: not measured (only with "
                                                                "`series=true`).")

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, row: Any, info: ValidationInfo) -> Any:
        """A ``db.models.AngleSeries`` row; its arrays only when the context asks for ``series``."""
        if isinstance(row, dict):
            return row
        out: dict[str, Any] = {"measure": row.measure, "n_samples": row.n_samples}
        if (info.context or {}).get("series"):
            t, v = row.arrays()
            out["times_s"] = [float(x) for x in t]
            out["values"] = [None if x != x else float(x) for x in v]
        return out


class SetOut(BaseModel):
    """One set of a session (``db.models.WorkoutSet``)."""

    model_config = ConfigDict(from_attributes=True)
    index: int = Field(..., description="1-based within the session.")
    target_reps: int | None = Field(..., description="Reps the set was to reach; null: no target.")
    target_hold_s: float | None = Field(..., description="Seconds the set was to hold; null: no target.")
    started_s: float | None = Field(..., description="Start, source seconds.")
    ended_s: float | None = Field(..., description="End, source seconds.")
    ended_reason: str | None = Field(..., description="Why the set ended, e.g. `completed`, `source ended`.")
    reps: list[RepOut] = Field(..., description="The reps counted, in order, each with its form faults.")
    faults_outside_reps: list[FormFaultOut] = Field(..., validation_alias="form_events",
                                                    description="Form faults flagged outside any rep.")
    holds: list[HoldOut] = Field(..., description="Intervals held.")
    not_measurable: list[NotMeasurableOut] = Field(..., description="Intervals not measurable, and why.")
    angle_series: list[AngleSeriesOut] = Field(..., description="The measures stored for charts.")

    @field_validator("faults_outside_reps", mode="before")
    @classmethod
    def _outside_reps(cls, events: Any) -> Any:
        """Of the set's form events, those of no rep (a rep's own are in its ``faults``)."""
        return [f for f in events if getattr(f, "rep_id", None) is None]


class NoteOut(BaseModel):
    """How a session felt, as the patient said (``db.models.SessionNote``)."""

    model_config = ConfigDict(from_attributes=True)
    pain_0_10: int | None = Field(..., description="Pain during the session, 0 (none) to 10.")
    effort_rpe_0_10: int | None = Field(..., description="Perceived effort (RPE), 0 to 10.")
    text: str = Field(..., description="Anything else the patient said (\"\" if nothing).")
    created_at: Timestamp = Field(..., description="When it was written (UTC).")


class NoteAddedOut(NoteOut):
    """A note just added to a session."""

    id: int = Field(..., description="Note id.")
    session_id: int = Field(..., description="The session it is about.")


class SessionTotalsOut(BaseModel):
    sets: int = Field(..., description="Sets.")
    reps: int = Field(..., description="Reps counted.")
    faults: int = Field(..., description="Form faults flagged, in and outside reps.")
    hold_s: float = Field(..., description="Seconds held.")
    not_measurable_s: float = Field(..., description="Seconds not measurable.")


class SessionOut(_SessionOut):
    """One session with everything recorded (``db.sessions.get_session``)."""

    definition_hash: str = Field(..., description="Content hash of the exercise definition used (so an old session "
                                                  "stays interpretable after the definition changes).")
    sets: list[SetOut] = Field(..., description="The sets, in order.")
    notes: list[NoteOut] = Field(..., description="How it felt, as the patient said, oldest first.")

    @computed_field(description="Totals over the sets.")
    @property
    def totals(self) -> SessionTotalsOut:
        hold_s = nm_s = 0.0
        for st in self.sets:
            hold_s += sum(h.duration_s for h in st.holds)
            nm_s += sum(n.duration_s for n in st.not_measurable)
        return SessionTotalsOut(
            sets=len(self.sets), reps=sum(len(st.reps) for st in self.sets),
            faults=sum(len(st.faults_outside_reps) + sum(len(r.faults) for r in st.reps) for st in self.sets),
            hold_s=hold_s, not_measurable_s=nm_s)

    @classmethod
    def of(cls, db: Session, session_id: int, *, with_series: bool = False) -> "SessionOut":
        """Session ``session_id`` (``db.errors.NotFound`` if there is none); ``with_series`` adds each angle
        series' times and values."""
        from db.sessions import get_session

        return cls.model_validate(get_session(db, session_id), context={"series": with_series})


def session_detail(db: Session, session_id: int, *, with_series: bool = False) -> dict[str, Any]:
    """Session ``session_id`` as JSON-ready data: what ``GET /api/sessions/{id}`` answers and
    ``coach sessions show --json`` prints (the angle series' ``times_s`` and ``values`` only
    ``with_series``)."""
    return SessionOut.of(db, session_id, with_series=with_series).model_dump(mode="json", exclude_unset=True)
