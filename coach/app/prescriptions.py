"""Prescriptions: the exercises a therapist assigns to a patient, with the targets a workout uses by default.

A patient has at most one active prescription per exercise: assigning the same exercise again ends the old
one (kept for the history) and starts a new one with the targets given, the old one's for those not given. Targets not given are taken from the exercise
definition's own, so a prescription always says what the patient was asked to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

from sqlalchemy.orm import Session

from coach.errors import CoachError
from db.models import Prescription, utc_now
from db.patients import get_or_create_patient, get_patient
from db.prescriptions import patient_prescriptions, prescription_for


def describe(rx, *, with_start: bool = False) -> str:
    """A prescription's targets in words, e.g. "3 sets, 10 reps, 3 sessions a week, until 2026-03-31".

    `rx` is anything with sets, reps, hold_s, rom_deg, per_week, start_date and until_date (a
    `db.models.Prescription` or the report's `PrescriptionInfo`).
    """
    parts = []
    if rx.sets:
        parts.append(f"{rx.sets} sets")
    if rx.reps:
        parts.append(f"{rx.reps} reps")
    if rx.hold_s:
        parts.append(f"hold {rx.hold_s:g} s")
    if rx.rom_deg:
        parts.append(f"range of motion {rx.rom_deg:g}°")
    if rx.per_week:
        parts.append(f"{rx.per_week} sessions a week")
    if with_start and rx.start_date:
        parts.append(f"from {rx.start_date.isoformat()}")
    if rx.until_date:
        parts.append(f"until {rx.until_date.isoformat()}")
    return ", ".join(parts) or "the exercise's own targets"


@dataclass(frozen=True)
class Targets:
    """What one workout of a prescription aims at (None: not set)."""

    sets: int | None
    reps: int | None
    hold_s: float | None
    rom_deg: float | None


def assign(
    db: Session,
    patient: str,
    exercise_id: str,
    *,
    reps: int | None = None,
    sets: int | None = None,
    hold_s: float | None = None,
    rom_deg: float | None = None,
    per_week: int | None = None,
    until: date | None = None,
    start: date | None = None,
    notes: str = "",
    exercise_dirs: Iterable = (),
) -> tuple[Prescription, Prescription | None]:
    """Assign an exercise (added to ``db``, not committed). Returns (new prescription, the one it replaced).

    An unknown exercise id raises ``DefinitionError`` with the closest ids.
    """
    from coach.exercise.library import get_definition

    definition = get_definition(exercise_id, extra_dirs=exercise_dirs)
    start = start or utc_now().date()
    if until is not None and until < start:
        raise CoachError(f"--until {until.isoformat()} is before the prescription starts ({start.isoformat()}).")
    for label, value in (("--reps", reps), ("--sets", sets), ("--per-week", per_week)):
        if value is not None and value < 1:
            raise CoachError(f"{label} must be at least 1, got {value}.")
    for label, value in (("--hold-s", hold_s), ("--rom-deg", rom_deg)):
        if value is not None and value <= 0:
            raise CoachError(f"{label} must be positive, got {value}.")
    t = definition.targets
    is_hold = bool(getattr(t, "hold_s", None)) and not t.reps
    p = get_or_create_patient(db, patient)
    old = prescription_for(db, p.name, definition.id)
    if old is not None:
        old.active = False
        old.ended_at = utc_now()
    def pick(given, name, default):
        """Given, else what the replaced prescription said, else the definition's target."""
        if given is not None:
            return given
        if old is not None and getattr(old, name) is not None:
            return getattr(old, name)
        return default

    rx = Prescription(
        patient_id=p.id,
        exercise_id=definition.id,
        reps=pick(reps, "reps", None if is_hold else t.reps),
        sets=pick(sets, "sets", t.sets),
        hold_s=pick(hold_s, "hold_s", t.hold_s),
        rom_deg=pick(rom_deg, "rom_deg", t.rom_deg),
        per_week=pick(per_week, "per_week", None),
        start_date=start,
        until_date=pick(until, "until_date", None),
        notes=notes or (old.notes if old is not None else ""),
        active=True,
    )
    db.add(rx)
    db.flush()
    return rx, old


def end(db: Session, patient: str, exercise_id: str) -> Prescription:
    """End the patient's active prescription of an exercise (not committed)."""
    p = get_patient(db, patient)
    rx = prescription_for(db, p.name, exercise_id)
    if rx is None:
        active = [r.exercise_id for r in patient_prescriptions(db, p.name, include_ended=False)]
        hint = f" Active: {', '.join(active)}." if active else " They have no active prescriptions."
        raise CoachError(f"{p.name} has no active prescription of {exercise_id!r}.{hint}")
    rx.active = False
    rx.ended_at = utc_now()
    db.flush()
    return rx


def targets_for_workout(db: Session, patient: str, exercise_id: str, on: date | None = None
                        ) -> tuple[Prescription | None, Targets | None]:
    """The active prescription a workout of this exercise follows today, and its targets (or None, None)."""
    rx = prescription_for(db, patient, exercise_id, on or utc_now().date())
    if rx is None:
        return None, None
    return rx, Targets(sets=rx.sets, reps=rx.reps, hold_s=rx.hold_s, rom_deg=rx.rom_deg)


def workout_targets(db_path, patient: str, exercise_id: str) -> tuple[int | None, Targets | None]:
    """For ``coach workout``: (prescription id, targets) of the patient's active prescription of the
    exercise in the database file ``db_path``, or (None, None) when there is none (or no database yet)."""
    from db.engine import close_database, history_exists, open_database

    if not patient.strip() or not history_exists(db_path):
        return None, None
    sm = open_database(db_path)
    try:
        with sm() as db:
            rx, targets = targets_for_workout(db, patient, exercise_id)
            return (rx.id if rx is not None else None), targets
    finally:
        close_database(sm)
