"""What progress reports and exports read: rep rows, a patient's per-exercise summary, sessions per week,
and per-session fault, hold, not-measurable and set-time aggregates (nothing recomputes from video).

All functions take an open ORM ``Session``. Periods are ``since <= started_at < until`` on the session's
wall-clock start, with timezone-aware datetimes (naive ones are taken as UTC). An unknown patient raises
:class:`~db.errors.NotFound` where noted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import (
    FormEvent,
    Hold,
    NotMeasurableInterval,
    Patient,
    Rep,
    SessionNote,
    WorkoutSession,
    WorkoutSet,
)
from db.patients import get_patient
from db.sessions import list_sessions, session_filter


@dataclass(frozen=True)
class RepRow:
    """One rep with its context, flat (for CSV exports and range-of-motion / tempo trends)."""

    session_id: int
    patient: str
    exercise_id: str
    definition_version: str
    started_at: datetime  #: the session's start
    set_index: int
    rep_index: int
    side: str
    measure: str
    start_s: float
    end_s: float
    duration_s: float
    eccentric_s: float
    concentric_s: float
    min_value: float | None
    max_value: float | None
    range_of_motion: float | None
    fault_codes: tuple[str, ...]


def rep_rows(
    db: Session,
    patient: str | None = None,
    *,
    exercise_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[RepRow]:
    """Every rep of the matching sessions, oldest session first, in set and rep order.

    Plain column rows, not ORM objects: a year of daily sessions is tens of thousands of reps.
    """
    q = (
        select(
            WorkoutSession.id,
            Patient.name,
            WorkoutSession.exercise_id,
            WorkoutSession.definition_version,
            WorkoutSession.started_at,
            WorkoutSet.index,
            Rep.index,
            Rep.side,
            Rep.measure,
            Rep.start_s,
            Rep.end_s,
            Rep.duration_s,
            Rep.eccentric_s,
            Rep.concentric_s,
            Rep.min_value,
            Rep.max_value,
            Rep.range_of_motion,
            Rep.id,
        )
        .join(WorkoutSet, WorkoutSet.id == Rep.set_id)
        .join(WorkoutSession, WorkoutSession.id == WorkoutSet.session_id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
    )
    q = session_filter(q, patient, exercise_id, since, until)
    q = q.order_by(WorkoutSession.started_at, WorkoutSession.id, WorkoutSet.index, Rep.index)
    rows = db.execute(q).all()
    codes: dict[int, list[str]] = defaultdict(list)
    fq = (
        select(FormEvent.rep_id, FormEvent.code)
        .join(WorkoutSet, WorkoutSet.id == FormEvent.set_id)
        .join(WorkoutSession, WorkoutSession.id == WorkoutSet.session_id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
        .where(FormEvent.rep_id.is_not(None))
        .order_by(FormEvent.id)
    )
    for rep_id, code in db.execute(session_filter(fq, patient, exercise_id, since, until)):
        codes[rep_id].append(code)
    return [RepRow(*row[:-1], fault_codes=tuple(codes.get(row[-1], ()))) for row in rows]


@dataclass
class ExerciseSummary:
    """One exercise of one patient over a period."""

    exercise_id: str
    sessions: int = 0
    sets: int = 0
    reps: int = 0
    target_reps: int = 0  #: over sets that had a target
    first_session_at: datetime | None = None
    last_session_at: datetime | None = None
    first_mean_range_of_motion: float | None = None  #: of the first session with reps
    last_mean_range_of_motion: float | None = None  #: of the latest session with reps
    faults_by_code: dict[str, int] = field(default_factory=dict)
    hold_s: float = 0.0
    not_measurable_s: float = 0.0


@dataclass
class PatientSummary:
    patient: str
    since: datetime | None
    until: datetime | None
    sessions: int
    exercises: list[ExerciseSummary]
    mean_pain_0_10: float | None
    mean_effort_rpe_0_10: float | None


def patient_summary(
    db: Session, patient: str, *, since: datetime | None = None, until: datetime | None = None
) -> PatientSummary:
    """Per-exercise totals for one patient over a period (raises NotFound for an unknown patient)."""
    p = get_patient(db, patient)
    sessions = list_sessions(db, p.name, since=since, until=until, newest_first=False)
    by_ex: dict[str, ExerciseSummary] = {}
    for s in sessions:
        e = by_ex.setdefault(s.exercise_id, ExerciseSummary(s.exercise_id))
        e.sessions += 1
        e.sets += s.n_sets
        e.reps += s.n_reps
        e.target_reps += s.target_reps or 0
        e.first_session_at = e.first_session_at or s.started_at
        e.last_session_at = s.started_at
        if s.mean_range_of_motion is not None:
            if e.first_mean_range_of_motion is None:
                e.first_mean_range_of_motion = s.mean_range_of_motion
            e.last_mean_range_of_motion = s.mean_range_of_motion
        e.hold_s += s.hold_s
        e.not_measurable_s += s.not_measurable_s
    fq = (
        select(WorkoutSession.exercise_id, FormEvent.code, func.count(FormEvent.id))
        .join(WorkoutSet, WorkoutSet.id == FormEvent.set_id)
        .join(WorkoutSession, WorkoutSession.id == WorkoutSet.session_id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
        .group_by(WorkoutSession.exercise_id, FormEvent.code)
    )
    for ex, code, n in db.execute(session_filter(fq, p.name, None, since, until)):
        by_ex[ex].faults_by_code[code] = n
    nq = (
        select(func.avg(SessionNote.pain_0_10), func.avg(SessionNote.effort_rpe_0_10))
        .join(WorkoutSession, WorkoutSession.id == SessionNote.session_id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
    )
    pain, effort = db.execute(session_filter(nq, p.name, None, since, until)).one()
    return PatientSummary(
        patient=p.name,
        since=since,
        until=until,
        sessions=len(sessions),
        exercises=sorted(by_ex.values(), key=lambda e: e.exercise_id),
        mean_pain_0_10=None if pain is None else float(pain),
        mean_effort_rpe_0_10=None if effort is None else float(effort),
    )


def sessions_per_week(
    db: Session,
    patient: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tz: tzinfo = timezone.utc,
) -> dict[date, dict[str, int]]:
    """Adherence: {Monday of the week: {exercise id: sessions}}, weeks in time zone ``tz``.

    Only weeks with sessions appear; a report fills the empty ones between ``since`` and ``until``.
    """
    p = get_patient(db, patient)
    out: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in list_sessions(db, p.name, since=since, until=until, newest_first=False):
        day = s.started_at.astimezone(tz).date()
        out[day - timedelta(days=day.weekday())][s.exercise_id] += 1
    return {week: dict(counts) for week, counts in out.items()}


def fault_counts_per_session(
    db: Session, patient: str, *, since: datetime | None = None, until: datetime | None = None
) -> dict[int, dict[str, int]]:
    """{session id: {fault code: count}} for the patient's sessions over a period (in or outside reps)."""
    q = (
        select(WorkoutSession.id, FormEvent.code, func.count(FormEvent.id))
        .join(WorkoutSet, WorkoutSet.id == FormEvent.set_id)
        .join(WorkoutSession, WorkoutSession.id == WorkoutSet.session_id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
        .group_by(WorkoutSession.id, FormEvent.code)
    )
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for sid, code, n in db.execute(session_filter(q, patient, None, since, until)):
        out[sid][code] = n
    return dict(out)


def not_measurable_per_session(
    db: Session, patient: str, *, since: datetime | None = None, until: datetime | None = None
) -> dict[int, dict[str, float]]:
    """{session id: {reason: seconds not measurable}} for the patient's sessions over a period."""
    q = (
        select(WorkoutSession.id, NotMeasurableInterval.reason, func.sum(NotMeasurableInterval.duration_s))
        .join(WorkoutSet, WorkoutSet.id == NotMeasurableInterval.set_id)
        .join(WorkoutSession, WorkoutSession.id == WorkoutSet.session_id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
        .group_by(WorkoutSession.id, NotMeasurableInterval.reason)
    )
    out: dict[int, dict[str, float]] = defaultdict(dict)
    for sid, reason, seconds in db.execute(session_filter(q, patient, None, since, until)):
        out[sid][reason] = float(seconds or 0.0)
    return dict(out)


def holds_per_session(
    db: Session, patient: str, *, since: datetime | None = None, until: datetime | None = None
) -> dict[int, tuple[int, float, float]]:
    """{session id: (number of holds, total seconds held, longest hold in seconds)}."""
    q = (
        select(WorkoutSession.id, func.count(Hold.id), func.sum(Hold.duration_s), func.max(Hold.duration_s))
        .join(WorkoutSet, WorkoutSet.id == Hold.set_id)
        .join(WorkoutSession, WorkoutSession.id == WorkoutSet.session_id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
        .group_by(WorkoutSession.id)
    )
    return {
        sid: (int(n), float(total or 0.0), float(longest or 0.0))
        for sid, n, total, longest in db.execute(session_filter(q, patient, None, since, until))
    }


def set_seconds_per_session(
    db: Session, patient: str, *, since: datetime | None = None, until: datetime | None = None
) -> dict[int, float]:
    """{session id: source seconds its sets ran (sum of ``ended_s - started_s``)}: what the time not
    measurable is a share of. Sets without both times count 0."""
    q = (
        select(WorkoutSession.id, func.sum(WorkoutSet.ended_s - WorkoutSet.started_s))
        .join(WorkoutSet, WorkoutSet.session_id == WorkoutSession.id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
        .where(WorkoutSet.started_s.is_not(None), WorkoutSet.ended_s.is_not(None))
        .group_by(WorkoutSession.id)
    )
    return {sid: max(0.0, float(total or 0.0)) for sid, total in
            db.execute(session_filter(q, patient, None, since, until))}
