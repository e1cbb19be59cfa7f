"""Issue 13: one definition of "prescribed", adherence of partial weeks, pain max and red flag, notes that
reach the patient, the help of every command, and the end-of-workout summary's set column. Workouts run
the real pipeline on synthetic keypoint recordings through the CLI; the database is a temporary SQLite."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from coach.cli.main import app
from coach.devtools.synthetic import synthesize
from coach.pose.recording import save_recording
from coach.reports.model import build_report
from db.engine import close_database, open_database, write_session

runner = CliRunner()


def _cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def _ok(*args):
    result = _cli(*args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def five_squats(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "squat5.npz"
    save_recording(path, synthesize("squat", reps=5, depth=0.85, fps=15).series)
    return path


def _report(db, patient="ana", **kw):
    sm = open_database(db)
    try:
        with sm() as s:
            return build_report(s, patient, **kw)
    finally:
        close_database(sm)


def _workout(db, recording, *extra):
    out = _ok("workout", "-e", "squat", "-p", "ana", "--source", recording, "--no-show", "--db", db, "--json",
              *extra)
    return json.loads(out[out.index("{"):])


def _set_start(db, session_id, when: datetime):
    """Move a recorded session to another wall-clock start (a history spread over days)."""
    from db.models import WorkoutSession

    sm = open_database(db)
    try:
        with write_session(sm) as s:
            s.get(WorkoutSession, session_id).started_at = when
    finally:
        close_database(sm)


def test_a_session_stopped_after_set_one_is_judged_against_all_its_sets(tmp_path, five_squats):
    db = tmp_path / "h.sqlite"
    _ok("plan", "assign", "ana", "squat", "--reps", 4, "--sets", 3, "--per-week", 3, "--db", db)
    out = _workout(db, five_squats)  # set 1: 4 reps, set 2: 1 rep, then the recording ends
    assert out["reps"] == 5 and len(out["sets"]) == 2
    squat = next(x for x in _report(db).summary.exercises if x.exercise_id == "squat")
    assert (squat.reps_done, squat.reps_prescribed) == (5, 12)  # not 5/8: set 3 was prescribed too
    listed = _ok("sessions", "list", "--db", db)
    assert re.search(r"\b5/12\b", listed), listed
    (row,) = json.loads(_ok("sessions", "list", "--db", db, "--json"))
    assert row["target_reps"] == 12


def test_a_session_before_any_prescription_has_no_target(tmp_path, five_squats):
    db = tmp_path / "h.sqlite"
    first = _workout(db, five_squats)["session_id"]
    _set_start(db, first, datetime.now(timezone.utc) - timedelta(days=2))
    _ok("plan", "assign", "ana", "squat", "--reps", 5, "--sets", 1, "--db", db)
    _workout(db, five_squats)
    report = _report(db)
    points = {p.session_id: p for e in report.exercises for p in e.sessions}
    assert points[first].target_reps is None  # it was judged against the later prescription's reps
    squat = report.summary.exercises[0]
    assert (squat.reps_done, squat.reps_prescribed, squat.reps_outside_plan) == (5, 5, 5)
    listed = _ok("sessions", "list", "--db", db)
    assert re.search(r"\b5/5\b", listed) and listed.count("/5 ") == 1, listed


def test_day_one_of_a_new_plan_is_not_a_partial_failure(tmp_path, five_squats):
    db = tmp_path / "h.sqlite"
    _ok("plan", "assign", "ana", "squat", "--reps", 5, "--sets", 1, "--per-week", 3, "--db", db)
    _ok("plan", "assign", "ana", "elbow_flexion", "--per-week", 2, "--db", db)
    _workout(db, five_squats)
    sm = _report(db).summary
    # day one: one squat session and one elbow session are due (3/7 and 2/7 of a week, rounded up)
    assert (sm.sessions_prescribed, sm.sessions_counted, sm.adherence_percent) == (2, 1, 50)
    squat = next(x for x in sm.exercises if x.exercise_id == "squat")
    assert (squat.sessions_done, squat.sessions_prescribed, squat.adherence_percent) == (1, 1, 100)
    elbow = next(x for x in sm.exercises if x.exercise_id == "elbow_flexion")
    assert (elbow.sessions_done, elbow.sessions_prescribed) == (0, 1)  # prescribed, not done: listed
    assert any("none of the 1 prescribed sessions" in a for a in sm.alerts)


def test_prescribed_sessions_of_partial_weeks():
    from coach.app.prescriptions import prescribed_sessions, week_days
    from coach.reports.model import PrescriptionInfo

    monday = date(2026, 3, 2)
    rx = PrescriptionInfo(1, "squat", 3, 10, None, None, 3, date(2026, 3, 4), None, True, None)
    days = week_days(monday, date(2026, 3, 1), date(2026, 3, 31))
    assert prescribed_sessions([rx], "squat", days) == 3  # Wednesday to Sunday: ceil(15/7)
    assert prescribed_sessions([rx], "squat", week_days(monday, monday, date(2026, 3, 4))) == 1  # day one
    assert prescribed_sessions([rx], "squat", week_days(monday + timedelta(days=7), monday, date(2026, 3, 31))) == 3
    ended = PrescriptionInfo(2, "squat", 3, 10, None, None, 3, date(2026, 2, 1), date(2026, 3, 3), False, None)
    assert prescribed_sessions([ended], "squat", days) == 1  # Monday and Tuesday of it: ceil(6/7)


def test_pain_max_flag_over_the_prescriptions_limit_and_one_rounding(tmp_path, five_squats):
    db = tmp_path / "h.sqlite"
    _ok("plan", "assign", "ana", "squat", "--reps", 5, "--sets", 1, "--note", "Stop if knee pain > 4", "--db", db)
    for pain in (1, 2, 6, 0):  # mean 2.25: half up is 2.3, everywhere
        _workout(db, five_squats, "--pain", pain)
    sm = _report(db).summary
    squat = sm.exercises[0]
    assert (squat.pain_max, squat.pain_limit, squat.pain_limit_source, squat.pain_over_limit) == (6, 4, "prescription", 1)
    assert squat.pain_flag and sm.pain_over_limit == 1 and sm.pain_mean == 2.3
    assert any("pain over the limit of 4/10 in 1 session (highest 6/10)" in a for a in sm.alerts)
    terminal = _ok("report", "ana", "--db", db)
    assert "Pain mean 2.3, max 6" in terminal and "✱" in terminal
    data = json.loads(_ok("report", "ana", "--db", db, "-f", "json", "-o", tmp_path / "r.json") and
                      (tmp_path / "r.json").read_text())
    assert data["summary"]["pain_mean"] == 2.3 and data["summary"]["pain_max"] == 6


def test_the_default_pain_limit_and_limits_written_in_notes():
    from coach.app.prescriptions import pain_limit
    from coach.reports.model import PrescriptionInfo
    from coach.reports.summary import review_thresholds

    def rx(notes):
        return PrescriptionInfo(1, "squat", 3, 10, None, None, 3, date(2026, 3, 4), None, True, None, notes)

    assert pain_limit(rx("stop if knee pain > 4")) == 4
    assert pain_limit(rx("Pain above 3: rest a day")) == 3
    assert pain_limit(rx("go slowly")) is None and pain_limit(None) is None
    assert review_thresholds().pain_limit_0_10 == 5


def test_the_prescriptions_note_reaches_the_patient_and_the_therapist(tmp_path, five_squats):
    db = tmp_path / "h.sqlite"
    note = "stop if knee pain > 4"
    assert note in _ok("plan", "assign", "ana", "squat", "--reps", 5, "--sets", 1, "--note", note, "--db", db)
    assert note in _ok("plan", "show", "ana", "--db", db)
    out = _ok("workout", "-e", "squat", "-p", "ana", "--source", five_squats, "--no-show", "--db", db)
    assert f"Note from your therapist: {note}" in out
    assert out.index("Note from your therapist") < out.index("repetitions")  # before the set's results
    out = _ok("workout", "-e", "squat", "-p", "ana", "--source", five_squats, "--no-show", "--db", db, "--reps", 2)
    assert note in out  # explicit targets do not hide the safety note
    _ok("report", "ana", "--db", db, "-o", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert html.count(note.replace(">", "&gt;")) >= 2  # under the exercise in the summary table and in the prescriptions


def test_the_end_of_workout_summary_numbers_reps_within_their_set(tmp_path, five_squats):
    db = tmp_path / "h.sqlite"
    out = _ok("workout", "-e", "squat", "-p", "ana", "--source", five_squats, "--no-show", "--db", db,
              "--sets", 2, "--reps", 3, "--pain", 2, "--effort", 6)
    assert "5 reps of 6 planned (2 × 3)" in out
    reps = out[out.index("repetitions"):]
    header = reps.splitlines()[2]
    assert re.search(r"set\s*┃\s*rep", header), header
    rows = [line for line in reps.splitlines() if re.match(r"│\s+\d", line)]
    assert [tuple(re.findall(r"\d+", r)[:2]) for r in rows] == [("1", "1"), ("1", "2"), ("1", "3"), ("2", "1"),
                                                                 ("2", "2")]
    sets = out[:out.index("repetitions")]
    assert "target" in sets and " L " not in sets and " R " not in sets  # squat counts both legs at once
    assert "kept with the session: pain 2/10, effort 6/10" in out


def test_the_note_option_has_one_name():
    for args in (("workout",), ("plan", "assign"), ("sessions", "note")):
        text = _ok(*args, "--help")
        assert "--note " in text, args
        assert "--notes" not in text and "--text" not in text, args


@pytest.mark.parametrize("args", [(), ("sessions", "list"), ("plan", "assign"), ("report",), ("workout",),
                                  ("exercises", "show"), ("exercises", "try"), ("users", "add"), ("eval", "reps")])
def test_help_shows_flags_without_values_arguments_by_name_and_choices(args):
    text = _ok(*args, "--help")
    assert "<bool>" not in text, text
    assert not re.search(r"\{[a-z_]+\}", text), text  # not {patient}
    if args == ("plan", "assign"):
        assert "Usage: coach plan assign [OPTIONS] PATIENT EXERCISE" in text
    if args == ("report",):
        assert "[PATIENT]" in text
    if args in (("workout",), ("exercises", "try")):
        assert "left|right|both" in text and "lite|full|heavy" in text


def test_exercises_show_prints_settings_in_words():
    text = _ok("exercises", "show", "squat")
    assert "{'" not in text and "':" not in text
    assert "range: rest high, min span 40" in text and "reps 10, sets 3, range of motion 80°" in text
