"""A patient's prescriptions: the active ones, all of them, the one for an exercise.

All functions take an open ORM ``Session``; an unknown patient raises :class:`~db.errors.NotFound`
(except in :func:`prescription_for`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Patient, Prescription
from db.patients import get_patient


def active_prescriptions(db: Session, patient: str, on: date | None = None) -> list[Prescription]:
    """The patient's active prescriptions (on date ``on``, if given: started and not past ``until``)."""
    p = get_patient(db, patient)
    q = select(Prescription).where(Prescription.patient_id == p.id, Prescription.active.is_(True))
    if on is not None:
        q = q.where(
            Prescription.start_date <= on,
            (Prescription.until_date.is_(None)) | (Prescription.until_date >= on),
        )
    return list(db.scalars(q.order_by(Prescription.exercise_id, Prescription.id)))


def patient_prescriptions(db: Session, patient: str, *, include_ended: bool = True) -> list[Prescription]:
    """All of the patient's prescriptions (active first, then ended), by exercise and start."""
    p = get_patient(db, patient)
    q = select(Prescription).where(Prescription.patient_id == p.id)
    if not include_ended:
        q = q.where(Prescription.active.is_(True))
    return list(db.scalars(q.order_by(Prescription.active.desc(), Prescription.exercise_id,
                                      Prescription.start_date, Prescription.id)))


def prescription_for(db: Session, patient: str, exercise_id: str, on: date | None = None) -> Prescription | None:
    """The patient's active prescription of one exercise (on date ``on``, if given), or None.

    An unknown patient has none (no NotFound): a first workout creates the patient.
    """
    p = db.scalars(select(Patient).where(Patient.name == patient.strip())).one_or_none()
    if p is None:
        return None
    q = select(Prescription).where(
        Prescription.patient_id == p.id,
        Prescription.exercise_id == exercise_id,
        Prescription.active.is_(True),
    )
    if on is not None:
        q = q.where(
            Prescription.start_date <= on,
            (Prescription.until_date.is_(None)) | (Prescription.until_date >= on),
        )
    return db.scalars(q.order_by(Prescription.id.desc()).limit(1)).one_or_none()
