"""Prescriptions: the exercises a therapist assigns to a patient, with the targets a workout uses by default.

A patient has at most one active prescription per exercise: assigning the same exercise again ends the old
one (kept for the history) and starts a new one with the targets given, the old one's for those not given. Targets not given are taken from the exercise
definition's own, so a prescription always says what the patient was asked to do.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Iterable, Protocol, Sequence

from sqlalchemy.orm import Session

from coach.errors import CoachError
from db.models import Prescription, utc_now
from db.patients import get_or_create_patient, get_patient
from db.prescriptions import patient_prescriptions, prescription_for


#: The days coach accepts anywhere (prescriptions, report periods, session filters): dates outside them
#: are typing mistakes (0001-01-01, 9999-12-31) that would make a report span thousands of years.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
#: Largest targets of a prescription (the API's limits, for the command line too).
MAX_REPS, MAX_SETS, MAX_HOLD_S, MAX_PER_WEEK = 10_000, 1_000, 86_400.0, 21


def check_day(day: date | None, what: str) -> date | None:
    """``day`` if it is within :data:`FIRST_DAY` … :data:`LAST_DAY` (None stays None); else
    :class:`CoachError` saying so, naming the option or field ``what``."""
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise CoachError(f"{what} {day.isoformat()} is outside the dates coach works with "
                         f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}).")
    return day


def describe(rx, *, with_start: bool = False) -> str:
    """A prescription's targets in words, e.g. "3 sets, 10 reps, 3 sessions a week, until 2026-03-31".

    `rx` is anything with sets, reps, hold_s, rom_deg, per_week, start_date and until_date (a
    `db.models.Prescription` or the report's `PrescriptionInfo`).
    """
    parts = []
    if rx.sets:
        parts.append(f"{rx.sets} set{'s' if rx.sets != 1 else ''}")
    if rx.reps:
        parts.append(f"{rx.reps} rep{'s' if rx.reps != 1 else ''}")
    if rx.hold_s:
        parts.append(f"hold {rx.hold_s:g} s")
    if rx.rom_deg:
        parts.append(f"range of motion {rx.rom_deg:g}°")
    if rx.per_week:
        parts.append(f"{rx.per_week} session{'s' if rx.per_week != 1 else ''} a week")
    if with_start and rx.start_date:
        parts.append(f"from {rx.start_date.isoformat()}")
    if rx.until_date:
        parts.append(f"until {rx.until_date.isoformat()}")
    return ", ".join(parts) or "the exercise's own targets"


@dataclass(frozen=True)
class Targets:
    """What one workout of a prescription aims at (None: not set), and the therapist's note for the patient."""

    sets: int | None
    reps: int | None
    hold_s: float | None
    rom_deg: float | None
    notes: str = ""


# ------------------------------------------------------------------------------- what "prescribed" means
#
# The one definition, used by `sessions list`, the report, the API and the page:
#
# - On a day, an exercise's prescription *in force* is the one that started on or before that day and was
#   not over (its `until_date`, or the day it was ended or replaced) before it; of several, the latest start
#   (then the latest assigned) wins, so a prescription replaced during a day rules that day.
# - A session is prescribed ``sets × reps`` reps by the prescription in force on its (UTC) day, whatever
#   the workout was run with; a session on a day with none in force has no target.
# - Sessions a week: a session is a day on which the exercise was done. A week (Monday to Sunday) of which
#   the prescription covers only D days (it starts or ends in it, or the period starts, ends or reaches
#   today in it) is prescribed ``ceil(per_week × D / 7)`` sessions, at most D: day one of a 3-a-week plan
#   asks for one session, not three.


class PrescriptionLike(Protocol):
    """What these functions read of a prescription (a `db.models.Prescription` or the report's copy)."""

    id: int
    exercise_id: str
    sets: int | None
    reps: int | None
    per_week: int | None
    start_date: date
    until_date: date | None
    ended_at: object  #: a datetime or None
    notes: str


def last_day(rx: PrescriptionLike) -> date | None:
    """The last (UTC) day a prescription is in force: its until date or the day it was ended; None: open."""
    days = [d for d in (rx.until_date, rx.ended_at.date() if rx.ended_at is not None else None) if d is not None]
    return min(days) if days else None


def in_force(rxs: Sequence[PrescriptionLike], exercise_id: str, day: date) -> PrescriptionLike | None:
    """The prescription of ``exercise_id`` in force on ``day`` among ``rxs`` (see above), or None."""
    best = None
    for rx in rxs:
        if rx.exercise_id != exercise_id or rx.start_date > day:
            continue
        end = last_day(rx)
        if end is not None and end < day:
            continue
        if best is None or (rx.start_date, rx.id) > (best.start_date, best.id):
            best = rx
    return best


def prescribed_reps(rx: PrescriptionLike | None) -> int | None:
    """Reps one session of ``rx`` is prescribed: sets × reps (one set if sets is not given); None without reps."""
    if rx is None or not rx.reps:
        return None
    return rx.reps * (rx.sets or 1)


def prescribed_sessions(rxs: Sequence[PrescriptionLike], exercise_id: str, days: Iterable[date]) -> int:
    """Sessions of ``exercise_id`` prescribed over ``days`` (the days of ONE week that are counted): the
    per-week numbers of the prescriptions in force, pro-rated by their days, rounded up, at most the days."""
    share = Fraction(0)
    n_days = 0
    for day in days:
        rx = in_force(rxs, exercise_id, day)
        if rx is not None and rx.per_week:
            share += Fraction(rx.per_week, 7)
            n_days += 1
    return min(n_days, math.ceil(share))


#: "pain > 4", "pain above 4", "pain over 4", "pain more than 4" in a prescription's notes
_PAIN_LIMIT = re.compile(r"\bpain\b[^0-9.;]{0,20}?(?:>|above|over|more than|exceeds?)\s*(\d+(?:\.\d+)?)",
                         re.IGNORECASE)


def pain_limit(rx: PrescriptionLike | None) -> float | None:
    """The pain (0–10) a prescription says not to exceed, as the therapist wrote it in its notes ("stop if
    knee pain > 4"), or None. (The history has no column for it; see the reports' review thresholds.)"""
    if rx is None or not rx.notes:
        return None
    m = _PAIN_LIMIT.search(rx.notes)
    if m is None:
        return None
    value = float(m.group(1))
    return value if 0 <= value <= 10 else None


def week_days(monday: date, first: date, last: date) -> list[date]:
    """The days of the week starting ``monday`` that fall within ``first`` … ``last`` (inclusive)."""
    return [d for d in (monday + timedelta(days=i) for i in range(7)) if first <= d <= last]


def assign(
    db: Session,
    patient: str,
    exercise_id: str,
    *,
    reps: int | None = None,
    sets: int | None = None,
    hold_s: float | None = None,
    rom_deg: float | None = None,
    per_week: int | None = None,
    until: date | None = None,
    start: date | None = None,
    notes: str = "",
    exercise_dirs: Iterable = (),
) -> tuple[Prescription, Prescription | None]:
    """Assign an exercise (added to ``db``, not committed). Returns (new prescription, the one it replaced).

    An unknown exercise id raises ``DefinitionError`` with the closest ids.
    """
    from coach.exercise.library import get_definition

    definition = get_definition(exercise_id, extra_dirs=exercise_dirs)
    start = check_day(start, "The start date") or utc_now().date()
    check_day(until, "--until")
    if until is not None and until < start:
        raise CoachError(f"--until {until.isoformat()} is before the prescription starts ({start.isoformat()}).")
    for label, value, most in (("--reps", reps, MAX_REPS), ("--sets", sets, MAX_SETS),
                               ("--per-week", per_week, MAX_PER_WEEK)):
        if value is not None and not 1 <= value <= most:
            raise CoachError(f"{label} must be from 1 to {most}, got {value}.")
    for label, value, most in (("--hold-s", hold_s, MAX_HOLD_S), ("--rom-deg", rom_deg, 360.0)):
        if value is not None and not (math.isfinite(value) and 0 < value <= most):
            raise CoachError(f"{label} must be above 0 and at most {most:g}, got {value}.")
    t = definition.targets
    is_hold = bool(getattr(t, "hold_s", None)) and not t.reps
    p = get_or_create_patient(db, patient)
    old = prescription_for(db, p.name, definition.id)
    if old is not None:
        old.active = False
        old.ended_at = utc_now()
    def pick(given, name, default):
        """Given, else what the replaced prescription said, else the definition's target."""
        if given is not None:
            return given
        if old is not None and getattr(old, name) is not None:
            return getattr(old, name)
        return default

    rx = Prescription(
        patient_id=p.id,
        exercise_id=definition.id,
        reps=pick(reps, "reps", None if is_hold else t.reps),
        sets=pick(sets, "sets", t.sets),
        hold_s=pick(hold_s, "hold_s", t.hold_s),
        rom_deg=pick(rom_deg, "rom_deg", t.rom_deg),
        per_week=pick(per_week, "per_week", None),
        start_date=start,
        until_date=pick(until, "until_date", None),
        notes=notes or (old.notes if old is not None else ""),
        active=True,
    )
    db.add(rx)
    db.flush()
    return rx, old


def end(db: Session, patient: str, exercise_id: str) -> Prescription:
    """End the patient's active prescription of an exercise (not committed)."""
    p = get_patient(db, patient)
    rx = prescription_for(db, p.name, exercise_id)
    if rx is None:
        active = [r.exercise_id for r in patient_prescriptions(db, p.name, include_ended=False)]
        hint = f" Active: {', '.join(active)}." if active else " They have no active prescriptions."
        raise CoachError(f"{p.name} has no active prescription of {exercise_id!r}.{hint}")
    rx.active = False
    rx.ended_at = utc_now()
    db.flush()
    return rx


def targets_for_workout(db: Session, patient: str, exercise_id: str, on: date | None = None
                        ) -> tuple[Prescription | None, Targets | None]:
    """The active prescription a workout of this exercise follows today, and its targets (or None, None)."""
    rx = prescription_for(db, patient, exercise_id, on or utc_now().date())
    if rx is None:
        return None, None
    return rx, Targets(sets=rx.sets, reps=rx.reps, hold_s=rx.hold_s, rom_deg=rx.rom_deg, notes=rx.notes or "")


def workout_targets(db_path, patient: str, exercise_id: str) -> tuple[int | None, Targets | None]:
    """For ``coach workout``: (prescription id, targets) of the patient's active prescription of the
    exercise in the database file ``db_path``, or (None, None) when there is none (or no database yet)."""
    from db.engine import close_database, history_exists, open_database

    if not patient.strip() or not history_exists(db_path):
        return None, None
    sm = open_database(db_path)
    try:
        with sm() as db:
            rx, targets = targets_for_workout(db, patient, exercise_id)
            return (rx.id if rx is not None else None), targets
    finally:
        close_database(sm)
