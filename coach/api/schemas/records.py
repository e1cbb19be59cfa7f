"""What the counting engine records, as the API shows it: a rep, a form fault, a hold, an interval not
measurable. The keys are those of the ``to_dict()`` of ``coach.engine.events``' records, so a session read
from the history (ORM rows: ``db.models.Rep``, ``FormEvent``, ``Hold``, ``NotMeasurableInterval``) and a
workout's result (``coach workout --json``, a job's ``result``) have one shape.

Times are seconds of the source's own clock (the video's or the camera's timestamps, from its start);
values of a measure are in its unit: degrees for angles, e.g. torso lengths for distances.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FormFaultOut(BaseModel):
    """A form rule that failed (``coach.engine.events.FormFault``): a code for machines, a cue for the person."""

    model_config = ConfigDict(from_attributes=True)
    code: str = Field(..., description="The fault code of the exercise definition, e.g. `shallow`.")
    cue: str = Field(..., description="What the person was told, e.g. \"Sit a little deeper\".")
    time_s: float = Field(..., description="When it was detected, source seconds.")
    severity: str = Field(..., description="`info`, `warning` or `error`.")
    rep_index: int | None = Field(..., description="The rep it belongs to (1-based); null outside a rep.")
    side: str = Field(..., description="`left`, `right`, `both` or `none`.")
    value: float | None = Field(..., description="The value of the measure that failed the rule, in the measure's "
                                                 "unit (degrees for angles); null if none.")


class RepOut(BaseModel):
    """One counted repetition (``coach.engine.events.RepRecord``)."""

    model_config = ConfigDict(from_attributes=True)
    index: int = Field(..., description="1-based, over the whole set (all sides).")
    side: str = Field(..., description="The side that did it: `left`, `right`, or `both` for bilateral movements.")
    start_s: float = Field(..., description="Start, source seconds.")
    end_s: float = Field(..., description="End, source seconds.")
    eccentric_s: float = Field(..., description="Seconds moving away from the start position.")
    concentric_s: float = Field(..., description="Seconds moving back to the start position.")
    measure: str = Field(..., description="The primary measure of the exercise, e.g. `knee`.")
    min_value: float | None = Field(..., description="Least value of the primary measure during the rep, in its "
                                                     "unit (degrees for angles).")
    max_value: float | None = Field(..., description="Greatest value of the primary measure during the rep.")
    faults: list[FormFaultOut] = Field(..., description="The form faults flagged during the rep.")
    duration_s: float = Field(..., description="end_s - start_s, seconds.")
    range_of_motion: float | None = Field(..., description="max_value - min_value, in the measure's unit.")
    ended_early: bool = Field(False, description="The observation ended on the way back (end of the source, the "
                                                 "person lost): counted, but its end and return were not seen "
                                                 "(false in results recorded before coach kept it).")


class HoldOut(BaseModel):
    """One continuous interval in the hold position (``coach.engine.events.HoldRecord``)."""

    model_config = ConfigDict(from_attributes=True)
    start_s: float = Field(..., description="Start, source seconds.")
    end_s: float = Field(..., description="End, source seconds.")
    side: str = Field(..., description="`left`, `right` or `both`.")
    duration_s: float = Field(..., description="Seconds held.")


class NotMeasurableOut(BaseModel):
    """An interval the engine could not measure, and why (``coach.engine.events.NotMeasurable``)."""

    model_config = ConfigDict(from_attributes=True)
    start_s: float = Field(..., description="Start, source seconds.")
    end_s: float = Field(..., description="End, source seconds.")
    reason: str = Field(..., description="Why, in words, e.g. \"left_knee, left_ankle not visible\".")
    duration_s: float = Field(..., description="Seconds not measurable.")
