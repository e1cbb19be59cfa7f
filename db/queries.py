"""Read the history: the query layer the CLI, reports and exports build on (nothing recomputes from video).

All functions take an open ORM ``Session`` (``with open_database(path)() as db: ...``). Periods are
``since <= started_at < until`` on the session's wall-clock start, with timezone-aware datetimes (naive
ones are taken as UTC). Unknown ids and names raise :class:`NotFound`, a ``CoachError`` with one sentence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from coach.errors import CoachError
from db.models import (
    AngleSeries,
    FormEvent,
    Hold,
    NotMeasurableInterval,
    Patient,
    Prescription,
    Rep,
    SessionNote,
    WorkoutSession,
    WorkoutSet,
)


class NotFound(CoachError):
    """A session, patient or other record that is not in the database."""


# ----------------------------------------------------------------------------------------- patients


def get_patient(db: Session, name: str) -> Patient:
    patient = db.scalars(select(Patient).where(Patient.name == name.strip())).one_or_none()
    if patient is None:
        known = list_patients(db)
        hint = f" Known patients: {', '.join(known[:10])}." if known else " No patients are recorded yet."
        raise NotFound(f"No patient named {name!r}.{hint}")
    return patient


def list_patients(db: Session) -> list[str]:
    return list(db.scalars(select(Patient.name).order_by(Patient.name)))


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


# ----------------------------------------------------------------------------------------- sessions


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


def _session_filter(q: Select, patient: str | None, exercise_id: str | None, since, until) -> Select:
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
    q = _session_filter(q, patient, exercise_id, since, until)
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


def fault_dict(f: FormEvent) -> dict[str, Any]:
    """A form event with the keys of ``FormFault.to_dict()``."""
    return {
        "code": f.code,
        "cue": f.cue,
        "time_s": f.time_s,
        "severity": f.severity,
        "rep_index": f.rep_index,
        "side": f.side,
        "value": f.value,
    }


def rep_dict(r: Rep) -> dict[str, Any]:
    """A rep with the keys of ``RepRecord.to_dict()``."""
    return {
        "index": r.index,
        "side": r.side,
        "start_s": r.start_s,
        "end_s": r.end_s,
        "eccentric_s": r.eccentric_s,
        "concentric_s": r.concentric_s,
        "measure": r.measure,
        "min_value": r.min_value,
        "max_value": r.max_value,
        "faults": [fault_dict(f) for f in r.faults],
        "duration_s": r.duration_s,
        "range_of_motion": r.range_of_motion,
    }


def session_detail(db: Session, session_id: int, *, with_series: bool = False) -> dict[str, Any]:
    """Everything about one session as JSON-ready data (what ``sessions show --json`` prints).

    Reps, faults, holds and not-measurable intervals use the keys of the ``to_dict()`` of their
    ``coach.events`` record, so the workout's JSON output and the database compare key by key.
    ``with_series`` adds the angle series arrays (times_s, values) as lists.
    """
    s = get_session(db, session_id)
    sets = []
    totals = Counter()
    hold_s = nm_s = 0.0
    for st in s.sets:
        series = []
        for a in st.angle_series:
            item: dict[str, Any] = {"measure": a.measure, "n_samples": a.n_samples}
            if with_series:
                t, v = a.arrays()
                item["times_s"] = [float(x) for x in t]
                item["values"] = [None if x != x else float(x) for x in v]
            series.append(item)
        holds = [
            {"start_s": h.start_s, "end_s": h.end_s, "side": h.side, "duration_s": h.duration_s}
            for h in st.holds
        ]
        nms = [
            {"start_s": n.start_s, "end_s": n.end_s, "reason": n.reason, "duration_s": n.duration_s}
            for n in st.not_measurable
        ]
        sets.append(
            {
                "index": st.index,
                "target_reps": st.target_reps,
                "target_hold_s": st.target_hold_s,
                "started_s": st.started_s,
                "ended_s": st.ended_s,
                "ended_reason": st.ended_reason,
                "reps": [rep_dict(r) for r in st.reps],
                "faults_outside_reps": [fault_dict(f) for f in st.form_events if f.rep_id is None],
                "holds": holds,
                "not_measurable": nms,
                "angle_series": series,
            }
        )
        totals["reps"] += len(st.reps)
        totals["faults"] += len(st.form_events)
        hold_s += sum(h.duration_s for h in st.holds)
        nm_s += sum(n.duration_s for n in st.not_measurable)
    return {
        "id": s.id,
        "patient": s.patient.name,
        "exercise_id": s.exercise_id,
        "definition_hash": s.definition_hash,
        "definition_version": s.definition_version,
        "source": s.source,
        "started_at": _iso(s.started_at),
        "ended_at": _iso(s.ended_at),
        "end_reason": s.end_reason,
        "sets": sets,
        "notes": [
            {
                "pain_0_10": n.pain_0_10,
                "effort_rpe_0_10": n.effort_rpe_0_10,
                "text": n.text,
                "created_at": _iso(n.created_at),
            }
            for n in s.notes
        ],
        "totals": {
            "sets": len(s.sets),
            "reps": totals["reps"],
            "faults": totals["faults"],
            "hold_s": hold_s,
            "not_measurable_s": nm_s,
        },
    }


# ------------------------------------------------------------------------------------ for reports


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
    q = _session_filter(q, patient, exercise_id, since, until)
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
    for rep_id, code in db.execute(_session_filter(fq, patient, exercise_id, since, until)):
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
    for ex, code, n in db.execute(_session_filter(fq, p.name, None, since, until)):
        by_ex[ex].faults_by_code[code] = n
    nq = (
        select(func.avg(SessionNote.pain_0_10), func.avg(SessionNote.effort_rpe_0_10))
        .join(WorkoutSession, WorkoutSession.id == SessionNote.session_id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
    )
    pain, effort = db.execute(_session_filter(nq, p.name, None, since, until)).one()
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


def angle_series(db: Session, session_id: int) -> list[tuple[int, AngleSeries]]:
    """(set index, series) of a session, for charts."""
    q = (
        select(WorkoutSet.index, AngleSeries)
        .join(AngleSeries, AngleSeries.set_id == WorkoutSet.id)
        .where(WorkoutSet.session_id == session_id)
        .order_by(WorkoutSet.index, AngleSeries.id)
    )
    return [(i, a) for i, a in db.execute(q)]


# ------------------------------------------------------------------------------------------ writes


def get_or_create_patient(db: Session, name: str) -> Patient:
    """The patient with this name, added (not committed) if new. Names are stripped of spaces."""
    name = name.strip()
    if not name:
        raise CoachError("The patient name is empty; give one with --patient NAME.")
    patient = db.scalars(select(Patient).where(Patient.name == name)).one_or_none()
    if patient is None:
        patient = Patient(name=name)
        db.add(patient)
        db.flush()
    return patient


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
            raise CoachError(f"The {label} score must be between 0 and 10, got {value}.")
    if pain_0_10 is None and effort_rpe_0_10 is None and not text.strip():
        raise CoachError("A note needs a pain score, an effort score or some text.")
    if db.get(WorkoutSession, session_id) is None:
        get_session(db, session_id)  # raises NotFound with the usual sentence
    note = SessionNote(session_id=session_id, pain_0_10=pain_0_10, effort_rpe_0_10=effort_rpe_0_10, text=text)
    db.add(note)
    db.flush()
    return note


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


# ------------------------------------------------------------------------- prescriptions and reports


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
    q = _session_filter(q, patient, None, since, until).order_by(WorkoutSession.started_at, SessionNote.id)
    return [NoteRow(*row) for row in db.execute(q)]


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
    for sid, code, n in db.execute(_session_filter(q, patient, None, since, until)):
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
    for sid, reason, seconds in db.execute(_session_filter(q, patient, None, since, until)):
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
        for sid, n, total, longest in db.execute(_session_filter(q, patient, None, since, until))
    }


def session_targets(
    db: Session, patient: str, *, since: datetime | None = None, until: datetime | None = None
) -> dict[int, tuple[int | None, float | None, int | None]]:
    """{session id: (target reps per set, target hold s, prescription id)} as recorded with the session."""
    q = (
        select(WorkoutSession.id, func.max(WorkoutSet.target_reps), func.max(WorkoutSet.target_hold_s),
               WorkoutSession.prescription_id)
        .join(WorkoutSet, WorkoutSet.session_id == WorkoutSession.id)
        .join(Patient, Patient.id == WorkoutSession.patient_id)
        .group_by(WorkoutSession.id)
    )
    return {sid: (reps, hold, rx) for sid, reps, hold, rx in
            db.execute(_session_filter(q, patient, None, since, until))}
