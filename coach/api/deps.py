"""Request dependencies: the database session, who is calling, and what they may see.

Refusals: no / unknown / expired / revoked token -> 401 (with ``WWW-Authenticate: Bearer``); the wrong
role -> 403; a patient or session the caller may not see -> 404, the same answer as for one that does
not exist, so the API does not tell other therapists' patients' names.
"""

from __future__ import annotations

from typing import Iterator

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from coach.api.users import AuthError, Principal, authenticate
from db.models import Patient, WorkoutSession

bearer = HTTPBearer(auto_error=False, description="A token from `coach users add` or `coach users token`.")


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as db:
        yield db


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def principal_for_token(request_or_app, token: str) -> Principal:
    app = getattr(request_or_app, "app", request_or_app)
    with app.state.sessionmaker() as db:
        try:
            return authenticate(db, token)
        except AuthError as exc:
            raise unauthorized(str(exc)) from None


def current_user(request: Request,
                 creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    if creds is None or not creds.credentials:
        raise unauthorized("no bearer token: send 'Authorization: Bearer <token>'")
    return principal_for_token(request, creds.credentials)


def therapist_only(user: Principal = Depends(current_user)) -> Principal:
    if user.role != "therapist":
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only a therapist may do this")
    return user


def can_see_patient(user: Principal, patient: Patient) -> bool:
    if user.role == "therapist":
        return patient.therapist_id is not None and patient.therapist_id == user.therapist_id
    return patient.id == user.patient_id


def visible_patient(db: Session, user: Principal, name: str) -> Patient:
    """The patient ``name`` if the caller may see them, else 404 (the same answer whether the name is
    unknown, another therapist's patient, or nobody's)."""
    from db.patients import find_patient

    patient = find_patient(db, name)
    if patient is None or not can_see_patient(user, patient):
        who = "among your patients" if user.role == "therapist" else "that is you"
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no patient named {name!r} {who}")
    return patient


def visible_session(db: Session, user: Principal, session_id: int) -> WorkoutSession:
    s = db.get(WorkoutSession, session_id)
    if s is None or not can_see_patient(user, s.patient):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no session {session_id} that you may see")
    return s
