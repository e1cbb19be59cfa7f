"""Patients, prescriptions, sessions and reports.

Dates (``start_date``, ``until_date``, ``from``, ``to``, ``since``, ``until``) are written YYYY-MM-DD (a
moment: ISO 8601) and lie within 2000-01-01 … 2099-12-31 (``coach.app.prescriptions``); a report covers
at most 10 years. Patient names are normalised and must be printable (``db.patients``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coach.api.deps import current_user, get_db, therapist_only, visible_patient, visible_session
from coach.api.errors import COMMON, responses
from coach.api.schemas.patients import MeOut, PatientOut, PrescriptionOut
from coach.api.schemas.reports import FhirBundleOut, PatientSummaryOut, ReportOut
from coach.api.schemas.sessions import NoteAddedOut, SessionOut, SessionSummaryOut
from coach.api.users import Principal
from coach.app.prescriptions import FIRST_DAY, LAST_DAY, MAX_HOLD_S, MAX_PER_WEEK, MAX_REPS, MAX_SETS
from coach.errors import USER_ERRORS
from db.models import MAX_ID, Patient, Prescription, SessionNote, WorkoutSession, utc_now
from db.sessions import list_sessions

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


# ------------------------------------------------------------------------------------------ me


@router.get("/me", tags=["auth"], summary="Who the token belongs to", response_model=MeOut,
            response_model_exclude_unset=True)
def me(user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> MeOut:
    """A therapist's token gives ``{name, role}``; a patient's adds ``patient`` and ``therapist``."""
    if user.role != "patient":
        return MeOut(name=user.name, role=user.role)
    p = db.get(Patient, user.patient_id)
    return MeOut(name=user.name, role=user.role, patient=p.name if p else None,
                 therapist=p.therapist.name if p and p.therapist else None)


# ------------------------------------------------------------------------------------- patients


def _patient_out(db: Session, p: Patient) -> PatientOut:
    n_sessions, last = db.execute(
        select(func.count(WorkoutSession.id), func.max(WorkoutSession.started_at))
        .where(WorkoutSession.patient_id == p.id)).one()
    n_active = db.scalar(select(func.count(Prescription.id)).where(
        Prescription.patient_id == p.id, Prescription.active.is_(True)))
    if isinstance(last, datetime) and last.tzinfo is None:  # max() of a column has no type decorator
        last = last.replace(tzinfo=timezone.utc)
    return PatientOut(name=p.name, therapist=p.therapist.name if p.therapist else None, created_at=p.created_at,
                      sessions=n_sessions or 0, last_session_at=last, active_prescriptions=n_active or 0)


@router.get("/patients", summary="The patients the caller may see", response_model=list[PatientOut])
def patients(user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> list[PatientOut]:
    """A therapist gets their own patients; a patient gets themself."""
    if user.role == "therapist":
        rows = db.scalars(select(Patient).where(Patient.therapist_id == user.therapist_id).order_by(Patient.name))
    else:
        rows = db.scalars(select(Patient).where(Patient.id == user.patient_id))
    return [_patient_out(db, p) for p in rows]


class NewPatient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=200, pattern=r"\S",
                      description="Printable text; kept in Unicode NFKC with single spaces (db.patients).")


@router.post("/patients", status_code=status.HTTP_201_CREATED, summary="Add a patient (therapist)",
             response_model=PatientOut,
             responses={200: {"model": PatientOut, "description": "Already the caller's patient (nothing changed)"},
                        **responses(400, 403, 409, 413)})
def add_patient(body: NewPatient, request: Request, response: Response,
                user: Principal = Depends(therapist_only), db: Session = Depends(get_db)) -> PatientOut:
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
    return _patient_out(db, db.get(Patient, pid))


@router.get("/patients/{name}", summary="One patient", response_model=PatientOut, responses=responses(404))
def patient(name: str, user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> PatientOut:
    return _patient_out(db, visible_patient(db, user, name))


# -------------------------------------------------------------------------------- prescriptions


@router.get("/patients/{name}/prescriptions", tags=["prescriptions"], summary="A patient's prescriptions",
            response_model=list[PrescriptionOut], responses=responses(404))
def prescriptions(name: str, include_ended: bool = Query(False, description="Also the ended ones."),
                  user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> list[PrescriptionOut]:
    p = visible_patient(db, user, name)
    q = select(Prescription).where(Prescription.patient_id == p.id)
    if not include_ended:
        q = q.where(Prescription.active.is_(True))
    q = q.order_by(Prescription.active.desc(), Prescription.exercise_id, Prescription.id)
    return [PrescriptionOut.model_validate(r) for r in db.scalars(q)]


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
             summary="Assign an exercise to a patient (therapist)", response_model=PrescriptionOut,
             responses=responses(400, 403, 404, 413))
def assign(name: str, body: NewPrescription, user: Principal = Depends(therapist_only),
           db: Session = Depends(get_db)) -> PrescriptionOut:
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
    return PrescriptionOut.model_validate(r)


@router.post("/prescriptions/{prescription_id}/end", tags=["prescriptions"],
             summary="End a prescription (therapist)", response_model=PrescriptionOut, responses=responses(403, 404))
def end_prescription(prescription_id: int = IdPath(), user: Principal = Depends(therapist_only),
                     db: Session = Depends(get_db)) -> PrescriptionOut:
    r = db.get(Prescription, prescription_id)
    if r is None or r.patient.therapist_id != user.therapist_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no prescription {prescription_id} of your patients")
    if r.active:
        r.active, r.ended_at = False, utc_now()
        db.commit()
    return PrescriptionOut.model_validate(r)


def db_extra_dirs():
    return _EXTRA_DIRS


_EXTRA_DIRS: list = []


# ------------------------------------------------------------------------------------- sessions


@router.get("/patients/{name}/sessions", tags=["sessions"], summary="A patient's sessions, newest first",
            response_model=list[SessionSummaryOut], responses=responses(404))
def sessions(name: str, exercise_id: str | None = Query(None, max_length=100), since: Moment | None = None,
             until: Moment | None = None, limit: int = Query(100, ge=1, le=10_000),
             user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> list[SessionSummaryOut]:
    p = visible_patient(db, user, name)
    rows = list_sessions(db, p.name, exercise_id=exercise_id, since=since, until=until, limit=limit)
    return [SessionSummaryOut.model_validate(r) for r in rows]


@router.get("/sessions/{session_id}", tags=["sessions"], summary="One session with sets, reps and faults",
            response_model=SessionOut, response_model_exclude_unset=True, responses=responses(404))
def session(session_id: int = IdPath(), series: bool = Query(False, description="Add the angle series' times "
                                                                                  "and values."),
            user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> SessionOut:
    """What ``coach sessions show --json`` prints: every set with its reps (each with its form faults), the
    faults outside reps, holds, intervals not measurable and the measures stored for charts; the notes;
    totals."""
    visible_session(db, user, session_id)
    return SessionOut.of(db, session_id, with_series=series)


class NewNote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pain_0_10: int | None = Field(None, ge=0, le=10, strict=True)  # strict: not true/false
    effort_rpe_0_10: int | None = Field(None, ge=0, le=10, strict=True)
    text: str = Field("", max_length=5_000)


@router.post("/sessions/{session_id}/notes", tags=["sessions"], status_code=status.HTTP_201_CREATED,
             summary="Add how the session felt: pain, effort, text", response_model=NoteAddedOut,
             responses=responses(400, 404, 413))
def add_note(body: NewNote, session_id: int = IdPath(), user: Principal = Depends(current_user),
             db: Session = Depends(get_db)) -> NoteAddedOut:
    visible_session(db, user, session_id)
    if body.pain_0_10 is None and body.effort_rpe_0_10 is None and not body.text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="a note needs a pain score, an effort score or some text")
    n = SessionNote(session_id=session_id, pain_0_10=body.pain_0_10, effort_rpe_0_10=body.effort_rpe_0_10,
                    text=body.text)
    db.add(n)
    db.commit()
    return NoteAddedOut.model_validate(n)


# -------------------------------------------------------------------------------------- reports


ReportFormat = Literal["json", "html", "pdf", "md", "csv", "sessions_csv", "fhir"]


_TEXT = {"schema": {"type": "string"}}


@router.get("/patients/{name}/report", tags=["reports"], summary="A patient's progress report",
            responses={200: {"model": ReportOut, "description": (
                "The report in the format asked for: `json` (`ReportOut`, application/json); `html` (text/html, "
                "charts inline); `pdf` (application/pdf); `md` (text/markdown); `csv` and `sessions_csv` "
                "(text/csv, a row per rep or per session); `fhir` (application/fhir+json, an R4 Bundle). `pdf`, "
                "`md`, `csv`, `sessions_csv` and `fhir` come as downloads named by `Content-Disposition`."),
                "content": {"application/json": {},
                            "text/html": _TEXT, "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                            "text/markdown": _TEXT, "text/csv": _TEXT,
                            "application/fhir+json": {"schema": FhirBundleOut.model_json_schema()}}},
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
