"""The session recorder never loses a rep: commits per rep, survives SIGKILL, closes on errors; and the
`sessions` commands show what it kept. Each test runs on a temporary SQLite file and on a fresh database
of a real PostgreSQL server (skipped, with the reason, where none can start)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from coach.cli.sessions_cmd import register
from coach.errors import USER_ERRORS
from coach.engine.events import (
    FaultRaised,
    FormFault,
    HoldProgress,
    HoldRecord,
    MeasurabilityChanged,
    NotMeasurable,
    PhaseChanged,
    RepCompleted,
    RepRecord,
)
from coach.app.session_recorder import SessionRecorder, downsample
from db.engine import close_database, open_database
from coach.api.schemas.sessions import session_detail

REPO = Path(__file__).resolve().parents[1]


def make_rep(i: int, *, fault: bool = False, side: str = "left") -> RepRecord:
    t0 = 3.0 * i
    faults = (FormFault("shallow", "Sit a little deeper", t0 + 1.0, "warning", i, side, 112.5),) if fault else ()
    return RepRecord(index=i, side=side, start_s=t0, end_s=t0 + 2.5, eccentric_s=1.2, concentric_s=1.3,
                     measure="knee", min_value=80.0 + i, max_value=170.0, faults=faults)


def is_sqlite(db) -> bool:
    return isinstance(db, Path)


def raw_rows(db, sql: str) -> list[tuple]:
    """Query the database through a second, independent connection (sqlite3 or psycopg, not the
    recorder's)."""
    if is_sqlite(db):
        with sqlite3.connect(db) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


@pytest.fixture
def db_path(history_db):
    """The history: a Path (SQLite) or a URL string (PostgreSQL), as --db takes it."""
    return history_db.location


def recorder(db_path, **kw) -> SessionRecorder:
    return SessionRecorder(db_path, kw.pop("patient", "ana"), "squat", "c0ffee" * 8, "2", "clip.mp4", **kw)


# ------------------------------------------------------------------------------------ commits per rep


def test_each_rep_is_visible_to_another_connection_as_soon_as_it_completes(db_path):
    rec = recorder(db_path)
    assert raw_rows(db_path, "SELECT id, ended_at FROM sessions") == [(rec.session_id, None)]
    rec.start_set(1, target_reps=5)
    assert raw_rows(db_path, "SELECT \"index\", target_reps, ended_reason FROM sets") == [(1, 5, None)]
    for i in (1, 2, 3):
        rec.on_event(PhaseChanged(3.0 * i, "down"))
        rec.on_event(RepCompleted(3.0 * i + 2.5, make_rep(i, fault=(i == 2))))
        # mid-set, the recorder still open: the rep and its fault are already in the file
        assert raw_rows(db_path, "SELECT max(\"index\"), count(*) FROM reps") == [(i, i)]
    assert raw_rows(db_path, "SELECT r.\"index\", f.code FROM form_events f JOIN reps r ON r.id = f.rep_id") == [
        (2, "shallow")]
    rec.on_event(FaultRaised(10.0, FormFault("out_of_view", "Step back", 10.0, "info")))
    assert raw_rows(db_path, "SELECT code, rep_id FROM form_events WHERE rep_id IS NULL") == [("out_of_view", None)]
    rec.finish()
    assert raw_rows(db_path, "SELECT ended_reason, started_s, ended_s FROM sets") == [("completed", 3.0, 11.5)]
    assert raw_rows(db_path, "SELECT end_reason FROM sessions WHERE ended_at IS NOT NULL") == [("completed",)]


def test_recorded_reps_equal_the_engine_records(db_path):
    reps = [make_rep(1, fault=True), make_rep(2), make_rep(3, fault=True, side="right")]
    with recorder(db_path) as rec:
        rec.start_set(1, target_reps=3)
        for r in reps:
            rec.on_event(RepCompleted(r.end_s, r))
        rec.end_set("source ended")
    sm = open_database(db_path)
    try:
        with sm() as s:
            d = session_detail(s, rec.session_id)
    finally:
        close_database(sm)
    assert d["sets"][0]["reps"] == [r.to_dict() for r in reps]
    assert d["sets"][0]["ended_reason"] == "source ended"
    assert (d["definition_hash"], d["definition_version"], d["source"]) == ("c0ffee" * 8, "2", "clip.mp4")


def test_faults_are_committed_when_raised_and_linked_to_their_rep_once(db_path):
    """As the engine emits them: frame faults during a rep carry the pending rep's index and come again,
    side credited, in ``rep.faults``; at-turn faults are cued after the ``RepCompleted``; an attempt
    that does not count leaves its faults at the index the next rep will use."""
    q = "SELECT code, time_s, rep_index, side, rep_id IS NOT NULL FROM form_events ORDER BY time_s"
    with recorder(db_path) as rec:
        rec.start_set(1)
        lean = FormFault("forward_lean", "Chest up", 3.5, "warning", 1, "none", 48.0)
        rec.on_event(FaultRaised(3.5, lean))
        assert raw_rows(db_path, q) == [("forward_lean", 3.5, 1, "none", 0)]  # committed at once
        rec.on_event(FaultRaised(5.0, FormFault("knee_valgus", "Knees out", 5.0, "warning", 1, "none")))
        turn = FormFault("shallow", "Sit a little deeper", 4.0, "warning", 1, "left", None)
        credited = FormFault("forward_lean", "Chest up", 3.5, "warning", 1, "left", 48.0)
        valgus = FormFault("knee_valgus", "Knees out", 5.0, "warning", 1, "left")
        # the engine's order: faults during the rep, then those checked at its turn and over it
        rep = RepRecord(1, "left", 3.0, 5.5, 1.0, 1.5, "knee", 100.0, 170.0, (credited, valgus, turn))
        rec.on_event(RepCompleted(5.5, rep))
        rec.on_event(FaultRaised(5.5, turn))  # the at-turn cue, after the rep: not stored twice
        rec.on_event(FaultRaised(7.0, FormFault("forward_lean", "Chest up", 7.0, rep_index=2)))  # attempt ...
        rec.on_event(FaultRaised(8.0, FormFault("out_of_view", "Step back", 8.0)))  # ... abandoned; between reps
        rec.on_event(RepCompleted(11.5, make_rep(2)))  # the rep that counts as 2, without faults
        rec.on_event(FaultRaised(12.0, FormFault("shallow", "Sit a little deeper", 12.0, rep_index=3)))
        rec.end_set("source ended")  # rep 3 never completes
    assert raw_rows(db_path, q) == [
        ("forward_lean", 3.5, 1, "left", 1),
        ("shallow", 4.0, 1, "left", 1),
        ("knee_valgus", 5.0, 1, "left", 1),
        ("forward_lean", 7.0, 2, "none", 0),
        ("out_of_view", 8.0, None, "none", 0),
        ("shallow", 12.0, 3, "none", 0),
    ]
    sm = open_database(db_path)
    try:
        with sm() as s:
            d = session_detail(s, rec.session_id)
    finally:
        close_database(sm)
    assert d["sets"][0]["reps"][0] == rep.to_dict()  # faults in the engine's order
    assert d["sets"][0]["reps"][1]["faults"] == []
    assert d["totals"]["faults"] == 6


def test_holds_and_not_measurable_from_events_then_replaced_by_the_engine_records(db_path):
    rec = recorder(db_path)
    rec.start_set(1, target_hold_s=30.0)
    rec.on_event(HoldProgress(0.2, 0.0, True))  # too short: the engine drops it without an end event
    rec.on_event(HoldProgress(1.0, 0.0, True))
    rec.on_event(HoldProgress(4.0, 3.0, False))
    rec.on_event(MeasurabilityChanged(5.0, False, "needs a side view"))
    rec.on_event(MeasurabilityChanged(6.5, True))
    rec.on_event(HoldProgress(7.0, 3.0, True))
    # committed as they close, before the set ends
    assert raw_rows(db_path, "SELECT start_s, end_s, duration_s FROM holds") == [(1.0, 4.0, 3.0)]
    assert raw_rows(db_path, "SELECT start_s, end_s, reason FROM not_measurable") == [(5.0, 6.5, "needs a side view")]
    rec.add_holds([HoldRecord(1.0, 4.2), HoldRecord(7.0, 9.0)])
    rec.add_not_measurable([NotMeasurable(5.1, 6.4, "left_knee not visible")])
    rec.on_event(HoldProgress(9.0, 5.2, False))  # the engine's records win from now on
    rec.end_set("completed")
    rec.finish()
    assert raw_rows(db_path, "SELECT start_s, end_s, side FROM holds ORDER BY start_s") == [
        (1.0, 4.2, "both"), (7.0, 9.0, "both")]
    assert raw_rows(db_path, "SELECT start_s, end_s, reason FROM not_measurable") == [
        (5.1, 6.4, "left_knee not visible")]


def test_engine_records_given_after_the_set_ended_still_replace_the_event_derived_ones(db_path):
    with recorder(db_path) as rec:
        rec.start_set(1)
        rec.on_event(HoldProgress(1.0, 0.0, True))
        rec.on_event(HoldProgress(3.0, 2.0, False))
        rec.on_event(HoldProgress(4.0, 2.0, True))
        rec.on_event(MeasurabilityChanged(5.0, False, "nobody in view"))
        rec.on_event(PhaseChanged(6.0, "hold"))
        rec.end_set("source ended")  # closes the open hold and blind spell at 6.0
        assert raw_rows(db_path, "SELECT count(*) FROM holds") == [(2,)]
        rec.add_holds([HoldRecord(0.9, 3.0), HoldRecord(4.0, 5.0)])
        rec.add_not_measurable([NotMeasurable(4.8, 6.0, "nobody in view")])
    assert raw_rows(db_path, "SELECT start_s, end_s FROM holds ORDER BY start_s") == [(0.9, 3.0), (4.0, 5.0)]
    assert raw_rows(db_path, "SELECT start_s, end_s FROM not_measurable") == [(4.8, 6.0)]


def test_an_open_hold_or_blind_spell_is_closed_when_the_set_ends(db_path):
    with recorder(db_path) as rec:
        rec.start_set(1)
        rec.on_event(HoldProgress(2.0, 0.0, True))
        rec.on_event(MeasurabilityChanged(3.0, False, "nobody in view"))
        rec.on_event(PhaseChanged(8.0, "hold"))
        rec.end_set("camera lost")
    assert raw_rows(db_path, "SELECT start_s, end_s FROM holds") == [(2.0, 8.0)]
    assert raw_rows(db_path, "SELECT start_s, end_s, reason FROM not_measurable") == [(3.0, 8.0, "nobody in view")]
    assert raw_rows(db_path, "SELECT ended_reason, ended_s FROM sets") == [("camera lost", 8.0)]


def test_angle_series_is_thinned_to_10_hz_and_keeps_gaps(db_path):
    t = np.arange(0, 20, 1 / 30)
    v = 120 + 45 * np.cos(t)
    v[100:130] = np.nan
    with recorder(db_path) as rec:
        rec.start_set(1)
        rec.add_angle_series("knee", t, v)
        rec.end_set()
    (n, tb, vb), = raw_rows(db_path, "SELECT n_samples, times_s_f32, values_f32 FROM angle_series")
    ts, vs = np.frombuffer(tb, "<f4"), np.frombuffer(vb, "<f4")
    assert n == ts.size == vs.size and 195 <= n <= 201
    assert np.all(np.diff(ts) > 0.09)
    assert np.isnan(vs).sum() >= 9
    np.testing.assert_allclose(vs[~np.isnan(vs)], (120 + 45 * np.cos(ts))[~np.isnan(vs)], atol=1e-3)


def test_downsample_validates_its_input():
    with pytest.raises(ValueError, match="same length"):
        downsample(np.zeros(3), np.zeros(4))
    t, v = downsample(np.array([]), np.array([]))
    assert t.size == v.size == 0


def test_sets_are_numbered_and_a_rep_without_a_set_opens_one(db_path):
    with recorder(db_path) as rec:
        rec.on_event(RepCompleted(2.5, make_rep(1)))  # no start_set: set 1 opens by itself
        rec.start_set(target_reps=4)  # closes set 1, opens set 2
        rec.on_event(RepCompleted(5.5, make_rep(1)))
        with pytest.raises(ValueError, match="already recorded"):
            rec.add_rep(make_rep(1))
        rec.add_note(pain_0_10=3, effort_rpe_0_10=7, text="tired")
        with pytest.raises(USER_ERRORS):
            rec.add_note(pain_0_10=12)
    assert raw_rows(db_path, "SELECT \"index\", target_reps, ended_reason FROM sets ORDER BY \"index\"") == [
        (1, None, "completed"), (2, 4, "completed")]
    assert raw_rows(db_path, "SELECT pain_0_10, effort_rpe_0_10, text FROM session_notes") == [(3, 7, "tired")]


def test_nan_in_a_rep_does_not_lose_the_rep(db_path):
    with recorder(db_path) as rec:
        rec.on_event(RepCompleted(2.5, RepRecord(1, "left", 0.0, 2.5, 1.0, 1.5, "knee", float("nan"), 170.0)))
    assert raw_rows(db_path, "SELECT \"index\", min_value, max_value, range_of_motion FROM reps") == [
        (1, None, 170.0, None)]


def test_recorder_accepts_an_open_sessionmaker_and_leaves_it_open(db_path):
    sm = open_database(db_path)
    try:
        with SessionRecorder(sm, "ana", "squat", "h", "1", "camera 0") as rec:
            rec.on_event(RepCompleted(2.5, make_rep(1)))
        with sm() as s:  # still usable
            assert session_detail(s, rec.session_id)["totals"]["reps"] == 1
    finally:
        close_database(sm)


def test_bad_input_is_refused(db_path):
    with pytest.raises(USER_ERRORS, match="patient name is empty"):
        recorder(db_path, patient="  ")
    rec = recorder(db_path)
    with pytest.raises(TypeError):
        rec.on_event("a rep")
    rec.finish()
    rec.finish()  # twice is fine
    with pytest.raises(RuntimeError, match="already finished"):
        rec.on_event(RepCompleted(2.5, make_rep(1)))


def test_a_retried_job_replaces_its_partial_session_instead_of_adding_one(db_path):
    """A worker killed after 2 reps of job J, then the retry records all 3: one session of J, 3 reps."""
    killed = open_database(db_path)  # the killed worker's connections
    rec = SessionRecorder(killed, "ana", "squat", "c0ffee" * 8, "2", "upload: a.npz", job_id="j" * 32)
    rec.start_set(1)
    for i in (1, 2):
        rec.on_event(RepCompleted(make_rep(i).end_s, make_rep(i, fault=True)))
    close_database(killed)  # killed here: never finished; then the retry
    with recorder(db_path, job_id="j" * 32) as retry:
        retry.start_set(1)
        for i in (1, 2, 3):
            retry.on_event(RepCompleted(make_rep(i).end_s, make_rep(i, fault=True)))
    with recorder(db_path) as live:  # a live session of the same patient is not touched
        live.on_event(RepCompleted(2.5, make_rep(1)))
    assert raw_rows(db_path, "SELECT id, job_id, end_reason FROM sessions ORDER BY id") == [
        (retry.session_id, "j" * 32, "completed"), (live.session_id, None, "completed")]
    assert raw_rows(db_path, "SELECT count(*) FROM reps") == [(4,)]
    assert raw_rows(db_path, "SELECT count(*) FROM form_events") == [(3,)]  # the partial one's went with it
    assert raw_rows(db_path, "SELECT count(*) FROM sets") == [(2,)]


# ----------------------------------------------------------------------------- errors and Ctrl-C


@pytest.mark.parametrize("exc, reason", [(RuntimeError("camera driver crashed"), "error"),
                                         (KeyboardInterrupt(), "interrupted")])
def test_an_exception_or_ctrl_c_still_closes_the_session(db_path, exc, reason):
    with pytest.raises(type(exc)):
        with recorder(db_path) as rec:
            rec.start_set(1, target_reps=10)
            for i in (1, 2):
                rec.on_event(RepCompleted(make_rep(i).end_s, make_rep(i)))
            raise exc
    assert raw_rows(db_path, "SELECT count(*) FROM reps") == [(2,)]
    assert raw_rows(db_path, "SELECT ended_reason, ended_s FROM sets") == [(reason, make_rep(2).end_s)]
    assert raw_rows(db_path, "SELECT end_reason, ended_at IS NOT NULL FROM sessions") == [(reason, 1)]


# ----------------------------------------------------------------------------------------- SIGKILL

CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, sys.argv[1])
    from coach.engine.events import FaultRaised, FormFault, PhaseChanged, RepCompleted, RepRecord
    from coach.app.session_recorder import SessionRecorder

    db, mode, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
    rec = SessionRecorder(db, "ana", "squat", "h", "1", "synthetic squat")
    rec.start_set(1, target_reps=n)
    for i in range(1, n + 1):
        t0 = 3.0 * i
        fault = FormFault("shallow", "Sit a little deeper", t0 + 1.0, "warning", i, "left", 112.5)
        rep = RepRecord(i, "left", t0, t0 + 2.5, 1.2, 1.3, "knee", 80.0 + i % 7, 170.0, (fault,))
        rec.on_event(RepCompleted(t0 + 2.5, rep))
        print(i, flush=True)  # rep i is committed
        if mode == "self" and i == n:
            rec.on_event(PhaseChanged(t0 + 3.0, "down"))  # rep n + 1 under way
            rec.on_event(FaultRaised(t0 + 3.5, FormFault("forward_lean", "Chest up", t0 + 3.5, rep_index=i + 1)))
            os.kill(os.getpid(), signal.SIGKILL)
""")


def _check_after_kill(db_path, at_least: int) -> int:
    """Every committed rep is there, each with its fault, numbered 1..n, and the file is sound."""
    if is_sqlite(db_path):  # PostgreSQL checks its own pages and always enforces foreign keys
        assert raw_rows(db_path, "PRAGMA integrity_check") == [("ok",)]
        assert raw_rows(db_path, "PRAGMA foreign_key_check") == []
    reps = raw_rows(db_path, "SELECT \"index\" FROM reps ORDER BY \"index\"")
    n = len(reps)
    assert n >= at_least
    assert [r[0] for r in reps] == list(range(1, n + 1))
    # a rep and its fault are one transaction: never one without the other
    assert raw_rows(db_path, "SELECT count(*) FROM form_events WHERE rep_id IS NOT NULL") == [(n,)]
    assert raw_rows(db_path, "SELECT ended_at FROM sessions") == [(None,)]  # killed: not finished
    return n


def test_sigkill_right_after_some_reps_keeps_every_one(db_path, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.run([sys.executable, str(script), str(REPO), str(db_path), "self", "7"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert _check_after_kill(db_path, 7) == 7
    # the database opens normally afterwards, and the next session is recorded after it
    with recorder(db_path) as rec:
        rec.on_event(RepCompleted(2.5, make_rep(1)))
    assert raw_rows(db_path, "SELECT count(*) FROM sessions") == [(2,)]


@pytest.mark.parametrize("kill_after", [1, 5, 23])
def test_sigkill_at_any_moment_keeps_every_committed_rep(db_path, tmp_path, kill_after):
    """Killed from outside while it is writing as fast as it can, so often in the middle of a commit."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script), str(REPO), str(db_path), "loop", "100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(kill_after):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    n = _check_after_kill(db_path, kill_after)
    print(f"killed after {kill_after} reported reps; {n} in the database")


# -------------------------------------------------------------------------------------- the commands


@pytest.fixture
def cli():
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Test root so that `sessions` stays a sub-command."""

    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def _record_workout(db_path, patient: str = "ana") -> tuple[int, list[RepRecord]]:
    reps = [make_rep(1, fault=True), make_rep(2), make_rep(3)]
    with recorder(db_path, patient=patient) as rec:
        rec.start_set(1, target_reps=3)
        for r in reps:
            rec.on_event(RepCompleted(r.end_s, r))
        rec.on_event(FaultRaised(12.0, FormFault("out_of_view", "Step back", 12.0, "info")))
        rec.add_holds([HoldRecord(0.5, 2.0)])
        rec.add_not_measurable([NotMeasurable(12.0, 13.0, "left_ankle not visible")])
        rec.end_set("source ended")
    return rec.session_id, reps


def test_sessions_list_and_show(cli, db_path):
    sid, reps = _record_workout(db_path)
    _record_workout(db_path, patient="bo")
    result = cli("sessions", "list", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    # no prescription was in force: 3 reps and no target (the one definition of prescribed, issue 13)
    assert "ana" in result.output and "bo" in result.output and not re.search(r"\b3/\d", result.output)

    result = cli("sessions", "list", "--patient", "ana", "--db", str(db_path), "--json")
    rows = json.loads(result.stdout)
    assert [(r["id"], r["n_reps"], r["n_faults"], r["end_reason"]) for r in rows] == [(sid, 3, 2, "completed")]

    result = cli("sessions", "show", str(sid), "--db", str(db_path))
    assert result.exit_code == 0, result.output
    for text in ("Session 1", "ana", "squat", "shallow", "out_of_view", "left_ankle not visible", "Holds",
                 "source ended", "3 reps"):
        assert text in result.output, text

    result = cli("sessions", "show", str(sid), "--db", str(db_path), "--json")
    d = json.loads(result.stdout)
    assert d["sets"][0]["reps"] == [r.to_dict() for r in reps]
    assert d["sets"][0]["holds"] == [HoldRecord(0.5, 2.0).to_dict()]
    assert d["sets"][0]["not_measurable"] == [NotMeasurable(12.0, 13.0, "left_ankle not visible").to_dict()]


def test_a_killed_session_is_listed_as_unfinished(cli, db_path):
    rec = recorder(db_path)
    rec.on_event(RepCompleted(2.5, make_rep(1)))  # never finished
    result = cli("sessions", "list", "--db", str(db_path))
    assert result.exit_code == 0 and "unfinished" in result.output
    rec.finish()  # only to release its connections


def test_friendly_sentences_instead_of_tracebacks(cli, db_path, tmp_path):
    missing = tmp_path / "nowhere" / "coach.sqlite"
    result = cli("sessions", "list", "--db", str(missing))
    assert isinstance(result.exception, USER_ERRORS) and "No session history" in str(result.exception)
    assert not missing.exists()  # looking does not create a database

    close_database(open_database(db_path))  # exists, but empty
    result = cli("sessions", "list", "--db", str(db_path))
    assert isinstance(result.exception, USER_ERRORS) and "No sessions are recorded" in str(result.exception)
    result = cli("sessions", "show", "3", "--db", str(db_path))
    assert isinstance(result.exception, USER_ERRORS) and "no sessions yet" in str(result.exception)

    _record_workout(db_path)
    result = cli("sessions", "show", "42", "--db", str(db_path))
    assert isinstance(result.exception, USER_ERRORS) and "no session with id 42" in str(result.exception)
    result = cli("sessions", "list", "--patient", "carla", "--db", str(db_path))
    assert isinstance(result.exception, USER_ERRORS) and "Known patients: ana" in str(result.exception)


def test_a_note_on_pain_and_effort_is_added_and_shown(cli, db_path):
    sid, _ = _record_workout(db_path)
    result = cli("sessions", "note", str(sid), "--pain", "3", "--effort", "7", "--note", "knee stiff",
                 "--db", str(db_path))
    assert result.exit_code == 0, result.output
    result = cli("sessions", "show", str(sid), "--db", str(db_path))
    assert "pain 3/10, effort 7/10 — knee stiff" in result.output
    assert cli("sessions", "note", str(sid), "--pain", "11", "--db", str(db_path)).exit_code == 2  # usage error
    result = cli("sessions", "note", str(sid), "--db", str(db_path))
    assert isinstance(result.exception, USER_ERRORS) and "needs a pain score" in str(result.exception)
    result = cli("sessions", "note", "99", "--pain", "1", "--db", str(db_path))
    assert isinstance(result.exception, USER_ERRORS) and "no session with id 99" in str(result.exception)


def test_the_database_location_comes_from_the_environment(cli, db_path, monkeypatch):
    _record_workout(db_path)
    monkeypatch.setenv("COACH_DB", str(db_path))
    result = cli("sessions", "list")
    assert result.exit_code == 0 and "ana" in result.output


# ------------------------------------------------------------------------- through the real workout


def _workout_args(recording: Path, db_path, exercise: str = "squat") -> list[str]:
    return ["workout", "--exercise", exercise, "--patient", "ana", "--source", str(recording), "--no-show",
            "--json", "--db", str(db_path)]


@pytest.mark.parametrize("exercise, options", [
    ("squat", dict(reps=6, rep_s=2.2, depth=0.6, noise_px=1.5, seed=7, dropouts=[(3.3, 3.9)])),
    ("plank", dict(hold_s=8.0, dropouts=[(4.0, 4.6)])),
])
def test_the_database_holds_exactly_what_the_workout_json_reports(db_path, tmp_path, exercise, options):
    """Issue 4's acceptance on a synthetic recording: reps, faults, holds and not-measurable time."""
    from coach.cli.main import app
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    recording = save_recording(tmp_path / f"{exercise}.npz", synthesize(exercise, **options).series)
    result = CliRunner().invoke(app, _workout_args(recording, db_path, exercise))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout[result.stdout.index("{"):])
    sm = open_database(db_path)
    try:
        with sm() as s:
            d = session_detail(s, out["session_id"])
    finally:
        close_database(sm)

    def key(f):
        return f["code"], f["time_s"], f["rep_index"]

    sets = d["sets"]
    assert [r for st in sets for r in st["reps"]] == out["reps_records"]
    db_faults = [f for st in sets for r in st["reps"] for f in r["faults"]] + \
                [f for st in sets for f in st["faults_outside_reps"]]
    assert sorted(map(key, db_faults)) == sorted(map(key, out["faults"]))
    assert [h for st in sets for h in st["holds"]] == out["holds"]
    assert [n for st in sets for n in st["not_measurable"]] == out["not_measurable"]
    if exercise == "squat":  # shallow reps and a dropout: there is something to compare
        assert out["reps"] > 0 and db_faults and out["not_measurable"]
    else:
        assert len(out["holds"]) == 1
    assert d["ended_at"] is not None and all(st["ended_reason"] for st in sets)


def test_sigkill_during_a_real_workout_keeps_every_completed_rep(db_path, tmp_path):
    """Issue 4's acceptance: `coach workout` in a subprocess, killed after some reps."""
    import psycopg
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    recording = save_recording(tmp_path / "long.npz", synthesize("squat", reps=150, noise_px=1.0, seed=1).series)
    proc = subprocess.Popen([sys.executable, "coach.py", *_workout_args(recording, db_path)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = 0
    try:
        while proc.poll() is None and seen < 5:
            if not is_sqlite(db_path) or db_path.exists():
                try:
                    seen = raw_rows(db_path, "SELECT count(*) FROM reps")[0][0]
                except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):  # tables not created yet
                    seen = 0
            if seen < 5:
                time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr = proc.stderr.read().decode()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, f"the workout ended before it was killed: {stderr[-2000:]}"
    if is_sqlite(db_path):
        assert raw_rows(db_path, "PRAGMA integrity_check") == [("ok",)]
    reps = [r[0] for r in raw_rows(db_path, "SELECT \"index\" FROM reps ORDER BY \"index\"")]
    assert len(reps) >= seen and reps == list(range(1, len(reps) + 1))
    assert raw_rows(db_path, "SELECT ended_at FROM sessions") == [(None,)]
