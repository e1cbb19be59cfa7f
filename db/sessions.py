"""Workout sessions: the list with per-session totals, and one session with everything recorded loaded (its JSON
shape, what the API answers and ``sessions show --json`` prints, is the API's ``SessionOut``).

All functions take an open ORM ``Session`` (``with open_database(path)() as db: ...``). Periods are
``since <= started_at < until`` on the session's wall-clock start, with timezone-aware datetimes (naive
ones are taken as UTC). An unknown session id raises :class:`~db.errors.NotFound`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from db.errors import NotFound
from db.models import (
    AngleSeries,
    FormEvent,
    Hold,
    NotMeasurableInterval,
    Patient,
    Rep,
    WorkoutSession,
    WorkoutSet,
)


@dataclass(frozen=True)
class SessionSummary:
    """One line of ``sessions list``: a session with its totals."""

    id: int
    patient: str
    exercise_id: str
    definition_version: str
    source: str
    started_at: datetime
    ended_at: datetime | None  #: None while recording, or if the program was killed
    end_reason: str | None
    n_sets: int
    n_reps: int
    target_reps: int | None  #: sum over the sets that had a target
    n_faults: int
    hold_s: float
    not_measurable_s: float
    mean_range_of_motion: float | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["started_at"] = _iso(self.started_at)
        d["ended_at"] = _iso(self.ended_at)
        return d


def session_filter(q: Select, patient: str | None, exercise_id: str | None, since, until) -> Select:
    """``q`` restricted to a patient, an exercise and a period (``since <= started_at < until``)."""
    if patient is not None:
        q = q.where(Patient.name == patient.strip())
    if exercise_id is not None:
        q = q.where(WorkoutSession.exercise_id == exercise_id)
    if since is not None:
        q = q.where(WorkoutSession.started_at >= since)
    if until is not None:
        q = q.where(WorkoutSession.started_at < until)
    return q


def list_sessions(
    db: Session,
    patient: str | None = None,
    *,
    exercise_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    newest_first: bool = True,
) -> list[SessionSummary]:
    """Sessions with per-session totals, newest first (one query with grouped sub-queries)."""
    sets_q = (
        select(
            WorkoutSet.session_id.label("sid"),
            func.count(WorkoutSet.id).label("n_sets"),
            func.sum(WorkoutSet.target_reps).label("target_reps"),
        )
        .group_by(WorkoutSet.session_id)
        .subquery()
    )
    reps_q = (
        select(
            WorkoutSet.session_id.label("sid"),
            func.count(Rep.id).label("n_reps"),
            func.avg(Rep.range_of_motion).label("mean_rom"),
        )
        .join(Rep, Rep.set_id == WorkoutSet.id)
        .group_by(WorkoutSet.session_id)
        .subquery()
    )

    def _per_session(model, value):
        return (
            select(WorkoutSet.session_id.label("sid"), value.label("v"))
            .join(model, model.set_id == WorkoutSet.id)
            .group_by(WorkoutSet.session_id)
            .subquery()
        )

    faults_q = _per_session(FormEvent, func.count(FormEvent.id))
    holds_q = _per_session(Hold, func.sum(Hold.duration_s))
    nm_q = _per_session(NotMeasurableInterval, func.sum(NotMeasurableInterval.duration_s))
    q = (
        select(
            WorkoutSession,
            Patient.name,
            sets_q.c.n_sets,
            sets_q.c.target_reps,
            reps_q.c.n_reps,
            reps_q.c.mean_rom,
            faults_q.c.v,
            holds_q.c.v,
            nm_q.c.v,
        )
        .join(Patient, Patient.id == WorkoutSession.patient_id)
        .outerjoin(sets_q, sets_q.c.sid == WorkoutSession.id)
        .outerjoin(reps_q, reps_q.c.sid == WorkoutSession.id)
        .outerjoin(faults_q, faults_q.c.sid == WorkoutSession.id)
        .outerjoin(holds_q, holds_q.c.sid == WorkoutSession.id)
        .outerjoin(nm_q, nm_q.c.sid == WorkoutSession.id)
    )
    q = session_filter(q, patient, exercise_id, since, until)
    order = (WorkoutSession.started_at.desc(), WorkoutSession.id.desc()) if newest_first else (
        WorkoutSession.started_at, WorkoutSession.id)
    q = q.order_by(*order)
    if limit is not None:
        q = q.limit(limit)
    out = []
    for s, name, n_sets, target, n_reps, mean_rom, n_faults, hold_s, nm_s in db.execute(q):
        out.append(
            SessionSummary(
                id=s.id,
                patient=name,
                exercise_id=s.exercise_id,
                definition_version=s.definition_version,
                source=s.source,
                started_at=s.started_at,
                ended_at=s.ended_at,
                end_reason=s.end_reason,
                n_sets=n_sets or 0,
                n_reps=n_reps or 0,
                target_reps=target,
                n_faults=n_faults or 0,
                hold_s=float(hold_s or 0.0),
                not_measurable_s=float(nm_s or 0.0),
                mean_range_of_motion=None if mean_rom is None else float(mean_rom),
            )
        )
    return out


def count_sessions(db: Session) -> int:
    return db.scalar(select(func.count(WorkoutSession.id))) or 0


def get_session(db: Session, session_id: int) -> WorkoutSession:
    """A session with its patient, sets, reps, faults, holds, not-measurable intervals, series, notes."""
    q = (
        select(WorkoutSession)
        .where(WorkoutSession.id == session_id)
        .options(
            joinedload(WorkoutSession.patient),
            selectinload(WorkoutSession.notes),
            selectinload(WorkoutSession.sets).selectinload(WorkoutSet.reps).selectinload(Rep.faults),
            selectinload(WorkoutSession.sets).selectinload(WorkoutSet.form_events),
            selectinload(WorkoutSession.sets).selectinload(WorkoutSet.holds),
            selectinload(WorkoutSession.sets).selectinload(WorkoutSet.not_measurable),
            selectinload(WorkoutSession.sets).selectinload(WorkoutSet.angle_series),
        )
    )
    session = db.scalars(q).one_or_none()
    if session is None:
        n = count_sessions(db)
        hint = "the database holds no sessions yet" if n == 0 else "see `coach sessions list` for the ids"
        raise NotFound(f"There is no session with id {session_id}; {hint}.")
    return session


def angle_series(db: Session, session_id: int) -> list[tuple[int, AngleSeries]]:
    """(set index, series) of a session, for charts."""
    q = (
        select(WorkoutSet.index, AngleSeries)
        .join(AngleSeries, AngleSeries.set_id == WorkoutSet.id)
        .where(WorkoutSet.session_id == session_id)
        .order_by(WorkoutSet.index, AngleSeries.id)
    )
    return [(i, a) for i, a in db.execute(q)]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()
