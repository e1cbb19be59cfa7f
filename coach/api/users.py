"""Accounts and bearer tokens of the HTTP API (no web framework here; the CLI uses it too).

- A user is a therapist or a patient, linked to the ``therapists`` / ``patients`` row of the same name.
  A patient has an owning therapist (``patients.therapist_id``); a therapist sees only their patients.
- A patient recorded without a therapist (``workout --patient NAME``) gets one only by an explicit,
  audited step run where the database is (:func:`claim_patient`: ``coach users claim``, or ``coach users
  add NAME --role patient --therapist T``); moving a patient from one therapist to another must name the
  one they leave. Every change of owner is a ``patient_claims`` row (:func:`list_claims`).
- A token is ``coach_`` + ``secrets.token_urlsafe(32)``. Only its sha256 (hex) is stored, with an
  expiry; the secret is shown once, when it is made. A user may hold several tokens (phone, laptop).
"""

from __future__ import annotations

import getpass
import hashlib
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.errors import CoachError
from db.models import ApiToken, Patient, PatientClaim, Therapist, User, utc_now
from db.patients import check_name, find_patient

ROLES = ("therapist", "patient")
TOKEN_PREFIX = "coach_"
DEFAULT_TOKEN_DAYS = 90


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def get_user(db: Session, name: str) -> User:
    user = db.scalars(select(User).where(User.name == name.strip())).one_or_none()
    if user is None:
        raise CoachError(f"No user named {name!r}; add one with `coach users add NAME --role ...`.")
    return user


def add_user(db: Session, name: str, role: str, therapist: str | None = None) -> User:
    """Add a user (not committed). A patient needs ``therapist``, the name of a therapist user.

    The therapist or patient row of the same name is created if new. An existing patient (one whose
    sessions were recorded with ``workout --patient NAME``) with no therapist is claimed for ``therapist``,
    recorded in the audit (:func:`claim_patient`); one who has another therapist is refused.
    """
    if role not in ROLES:
        raise CoachError(f"The role must be therapist or patient, not {role!r}.")
    existing = find_patient(db, name) if role == "patient" else None
    name = existing.name if existing is not None else check_name(name, "user name")
    if db.scalars(select(User).where(User.name == name)).one_or_none() is not None:
        raise CoachError(f"There is already a user named {name!r}; `coach users token {name}` makes a new token.")
    if role == "therapist":
        if therapist is not None:
            raise CoachError("--therapist is for patients; a therapist has none.")
        row = db.scalars(select(Therapist).where(Therapist.name == name)).one_or_none()
        if row is None:
            row = Therapist(name=name)
            db.add(row)
            db.flush()
        user = User(name=name, role=role, therapist_id=row.id)
    else:
        if not therapist:
            raise CoachError("A patient needs an owning therapist: give --therapist NAME.")
        owner = db.scalars(select(User).where(User.name == therapist.strip())).one_or_none()
        if owner is None or owner.role != "therapist":
            raise CoachError(f"{therapist!r} is not a therapist user; add them first with "
                             f"`coach users add {therapist} --role therapist`.")
        row = existing
        if row is None:
            row = Patient(name=name, therapist_id=owner.therapist_id)
            db.add(row)
            db.flush()
        elif row.therapist_id != owner.therapist_id:  # recorded before: taken over, audited
            claim_patient(db, row.name, owner.name, how="users add")
        user = User(name=name, role=role, patient_id=row.id)
    db.add(user)
    db.flush()
    return user


def _operator() -> str:
    """Who runs this command, for the audit: the operating-system account and the machine."""
    try:
        who = getpass.getuser()
    except Exception:  # no account name in this environment (a container without a passwd entry)
        who = "unknown"
    return f"{who}@{socket.gethostname()}"[:200]


def claim_patient(db: Session, patient: str, therapist: str, *, how: str = "users claim",
                  previous: str | None = None) -> PatientClaim:
    """Make the therapist user ``therapist`` the owner of ``patient`` and record who did it (added, not
    committed). A patient without a therapist is claimed as is; one with another therapist only when
    ``previous`` names that therapist (a deliberate transfer). Raises :class:`CoachError` otherwise."""
    p = find_patient(db, patient)
    if p is None:
        raise CoachError(f"No patient named {patient!r}; a patient is recorded by a workout "
                         "(`coach workout -p NAME`) or added by their therapist.")
    owner = db.scalars(select(User).where(User.name == therapist.strip())).one_or_none()
    if owner is None or owner.role != "therapist":
        raise CoachError(f"{therapist!r} is not a therapist user; add them first with "
                         f"`coach users add {therapist} --role therapist`.")
    current = p.therapist.name if p.therapist is not None else None
    if p.therapist_id == owner.therapist_id:
        raise CoachError(f"{p.name} is already {owner.name}'s patient.")
    if current is not None and (previous is None or previous.strip() != current):
        raise CoachError(f"{p.name} is {current}'s patient; to move them to {owner.name}, run "
                         f"`coach users claim {p.name} --therapist {owner.name} --from {current}`.")
    if current is None and previous is not None:
        raise CoachError(f"{p.name} has no therapist, so --from {previous} does not apply; leave it out.")
    claim = PatientClaim(patient_id=p.id, therapist_id=owner.therapist_id, previous_therapist_id=p.therapist_id,
                         claimed_by=_operator(), how=how)
    p.therapist_id = owner.therapist_id
    db.add(claim)
    db.flush()
    return claim


def list_claims(db: Session, patient: str | None = None) -> list[dict]:
    """The audit of owner changes, oldest first (of one patient if named)."""
    q = select(PatientClaim).order_by(PatientClaim.claimed_at, PatientClaim.id)
    if patient is not None:
        p = find_patient(db, patient)
        if p is None:
            raise CoachError(f"No patient named {patient!r}.")
        q = q.where(PatientClaim.patient_id == p.id)
    return [{"patient": c.patient.name, "therapist": c.therapist.name if c.therapist else None,
             "previous": c.previous_therapist.name if c.previous_therapist else None,
             "claimed_at": c.claimed_at, "claimed_by": c.claimed_by, "how": c.how}
            for c in db.scalars(q)]


def issue_token(db: Session, user: User, *, days: float = DEFAULT_TOKEN_DAYS,
                now: datetime | None = None) -> str:
    """Make a new token for ``user`` (added, not committed); returns the secret, which is not stored."""
    if days <= 0:
        raise CoachError(f"A token must be valid for a positive number of days, not {days}.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now or utc_now()
    db.add(ApiToken(user_id=user.id, token_sha256=hash_token(secret), created_at=now,
                    expires_at=now + timedelta(days=days)))
    db.flush()
    return secret


def revoke_tokens(db: Session, user: User) -> int:
    """Revoke every live token of ``user``; returns how many."""
    n = 0
    for t in user.tokens:
        if t.revoked_at is None:
            t.revoked_at = utc_now()
            n += 1
    return n


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user and what they may see."""

    user_id: int
    name: str
    role: str
    therapist_id: int | None
    patient_id: int | None


class AuthError(Exception):
    """A missing, unknown, expired or revoked token (the API answers 401)."""


def authenticate(db: Session, secret: str, *, now: datetime | None = None) -> Principal:
    """The user holding this token secret; raises AuthError saying why not."""
    if not secret:
        raise AuthError("no token given")
    row = db.scalars(select(ApiToken).where(ApiToken.token_sha256 == hash_token(secret))).one_or_none()
    if row is None:
        raise AuthError("unknown token")
    now = now or utc_now()
    if row.revoked_at is not None:
        raise AuthError("the token was revoked")
    if row.expires_at <= now:
        raise AuthError("the token has expired; ask for a new one (`coach users token NAME`)")
    u = row.user
    return Principal(u.id, u.name, u.role, u.therapist_id, u.patient_id)


def list_users(db: Session) -> list[dict]:
    """Every user with role, owning therapist (patients) and live token count."""
    now = utc_now()
    out = []
    for u in db.scalars(select(User).order_by(User.role.desc(), User.name)):
        owner = None
        if u.patient is not None and u.patient.therapist is not None:
            owner = u.patient.therapist.name
        live = [t for t in u.tokens if t.revoked_at is None and t.expires_at > now]
        out.append({
            "name": u.name, "role": u.role, "therapist": owner, "tokens": len(live),
            "expires_at": max((t.expires_at for t in live), default=None),
        })
    return out
