"""Patients: look one up by name (:class:`~db.errors.NotFound` if unknown), list them, add one.

Names are what people type, so they are kept in one form: Unicode NFKC (a full-width ``Ａｎａ`` is
``Ana``, a ligature its letters), runs of white space as one space, no spaces at the ends. A new name must
be printable text: no control, format (zero-width) or unassigned characters, and no mix of the Latin,
Greek and Cyrillic alphabets, whose letters look alike (a Cyrillic ``а`` in ``аna``). Lookups normalise
the same way, so ``Ana`` typed with a combining accent finds the patient written with a precomposed one.

All functions take an open ORM ``Session`` (``with open_database(path)() as db: ...``).
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.errors import DatabaseError
from db.errors import NotFound
from db.models import Patient

#: Longest name (the column's size).
MAX_NAME_LENGTH = 200
#: Alphabets whose letters look alike; a name may use one of them, not two.
_LOOK_ALIKE_SCRIPTS = {"LATIN", "GREEK", "CYRILLIC"}


def normalise_name(name: str) -> str:
    """``name`` in the one form names are kept in: NFKC, white space runs as one space, stripped."""
    return " ".join(unicodedata.normalize("NFKC", name).split())


def check_name(name: str, what: str = "patient name") -> str:
    """The normalised ``name`` if it may name someone new, else :class:`DatabaseError` in one sentence
    (``what`` names it in the message: "patient name", "user name")."""
    n = normalise_name(name)
    if not n:
        raise DatabaseError(f"The {what} is empty.")
    if len(n) > MAX_NAME_LENGTH:
        raise DatabaseError(f"The {what} is {len(n)} characters long; at most {MAX_NAME_LENGTH}.")
    for ch in n:
        category = unicodedata.category(ch)
        if category[0] == "C" or category in ("Zl", "Zp"):
            label = unicodedata.name(ch, "unassigned" if category == "Cn" else "a control character").lower()
            raise DatabaseError(f"The {what} {n!r} holds U+{ord(ch):04X} ({label}), which is not printable; "
                                "a name is printable text.")
    scripts = {unicodedata.name(ch, "").split(" ")[0] for ch in n if ch.isalpha()} & _LOOK_ALIKE_SCRIPTS
    if len(scripts) > 1:
        mixed = " and ".join(s.title() for s in sorted(scripts))
        raise DatabaseError(f"The {what} {n!r} mixes {mixed} letters, which look alike; write it in one "
                            "alphabet.")
    return n


def _candidates(name: str) -> set[str]:
    """The stored forms a typed name may match: normalised (every name kept since names were
    normalised) and as typed (older rows); never a text the database cannot hold."""
    out = set()
    for form in (normalise_name(name), name.strip()):
        try:
            form.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: no stored name has them
            continue
        if form and "\x00" not in form and len(form) <= MAX_NAME_LENGTH:
            out.add(form)
    return out


def find_patient(db: Session, name: str) -> Patient | None:
    """The patient with this name (normalised, or as typed for names kept before normalisation), or None."""
    forms = _candidates(name)
    if not forms:
        return None
    rows = list(db.scalars(select(Patient).where(Patient.name.in_(forms))))
    exact = [p for p in rows if p.name == name.strip()]
    return (exact or rows or [None])[0]


def get_patient(db: Session, name: str) -> Patient:
    patient = find_patient(db, name)
    if patient is None:
        known = list_patients(db)
        hint = f" Known patients: {', '.join(known[:10])}." if known else " No patients are recorded yet."
        raise NotFound(f"No patient named {name!r}.{hint}")
    return patient


def list_patients(db: Session) -> list[str]:
    return list(db.scalars(select(Patient.name).order_by(Patient.name)))


def get_or_create_patient(db: Session, name: str) -> Patient:
    """The patient with this name, added (not committed) if new; a new name is normalised and must be
    printable (see the module documentation)."""
    if not name.strip():
        raise DatabaseError("The patient name is empty; give one with --patient NAME.")
    patient = find_patient(db, name)
    if patient is None:
        patient = Patient(name=check_name(name))
        db.add(patient)
        db.flush()
    return patient
