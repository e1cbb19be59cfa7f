"""Patients: look one up by name (:class:`~db.errors.NotFound` if unknown), list them, add one.

All functions take an open ORM ``Session`` (``with open_database(path)() as db: ...``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.errors import DatabaseError
from db.errors import NotFound
from db.models import Patient


def get_patient(db: Session, name: str) -> Patient:
    patient = db.scalars(select(Patient).where(Patient.name == name.strip())).one_or_none()
    if patient is None:
        known = list_patients(db)
        hint = f" Known patients: {', '.join(known[:10])}." if known else " No patients are recorded yet."
        raise NotFound(f"No patient named {name!r}.{hint}")
    return patient


def list_patients(db: Session) -> list[str]:
    return list(db.scalars(select(Patient.name).order_by(Patient.name)))


def get_or_create_patient(db: Session, name: str) -> Patient:
    """The patient with this name, added (not committed) if new. Names are stripped of spaces."""
    name = name.strip()
    if not name:
        raise DatabaseError("The patient name is empty; give one with --patient NAME.")
    patient = db.scalars(select(Patient).where(Patient.name == name)).one_or_none()
    if patient is None:
        patient = Patient(name=name)
        db.add(patient)
        db.flush()
    return patient
