"""Patients, prescriptions, sessions and reports.

Dates (``start_date``, ``until_date``, ``from``, ``to``, ``since``, ``until``) are written YYYY-MM-DD (a
moment: ISO 8601) and lie within 2000-01-01 … 2099-12-31 (``coach.app.prescriptions``); a report covers
at most 10 years. Patient names are normalised and must be printable (``db.patients``).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coach.api.deps import current_user, get_db, therapist_only, visible_patient, visible_session
from coach.api.errors import COMMON, responses
from coach.api.users import Principal
from coach.app.prescriptions import FIRST_DAY, LAST_DAY, MAX_HOLD_S, MAX_PER_WEEK, MAX_REPS, MAX_SETS
from coach.errors import USER_ERRORS
from db.models import MAX_ID, Patient, Prescription, SessionNote, WorkoutSession, utc_now
from db.sessions import list_sessions, session_detail

router = APIRouter(prefix="/api", tags=["patients"], responses=responses(*COMMON))


def IdPath():
    return Path(..., ge=1, le=MAX_ID)


def _iso_text(value: Any, pattern: str, example: str) -> Any:
    """Only ISO text (or a date already) becomes a date: pydantic would read 0 or 0.5 as a Unix time."""
    if isinstance(value, (date, datetime)):
        return value
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise PydanticCustomError("iso_date", "Input should be a date written like {example}", {"example": example})
    return value


def _within(value: date | datetime) -> date | datetime:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PydanticCustomError("date_range", "Input should be a date from {first} to {last}",
                                  {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()})
    return value


#: A day, YYYY-MM-DD, within the dates coach works with.
Day = Annotated[date, BeforeValidator(lambda v: _iso_text(v, r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "2026-03-31")),
                AfterValidator(_within)]
#: A moment, ISO 8601 (e.g. 2026-03-31T08:00:00Z), within the dates coach works with.
Moment = Annotated[datetime, BeforeValidator(lambda v: _iso_text(v, r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?",
                                                                    "2026-03-31T08:00:00Z")),
                   AfterValidator(_within)]


def _iso(dt):
    return None if dt is None else dt.isoformat()


def _jsonable(value: Any) -> Any:
    """Dataclass output -> JSON: datetimes/dates to ISO text, NaN/inf to null."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ------------------------------------------------------------------------------------------ me


@router.get("/me", tags=["auth"], summary="Who the token belongs to")
def me(user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> dict:
    out: dict[str, Any] = {"name": user.name, "role": user.role}
    if user.role == "patient":
        p = db.get(Patient, user.patient_id)
        out["patient"] = p.name if p else None
        out["therapist"] = p.therapist.name if p and p.therapist else None
    return out


# ------------------------------------------------------------------------------------- patients


def _patient_dict(db: Session, p: Patient) -> dict:
    n_sessions, last = db.execute(
        select(func.count(WorkoutSession.id), func.max(WorkoutSession.started_at))
        .where(WorkoutSession.patient_id == p.id)).one()
    n_active = db.scalar(select(func.count(Prescription.id)).where(
        Prescription.patient_id == p.id, Prescription.active.is_(True)))
    if isinstance(last, datetime) and last.tzinfo is None:
        from datetime import timezone
        last = last.replace(tzinfo=timezone.utc)
    return {"name": p.name, "therapist": p.therapist.name if p.therapist else None,
            "created_at": _iso(p.created_at), "sessions": n_sessions or 0,
            "last_session_at": _iso(last), "active_prescriptions": n_active or 0}


@router.get("/patients", summary="The patients the caller may see")
def patients(user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> list[dict]:
    """A therapist gets their own patients; a patient gets themself."""
    if user.role == "therapist":
        rows = db.scalars(select(Patient).where(Patient.therapist_id == user.therapist_id).order_by(Patient.name))
    else:
        rows = db.scalars(select(Patient).where(Patient.id == user.patient_id))
    return [_patient_dict(db, p) for p in rows]


class NewPatient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=200, pattern=r"\S",
                      description="Printable text; kept in Unicode NFKC with single spaces (db.patients).")


@router.post("/patients", status_code=status.HTTP_201_CREATED, summary="Add a patient (therapist)",
             responses={200: {"description": "Already the caller's patient (nothing changed)"},
                        **responses(400, 403, 409, 413)})
def add_patient(body: NewPatient, request: Request, response: Response,
                user: Principal = Depends(therapist_only), db: Session = Depends(get_db)) -> dict:
    """A new patient looked after by the calling therapist (201); the caller's own patient again: 200.

    A name in use by anyone else is 409 with the same answer whether that patient has another therapist
    or none: a patient recorded without a therapist (``workout --patient NAME``) is taken over only by
    the clinic's administrator (``coach users claim NAME --therapist YOU``, audited), never through the
    API, so naming a patient never opens their history. To let the patient sign in, run
    ``coach users add NAME --role patient --therapist YOU``."""
    from db.engine import write_session
    from db.patients import check_name, find_patient

    name = check_name(body.name)
    with write_session(request.app.state.sessionmaker) as w:  # one at a time: no race on a name
        p = find_patient(w, name)
        if p is not None and p.therapist_id == user.therapist_id:
            response.status_code = status.HTTP_200_OK
        elif p is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=(
                f"the name {p.name!r} is in use, so it cannot name a new patient: choose another (add an "
                f"initial), or, for a patient recorded at the clinic without a therapist, ask the administrator "
                f"to run `coach users claim {p.name} --therapist {user.name}`"))
        else:
            p = Patient(name=name, therapist_id=user.therapist_id)
            w.add(p)
            w.flush()
        pid = p.id
    return _patient_dict(db, db.get(Patient, pid))


@router.get("/patients/{name}", summary="One patient", responses=responses(404))
def patient(name: str, user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> dict:
    return _patient_dict(db, visible_patient(db, user, name))


# -------------------------------------------------------------------------------- prescriptions


def _rx_dict(r: Prescription) -> dict:
    return {"id": r.id, "patient": r.patient.name, "therapist": r.therapist.name if r.therapist else None,
            "exercise_id": r.exercise_id, "reps": r.reps, "sets": r.sets, "hold_s": r.hold_s,
            "rom_deg": r.rom_deg, "per_week": r.per_week, "start_date": _iso(r.start_date),
            "until_date": _iso(r.until_date), "active": r.active, "notes": r.notes,
            "created_at": _iso(r.created_at), "ended_at": _iso(r.ended_at)}


@router.get("/patients/{name}/prescriptions", tags=["prescriptions"], summary="A patient's prescriptions",
            responses=responses(404))
def prescriptions(name: str, include_ended: bool = Query(False, description="Also the ended ones."),
                  user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> list[dict]:
    p = visible_patient(db, user, name)
    q = select(Prescription).where(Prescription.patient_id == p.id)
    if not include_ended:
        q = q.where(Prescription.active.is_(True))
    q = q.order_by(Prescription.active.desc(), Prescription.exercise_id, Prescription.id)
    return [_rx_dict(r) for r in db.scalars(q)]


class NewPrescription(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    exercise_id: str = Field(..., min_length=1, max_length=100, description="An id from /api/exercises.")
    # strict: true and false are not numbers (JSON would otherwise read them as 1 and 0)
    reps: int | None = Field(None, ge=1, le=MAX_REPS, strict=True)
    sets: int | None = Field(None, ge=1, le=MAX_SETS, strict=True)
    hold_s: float | None = Field(None, gt=0, le=MAX_HOLD_S, strict=True)
    rom_deg: float | None = Field(None, gt=0, le=360, strict=True)
    per_week: int | None = Field(None, ge=1, le=MAX_PER_WEEK, strict=True)
    start_date: Day | None = Field(None, description="Default: today (UTC).")
    until_date: Day | None = None
    notes: str = Field("", max_length=5_000)


@router.post("/patients/{name}/prescriptions", tags=["prescriptions"], status_code=status.HTTP_201_CREATED,
             summary="Assign an exercise to a patient (therapist)", responses=responses(400, 403, 404, 413))
def assign(name: str, body: NewPrescription, user: Principal = Depends(therapist_only),
           db: Session = Depends(get_db)) -> dict:
    """A new prescription (``coach.app.prescriptions.assign``, as ``coach plan assign``): an active one of the
    same exercise is ended and replaced; targets not given are the replaced one's, else the definition's."""
    from coach.app.prescriptions import assign as assign_rx

    p = visible_patient(db, user, name)
    start = body.start_date or utc_now().date()
    if body.until_date is not None and body.until_date < start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"until_date {body.until_date} is before start_date {start}")
    try:
        r, _old = assign_rx(db, p.name, body.exercise_id, reps=body.reps, sets=body.sets, hold_s=body.hold_s,
                            rom_deg=body.rom_deg, per_week=body.per_week, until=body.until_date, start=start,
                            notes=body.notes, exercise_dirs=db_extra_dirs())
    except USER_ERRORS as exc:
        db.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    r.therapist_id = user.therapist_id
    db.commit()
    return _rx_dict(r)


@router.post("/prescriptions/{prescription_id}/end", tags=["prescriptions"],
             summary="End a prescription (therapist)", responses=responses(403, 404))
def end_prescription(prescription_id: int = IdPath(), user: Principal = Depends(therapist_only),
                     db: Session = Depends(get_db)) -> dict:
    r = db.get(Prescription, prescription_id)
    if r is None or r.patient.therapist_id != user.therapist_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no prescription {prescription_id} of your patients")
    if r.active:
        r.active, r.ended_at = False, utc_now()
        db.commit()
    return _rx_dict(r)


def db_extra_dirs():
    return _EXTRA_DIRS


_EXTRA_DIRS: list = []


# ------------------------------------------------------------------------------------- sessions


@router.get("/patients/{name}/sessions", tags=["sessions"], summary="A patient's sessions, newest first",
            responses=responses(404))
def sessions(name: str, exercise_id: str | None = Query(None, max_length=100), since: Moment | None = None,
             until: Moment | None = None, limit: int = Query(100, ge=1, le=10_000),
             user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> list[dict]:
    p = visible_patient(db, user, name)
    rows = list_sessions(db, p.name, exercise_id=exercise_id, since=since, until=until, limit=limit)
    return [_jsonable(r.to_dict()) for r in rows]


@router.get("/sessions/{session_id}", tags=["sessions"], summary="One session with sets, reps and faults",
            responses=responses(404))
def session(session_id: int = IdPath(), series: bool = Query(False, description="Add the angle series."),
            user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> dict:
    visible_session(db, user, session_id)
    return _jsonable(session_detail(db, session_id, with_series=series))


class NewNote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pain_0_10: int | None = Field(None, ge=0, le=10, strict=True)  # strict: not true/false
    effort_rpe_0_10: int | None = Field(None, ge=0, le=10, strict=True)
    text: str = Field("", max_length=5_000)


@router.post("/sessions/{session_id}/notes", tags=["sessions"], status_code=status.HTTP_201_CREATED,
             summary="Add how the session felt: pain, effort, text", responses=responses(400, 404, 413))
def add_note(body: NewNote, session_id: int = IdPath(), user: Principal = Depends(current_user),
             db: Session = Depends(get_db)) -> dict:
    visible_session(db, user, session_id)
    if body.pain_0_10 is None and body.effort_rpe_0_10 is None and not body.text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="a note needs a pain score, an effort score or some text")
    n = SessionNote(session_id=session_id, pain_0_10=body.pain_0_10, effort_rpe_0_10=body.effort_rpe_0_10,
                    text=body.text)
    db.add(n)
    db.commit()
    return {"id": n.id, "session_id": session_id, "pain_0_10": n.pain_0_10,
            "effort_rpe_0_10": n.effort_rpe_0_10, "text": n.text, "created_at": _iso(n.created_at)}


# -------------------------------------------------------------------------------------- reports


ReportFormat = Literal["json", "html", "pdf", "md", "csv", "sessions_csv", "fhir"]


@router.get("/patients/{name}/report", tags=["reports"], summary="A patient's progress report",
            responses={200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {},
                                         "text/markdown": {}, "text/csv": {}, "application/fhir+json": {}}},
                       **responses(404)})
async def report(request: Request, name: str, format: ReportFormat = Query("json", description=(
                     "json, html (charts inline), pdf, md, csv (a row per rep), sessions_csv (a row per session) "
                     "or fhir (an R4 Bundle of Observations)")),
                 period_from: Day | None = Query(None, alias="from", description="First day (default: the first "
                                                 "session or prescription, at most 10 years back)."),
                 period_to: Day | None = Query(None, alias="to", description="Last day, inclusive (default: "
                                               "today); at most 10 years after the first."),
                 user: Principal = Depends(current_user)) -> Response:
    """What `coach report` writes: adherence, reps against target, range of motion per joint and side,
    tempo, form faults, holds, time not measurable, first against latest, pain and effort.

    Made on a worker thread, a few at a time, within a time budget (``coach.api.reports``): 503 with
    ``Retry-After`` when the server is busy with other reports or shutting down."""
    from coach.api import reports as rep

    app = request.app

    def make() -> Response:
        with app.state.sessionmaker() as db:
            p = visible_patient(db, user, name)
            _check_period(period_from, period_to)
            return rep.render(db, p.name, format, period_from=period_from, period_to=period_to)

    return await rep.in_budget(app, make)


def _check_period(period_from: date | None, period_to: date | None) -> None:
    if period_from is not None and period_to is not None and period_to < period_from:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"'to' ({period_to.isoformat()}) is before 'from' ({period_from.isoformat()})")


class TrendOut(BaseModel):
    """The first third of the period's sessions against the last third."""

    model_config = ConfigDict(from_attributes=True)
    first: float = Field(..., description="Mean over the first third of the sessions.")
    last: float = Field(..., description="Mean over the last third of the sessions.")
    direction: Literal["up", "down", "steady"] = Field(..., description="`steady`: a change under the "
                                                     "threshold of coach/reports/review.yaml.")
    good: bool | None = Field(..., description="Whether the direction is good news; null when steady.")
    arrow: str = Field(..., description="↑, ↓ or →.")


class SideReachedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    side: str = Field(..., description="left, right or both.")
    reached: float = Field(..., description="Mean range of motion of the latest third of this side's "
                                            "sessions, in the measure's unit (degrees for angles).")


class FaultLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str = Field(..., description="The fault code of the exercise definition.")
    words: str = Field(..., description="The fault in a physiotherapist's words.")
    count: int = Field(..., description="Times it was flagged in the period.")
    trend: TrendOut | None = Field(..., description="Faults per rep, first third against last third.")


class ExerciseSummaryOut(BaseModel):
    """One row of the summary table (``coach.reports.summary.ExerciseLine``)."""

    model_config = ConfigDict(from_attributes=True)
    exercise_id: str = Field(..., description="Exercise id.")
    name: str = Field(..., description="Exercise name.")
    prescription: str | None = Field(..., description="The prescription in force at the end of the period, "
                                                      "in words; null if none.")
    notes: str = Field(..., description="The prescription's note for the patient (\"\" if none).")
    reps_per_session: int | None = Field(..., description="Reps one session is prescribed today (at the end "
                                                          "of the period): sets × reps; null if none.")
    sessions_done: int = Field(..., description="Days on which the exercise was done.")
    sessions_prescribed: int | None = Field(..., description="Sessions prescribed: per week, pro-rated to "
                                                             "the days a prescription was in force.")
    sessions_counted: int = Field(..., description="Sessions done that count towards adherence.")
    adherence_percent: int | None = Field(..., description="sessions_counted / sessions_prescribed, %.")
    reps_done: int = Field(..., description="Reps of the sessions that had a prescription in force.")
    reps_prescribed: int | None = Field(..., description="Their sets × reps; null if none had one.")
    reps_outside_plan: int = Field(..., description="Reps of sessions on days without a prescription.")
    reps_percent: int | None = Field(..., description="reps_done / reps_prescribed, %.")
    unit: str = Field(..., description="Unit label of the range of motion: ° or e.g. ' torso lengths'.")
    rom_target: float | None = Field(..., description="Target range of motion.")
    rom_reached: list[SideReachedOut] = Field(..., description="Range of motion reached, per side.")
    rom_met: bool | None = Field(..., description="Every side reached the target; null without a target.")
    rom_trend: TrendOut | None = Field(..., description="Mean range of motion per session.")
    asymmetry_lsi_percent: int | None = Field(..., description="Smaller side over larger side, %.")
    asymmetry_flag: bool = Field(..., description="The symmetry is under the review threshold.")
    pain_max: int | None = Field(..., description="Highest pain reported (0–10).")
    pain_mean: float | None = Field(..., description="Mean pain (0–10), rounded half up to 0.1.")
    pain_trend: TrendOut | None = Field(..., description="Pain per session.")
    pain_limit: float | None = Field(..., description="The pain not to exceed (0–10).")
    pain_limit_source: str = Field(..., description="`prescription` (its notes) or `default` (review.yaml).")
    pain_over_limit: int = Field(..., description="Sessions whose pain was over the limit of their day.")
    pain_flag: bool = Field(..., description="Some session was over the pain limit.")
    faults: list[FaultLineOut] = Field(..., description="Form faults, most frequent first.")
    not_measurable_percent: int | None = Field(..., description="Share of the set time not measurable, %.")
    not_measurable_flag: bool = Field(..., description="That share is over the review threshold.")


class PatientSummaryOut(BaseModel):
    """What a physiotherapist reads first (``coach.reports.summary.Summary``): the same figures as the
    report's summary table in every format."""

    model_config = ConfigDict(from_attributes=True)
    patient: str = Field(..., description="Patient name.")
    period_from: date = Field(..., description="First day (UTC).")
    period_to: date = Field(..., description="Last day, inclusive (UTC).")
    counted_to: date = Field(..., description="Prescribed sessions are counted up to this day.")
    sessions_done: int = Field(..., description="Sessions done (days per exercise), all exercises.")
    sessions_prescribed: int | None = Field(..., description="Sessions prescribed, all exercises.")
    sessions_counted: int = Field(..., description="Sessions that count towards adherence.")
    adherence_percent: int | None = Field(..., description="sessions_counted / sessions_prescribed, %.")
    pain_mean: float | None = Field(..., description="Mean pain over the sessions (0–10, to 0.1).")
    pain_max: int | None = Field(..., description="Highest pain (0–10).")
    pain_over_limit: int = Field(..., description="Sessions over their pain limit.")
    effort_mean: float | None = Field(..., description="Mean effort (RPE 0–10, to 0.1).")
    exercises: list[ExerciseSummaryOut] = Field(..., description="One line per exercise done or prescribed.")
    alerts: list[str] = Field(..., description="What needs attention, one sentence each.")


@router.get("/patients/{name}/summary", tags=["reports"], response_model=PatientSummaryOut,
            summary="What a physiotherapist reads first: on track or not, per exercise", responses=responses(404))
def summary(name: str,
            period_from: Day | None = Query(None, alias="from", description="First day (default: the first "
                                            "session or prescription, at most 10 years back)."),
            period_to: Day | None = Query(None, alias="to", description="Last day, inclusive (default: today); "
                                          "at most 10 years after the first."),
            user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> PatientSummaryOut:
    """The summary table of the progress report (``coach.reports.summary``): sessions and reps done against
    prescribed, adherence, range of motion reached against the target, left/right symmetry, pain (max,
    mean, trend, over the limit), form faults in words, the share not measurable, and the alerts. With
    ``from`` = ``to`` = today: today's plan and what is done so far."""
    from coach.reports.model import build_report

    p = visible_patient(db, user, name)
    _check_period(period_from, period_to)
    report = build_report(db, p.name, period_from=period_from, period_to=period_to)
    return PatientSummaryOut.model_validate(report.summary)
