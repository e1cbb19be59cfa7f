"""The result of a workout, as ``coach workout --json`` prints it (``coach.app.workout.WorkoutSummary.
to_dict``, each set's ``coach.engine.result.CountResult.to_dict``): an analysis job's ``result``.

Its reps, faults, holds and intervals not measurable are the records of ``coach.api.schemas.records``.
Seconds (``_s``) are source seconds.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from coach.api.schemas.records import FormFaultOut, HoldOut, NotMeasurableOut, RepOut


class RepsPerSideOut(BaseModel):
    left: int = Field(..., description="Reps credited to the left side (exercises done one side at a time).")
    right: int = Field(..., description="Reps credited to the right side.")


class WarningOut(BaseModel):
    """Why a count could be wrong (``coach.engine.caveats``)."""

    code: str = Field(..., description="A stable code, e.g. `side_switch`.")
    message: str = Field(..., description="What could be wrong, in one sentence.")
    time_s: float | None = Field(..., description="The source time it concerns; null for the whole set.")


class _Counted(BaseModel):
    """What the counting of a set, or of a whole workout, gives."""

    exercise: str = Field(..., description="Exercise id.")
    reps: int = Field(..., description="Reps counted.")
    reps_per_side: RepsPerSideOut = Field(..., description="Reps per side, for exercises done one side at a time "
                                                           "(both 0 for bilateral ones).")
    hold_s: float = Field(..., description="Seconds held (hold exercises).")
    reps_records: list[RepOut] = Field(..., description="Every rep counted, in order.")
    holds: list[HoldOut] = Field(..., description="Every interval held.")
    faults: list[FormFaultOut] = Field(..., description="Every form fault flagged, in or outside reps.")
    not_measurable_s: float = Field(..., description="Seconds that could not be measured.")
    not_measurable: list[NotMeasurableOut] = Field(..., description="The intervals not measurable, and why.")


class SetResultOut(_Counted):
    """One set of a workout."""

    index: int = Field(..., description="1-based.")
    target_reps: int | None = Field(..., description="Reps the set was to reach; null: until the source ended.")
    ended_reason: str = Field(..., description="Why the set ended, e.g. `completed`, `source ended`.")
    side: str = Field(..., description="The side the measures were taken on: `left`, `right`, `both` or `none`.")
    warnings: list[WarningOut] = Field([], description="Why the count could be wrong (none recorded by coach "
                                                       "versions before it said so).")
    definition_hash: str = Field(..., description="Content hash of the exercise definition used.")


class WorkoutResultOut(_Counted):
    """A workout: totals over its sets, then each set (what ``coach workout --json`` prints)."""

    source: str = Field(..., description="What was analysed, e.g. `upload: squat.mp4`.")
    session_id: int | None = Field(..., description="The session kept in the history; null if none was kept.")
    ended_reason: str = Field(..., description="Why the workout ended: `completed`, `source ended`, `interrupted`, "
                                               "`camera lost`, `error`, ...")
    sets: list[SetResultOut] = Field(..., description="Each set, in order.")
