"""A patient's history made by running the real pipeline: synthetic recordings (``coach.devtools.synthetic``) replayed
through ``coach.app.workout.Workout`` into ``coach.app.session_recorder.SessionRecorder``, session by session, with
wall-clock start times spread over weeks. Used by the report benchmark and the report tests.

Nothing is inserted by hand: every rep, fault, hold and not-measurable interval in the database is what
the engine produced. Depth grows over the weeks (range of motion improves, the "shallow" squat fault goes
away), the right elbow lags the left one, a few sessions stop short of the target, some have the person
step out of view, and pain goes down while effort stays moderate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from db.models import utc_now


@dataclass
class RecordedSession:
    """What the pipeline produced for one generated session (the engine's own summary)."""

    session_id: int
    exercise_id: str
    started_at: datetime
    side: str
    depth: float
    target_reps: int  #: over all sets
    reps: int
    reps_per_set: list[int]
    rom: list[float]  #: per rep, in order
    fault_codes: list[str]
    not_measurable_s: float
    pain_0_10: int | None
    effort_rpe_0_10: int | None


@dataclass
class History:
    patient: str
    first_day: date
    last_day: date
    sessions: list[RecordedSession] = field(default_factory=list)
    prescriptions: dict[str, tuple[int, int, float, int]] = field(default_factory=dict)  #: sets, reps, rom, per week


#: exercise -> (sets, reps, rom_deg, per_week) prescribed
SQUAT_RX = (2, 8, 75.0, 3)
ELBOW_RX = (1, 6, 95.0, 2)


def _schedule_weeks(weeks: int, today: date) -> list[tuple[date, str]]:
    """(day, exercise) over ``weeks`` weeks ending this week: squats Mon/Wed/Fri, elbow Tue/Thu (both arms).

    One squat session is missed in the third week, so adherence is not perfect.
    """
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    out = []
    for w in range(weeks):
        monday = start + timedelta(weeks=w)
        for dow in (0, 2, 4):
            if w == 2 and dow == 4:
                continue  # missed
            out.append((monday + timedelta(days=dow), "squat"))
        for dow in (1, 3):
            out.append((monday + timedelta(days=dow), "elbow_flexion"))
    return [(d, ex) for d, ex in out if d <= today]


def _schedule_days(days: int, today: date) -> list[tuple[date, str]]:
    """A squat session every day for ``days`` days up to today, elbow sessions on Tuesdays and Thursdays."""
    out = []
    for i in range(days):
        d = today - timedelta(days=days - 1 - i)
        out.append((d, "squat"))
        if d.weekday() in (1, 3):
            out.append((d, "elbow_flexion"))
    return out


def generate_history(
    db_path: str | Path,
    patient: str = "test-patient",
    *,
    weeks: int | None = 8,
    days: int | None = None,
    today: date | None = None,
    fps: float = 15.0,
) -> History:
    """Fill ``db_path`` with a patient's sessions made by the real pipeline; return what it recorded."""
    from coach.app import prescriptions
    from coach.exercise.library import get_definition
    from coach.app.session_recorder import SessionRecorder
    from coach.devtools.synthetic import synthesize
    from coach.app.workout import Workout, WorkoutPlan
    from coach.app.sinks import RecorderSink
    from db.engine import close_database, open_database, write_session

    today = today or utc_now().date()
    schedule = _schedule_days(days, today) if days else _schedule_weeks(weeks or 8, today)
    first_day, last_day = schedule[0][0], schedule[-1][0]
    sm = open_database(db_path, synchronous="NORMAL")  # bulk writing: no fsync per rep
    history = History(patient, first_day, last_day)
    clips: dict[tuple, object] = {}
    try:
        rx_ids = {}
        with write_session(sm) as db:
            for ex, (sets, reps, rom, per_week) in (("squat", SQUAT_RX), ("elbow_flexion", ELBOW_RX)):
                rx, _ = prescriptions.assign(db, patient, ex, sets=sets, reps=reps, rom_deg=rom,
                                             per_week=per_week, start=first_day)
                rx_ids[ex] = rx.id
                history.prescriptions[ex] = (sets, reps, rom, per_week)
        n_days = max(1, (last_day - first_day).days)
        definitions = {ex: get_definition(ex) for ex in ("squat", "elbow_flexion")}
        for i, (day, ex) in enumerate(schedule):
            progress = (day - first_day).days / n_days  # 0 … 1 over the period
            sets, reps, _rom, _pw = history.prescriptions[ex]
            sides = ("left", "right") if ex == "elbow_flexion" else ("left",)
            for k, side in enumerate(sides):
                lag = 0.12 if side == "right" else 0.0
                depth = round(min(1.0, 0.6 + 0.4 * progress - lag) / 0.05) * 0.05
                depth = max(0.5, min(1.0, depth))
                short = (i % 7 == 5)  # now and then the person stops early
                n_reps = sets * reps - (3 if short else 0)
                dropout = (i % 5 == 3)  # now and then the person steps out of view
                key = (ex, side, depth, n_reps, dropout)
                clip = clips.get(key)
                if clip is None:
                    drop = ((4.0, 5.5),) if dropout else ()
                    # the elbow from half-way between side and front: both arms stay in view
                    extra = dict(limbs=side, view="oblique") if ex == "elbow_flexion" else {}
                    clip = clips[key] = synthesize(ex, reps=n_reps, depth=depth, rep_s=2.0, fps=fps, side=side,
                                                   dropouts=drop, seed=len(clips), **extra)
                d = definitions[ex]
                started = datetime.combine(day, time(9 + 2 * k, 0), tzinfo=timezone.utc)
                pain = max(0, round(5 - 4 * progress)) if ex == "squat" else max(0, round(3 - 3 * progress))
                effort = 6 + (i % 3) - 1
                rec = SessionRecorder(sm, patient, d.id, d.content_hash, str(d.version), f"synthetic:{ex}:{side}",
                                      prescription_id=rx_ids[ex], started_at=started)
                workout = Workout(d, WorkoutPlan(sets=sets, reps=reps, rest_s=0.0),
                                  [RecorderSink(rec, d.movement.measure)], live=False)
                reason = "source ended"
                for pose in clip.series.frames():
                    workout.process(None, pose)
                    if workout.done:
                        reason = "completed"
                        break
                summary = workout.finish(reason)
                rec.add_note(pain, effort, "knee a bit stiff" if pain >= 4 and ex == "squat" else "")
                rec.finish(reason)
                records = [r for s in summary.sets for r in s.result.rep_records]
                history.sessions.append(RecordedSession(
                    session_id=rec.session_id, exercise_id=ex, started_at=started, side=side, depth=depth,
                    target_reps=sets * reps, reps=summary.reps,
                    reps_per_set=[s.result.reps for s in summary.sets],
                    rom=[r.range_of_motion for r in records if not math.isnan(r.range_of_motion)],
                    fault_codes=[f.code for s in summary.sets for f in s.result.faults],
                    not_measurable_s=sum(s.result.not_measurable_s for s in summary.sets),
                    pain_0_10=pain, effort_rpe_0_10=effort,
                ))
    finally:
        close_database(sm)
    return history
