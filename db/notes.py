"""Session notes: what the person reported about a session (pain, effort, text); add one, read a patient's.

All functions take an open ORM ``Session``. Periods are ``since <= started_at < until`` on the session's
wall-clock start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.errors import DatabaseError
from db.models import Patient, SessionNote, WorkoutSession
from db.sessions import get_session, session_filter


def add_session_note(
    db: Session,
    session_id: int,
    pain_0_10: int | None = None,
    effort_rpe_0_10: int | None = None,
    text: str = "",
) -> SessionNote:
    """Add what the person reported about a session (added to ``db``, not committed)."""
    for label, value in (("pain", pain_0_10), ("effort", effort_rpe_0_10)):
        if value is not None and not (0 <= value <= 10):
            raise DatabaseError(f"The {label} score must be between 0 and 10, got {value}.")
    if pain_0_10 is None and effort_rpe_0_10 is None and not text.strip():
        raise DatabaseError("A note needs a pain score, an effort score or some text.")
    if db.get(WorkoutSession, session_id) is None:
        get_session(db, session_id)  # raises NotFound with the usual sentence
    note = SessionNote(session_id=session_id, pain_0_10=pain_0_10, effort_rpe_0_10=effort_rpe_0_10, text=text)
    db.add(note)
    db.flush()
    return note


@dataclass(frozen=True)
class NoteRow:
    """A patient-reported note of one session (pain, effort, text)."""

    session_id: int
    exercise_id: str
    started_at: datetime
    pain_0_10: int | None
    effort_rpe_0_10: int | None
    text: str


def session_notes(
    db: Session, patient: str, *, since: datetime | None = None, until: datetime | None = None
) -> list[NoteRow]:
    """The patient's session notes over a period, oldest session first."""
    q = (
        select(WorkoutSession.id, WorkoutSession.exercise_id, WorkoutSession.started_at,
               SessionNote.pain_0_10, SessionNote.effort_rpe_0_10, SessionNote.text)
        .join(SessionNote, SessionNote.session_id == WorkoutSession.id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
    )
    q = session_filter(q, patient, None, since, until).order_by(WorkoutSession.started_at, SessionNote.id)
    return [NoteRow(*row) for row in db.execute(q)]
