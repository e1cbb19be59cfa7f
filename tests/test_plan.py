"""Prescriptions: plan assign / show / end, and a workout that follows them and keeps pain and effort."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from coach.cli.main import app
from coach.errors import USER_ERRORS
from coach.pose.recording import save_recording
from coach.devtools.synthetic import synthesize
from db.engine import close_database, open_database
from db.prescriptions import patient_prescriptions, prescription_for
from coach.api.schemas.sessions import session_detail

runner = CliRunner()


def _cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def _error(result) -> str:
    assert result.exit_code != 0
    assert isinstance(result.exception, USER_ERRORS), result.exception
    return str(result.exception)


def _rxs(db, patient, include_ended=True):
    sm = open_database(db)
    try:
        with sm() as s:
            return [(r.exercise_id, r.sets, r.reps, r.rom_deg, r.per_week, r.active)
                    for r in patient_prescriptions(s, patient, include_ended=include_ended)]
    finally:
        close_database(sm)


def test_assign_show_end(tmp_path):
    db = tmp_path / "h.sqlite"
    result = _cli("plan", "assign", "ana", "squat", "--reps", 8, "--sets", 2, "--rom-deg", 85, "--per-week", 3,
                  "--until", "2099-12-31", "--db", db)
    assert result.exit_code == 0, result.output
    assert "Prescribed squat for ana: 2 sets, 8 reps, range of motion 85°, 3 sessions a week, until 2099-12-31" in result.output
    assert _rxs(db, "ana") == [("squat", 2, 8, 85.0, 3, True)]
    # defaults come from the exercise definition
    assert _cli("plan", "assign", "ana", "elbow_flexion", "--db", db).exit_code == 0
    assert ("elbow_flexion", 2, 10, 100.0, None, True) in _rxs(db, "ana")
    # assigning again replaces, keeping what is not given
    result = _cli("plan", "assign", "ana", "squat", "--reps", 12, "--db", db)
    assert "replaces the earlier prescription" in result.output
    assert _rxs(db, "ana", include_ended=False) == [("elbow_flexion", 2, 10, 100.0, None, True),
                                                    ("squat", 2, 12, 85.0, 3, True)]
    shown = _cli("plan", "show", "ana", "--all", "--db", db)
    assert shown.exit_code == 0 and shown.output.count("squat") == 2 and "ended" in shown.output
    result = _cli("plan", "end", "ana", "squat", "--db", db)
    assert result.exit_code == 0 and "Ended ana's prescription of squat" in result.output
    assert [r[0] for r in _rxs(db, "ana", include_ended=False)] == ["elbow_flexion"]


def test_friendly_errors(tmp_path):
    db = tmp_path / "h.sqlite"
    message = _error(_cli("plan", "assign", "ana", "squatt", "--db", db))
    assert "no exercise 'squatt'" in message and "did you mean 'squat'" in message
    assert "No history" in _error(_cli("plan", "show", "ana", "--db", db))
    assert _cli("plan", "assign", "ana", "squat", "--db", db).exit_code == 0
    assert "no active prescription of 'lunge'" in _error(_cli("plan", "end", "ana", "lunge", "--db", db))
    assert "No patient named 'bob'" in _error(_cli("plan", "show", "bob", "--db", db))
    assert "must be a date" in _error(_cli("plan", "assign", "ana", "squat", "--until", "soon", "--db", db))
    assert "before the prescription starts" in _error(
        _cli("plan", "assign", "ana", "squat", "--until", "2001-01-01", "--db", db))


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "squat.npz"
    save_recording(path, synthesize("squat", reps=12, depth=0.85, fps=15).series)
    return path


def _workout(db, recording, *extra):
    result = _cli("workout", "-e", "squat", "-p", "ana", "--source", recording, "--no-show", "--db", db, "--json",
                  *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{"):])


def test_workout_follows_the_prescription_and_keeps_pain_and_effort(tmp_path, recording):
    db = tmp_path / "h.sqlite"
    assert _cli("plan", "assign", "ana", "squat", "--reps", 4, "--sets", 2, "--db", db).exit_code == 0
    out = _workout(db, recording, "--pain", 3, "--effort", 7, "--note", "knee stiff")
    assert [(s["index"], s["reps"], s["target_reps"]) for s in out["sets"]] == [(1, 4, 4), (2, 4, 4)]
    sm = open_database(db)
    try:
        with sm() as s:
            detail = session_detail(s, out["session_id"])
            rx = prescription_for(s, "ana", "squat")
            from db.models import WorkoutSession

            assert s.get(WorkoutSession, out["session_id"]).prescription_id == rx.id
    finally:
        close_database(sm)
    assert [st["target_reps"] for st in detail["sets"]] == [4, 4]
    assert detail["notes"] == [{"pain_0_10": 3, "effort_rpe_0_10": 7, "text": "knee stiff",
                                "created_at": detail["notes"][0]["created_at"]}]


def test_explicit_targets_win_over_the_prescription(tmp_path, recording):
    db = tmp_path / "h.sqlite"
    assert _cli("plan", "assign", "ana", "squat", "--reps", 4, "--sets", 2, "--db", db).exit_code == 0
    out = _workout(db, recording, "--reps", 5)
    assert [(s["reps"], s["target_reps"]) for s in out["sets"]] == [(5, 5)]
    sm = open_database(db)
    try:
        with sm() as s:
            from db.models import WorkoutSession

            assert s.get(WorkoutSession, out["session_id"]).prescription_id is None
    finally:
        close_database(sm)


def test_no_prescription_counts_the_whole_file(tmp_path, recording):
    out = _workout(tmp_path / "h.sqlite", recording)
    assert out["reps"] == 12 and len(out["sets"]) == 1


def test_pain_needs_a_kept_session(tmp_path, recording):
    result = _cli("workout", "-e", "squat", "--source", recording, "--no-show", "--no-db", "--pain", 2)
    assert "drop --no-db" in _error(result)
    result = _cli("workout", "-e", "squat", "--source", recording, "--no-show", "--db", tmp_path / "x.sqlite",
                  "--pain", 11)
    assert result.exit_code == 2  # typer's range check: a usage error, not a traceback
