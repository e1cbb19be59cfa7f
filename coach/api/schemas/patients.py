"""The caller, patients and prescriptions as the API shows them (``db.models.Patient``, ``Prescription``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from coach.api.schemas.timestamps import Timestamp


def _name(value: Any) -> Any:
    """A patient's or therapist's row (``db.models.Patient``, ``Therapist``) by its name; None stays None."""
    return getattr(value, "name", value)


#: A person (a patient's or therapist's row, or None) written as their name.
NameOf = Annotated[str, BeforeValidator(_name)]


class MeOut(BaseModel):
    """Who the token belongs to. ``patient`` and ``therapist`` are there for a patient's token only."""

    name: str = Field(..., description="The account's name.")
    role: str = Field(..., description="`therapist` or `patient`.")
    patient: str | None = Field(None, description="A patient's token: the patient's name (null if the patient "
                                                  "is gone).")
    therapist: str | None = Field(None, description="A patient's token: their therapist's name (null if none).")


class PatientOut(BaseModel):
    """A patient with counts of their history."""

    name: str = Field(..., description="Patient name (Unicode NFKC, single spaces).")
    therapist: str | None = Field(..., description="The therapist who looks after them; null if none.")
    created_at: Timestamp = Field(..., description="When the patient was added (UTC).")
    sessions: int = Field(..., description="Sessions recorded.")
    last_session_at: Timestamp | None = Field(..., description="When the latest session started (UTC); null "
                                                               "without sessions.")
    active_prescriptions: int = Field(..., description="Prescriptions in force.")


class PrescriptionInfoOut(BaseModel):
    """An exercise prescribed, with its targets (null: the definition's own) and days
    (``db.models.Prescription``; ``coach.reports.model.PrescriptionInfo`` in the JSON report)."""

    model_config = ConfigDict(from_attributes=True)
    id: int = Field(..., description="Prescription id.")
    exercise_id: str = Field(..., description="Exercise id.")
    sets: int | None = Field(..., description="Sets per session.")
    reps: int | None = Field(..., description="Reps per set.")
    hold_s: float | None = Field(..., description="Seconds to hold (hold exercises).")
    rom_deg: float | None = Field(..., description="Range of motion to reach, degrees (or the primary measure's "
                                                   "unit).")
    per_week: int | None = Field(..., description="Sessions a week.")
    start_date: date = Field(..., description="First day (UTC), YYYY-MM-DD.")
    until_date: date | None = Field(..., description="Last day, inclusive; null: no end set.")
    active: bool = Field(..., description="In force (not ended, nor replaced by a newer one of the same exercise).")
    ended_at: Timestamp | None = Field(..., description="When it was ended or replaced; null while in force.")
    notes: str = Field(..., description="What the therapist wrote for the patient (\"\" if nothing).")


class PrescriptionOut(PrescriptionInfoOut):
    """A patient's prescription, with who prescribed it."""

    patient: NameOf = Field(..., description="Patient name.")
    therapist: NameOf | None = Field(..., description="The therapist who prescribed it; null if none.")
    created_at: Timestamp = Field(..., description="When it was made (UTC).")
