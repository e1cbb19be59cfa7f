"""Workouts end to end: the JSON result equals what the database keeps, and a SIGKILL loses no rep."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_coach(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "coach.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env={**os.environ, **(env or {})})


def db_reps(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as con:
        return con.execute('SELECT r."index", r.start_s, r.end_s FROM reps r ORDER BY r.id').fetchall()


def test_workout_json_equals_database_on_a_real_clip(tmp_path, shared_data, pose_model):
    db = tmp_path / "h.sqlite"
    clip = shared_data / "videos" / "squat_side_bw_yuyoujiang.mp4"
    result = run_coach("workout", "-e", "squat", "--source", str(clip), "--no-show", "--json", "--db", str(db),
                       "--patient", "ana")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["reps"] == 3  # labelled count for this clip

    shown = run_coach("sessions", "show", str(out["session_id"]), "--db", str(db), "--json")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    reps = [r for s in detail["sets"] for r in s["reps"]]
    assert len(reps) == out["reps"]
    for mine, kept in zip(out["reps_records"], reps):
        assert kept["start_s"] == pytest.approx(mine["start_s"], abs=1e-6)
        assert kept["end_s"] == pytest.approx(mine["end_s"], abs=1e-6)
        assert kept["min_value"] == pytest.approx(mine["min_value"], abs=1e-4)
    kept_faults = sorted([f["code"] for s in detail["sets"] for f in s["faults_outside_reps"]]
                         + [f["code"] for r in reps for f in r["faults"]])
    assert kept_faults == sorted(f["code"] for f in out["faults"])
    holds = [h for s in detail["sets"] for h in s.get("holds", [])]
    assert len(holds) == len(out["holds"])

    listed = run_coach("sessions", "list", "--db", str(db), "--patient", "ana")
    assert listed.returncode == 0 and "squat" in listed.stdout


def test_sigkill_mid_set_keeps_every_completed_rep(tmp_path, shared_data, pose_model):
    clip = shared_data / "videos" / "squat_bw_mti_mrpose.mp4"  # six reps from 7 s on
    full_db = tmp_path / "full.sqlite"
    full = run_coach("workout", "-e", "squat", "--source", str(clip), "--no-show", "--json", "--db", str(full_db))
    assert full.returncode == 0, full.stderr
    all_reps = db_reps(full_db)
    assert len(all_reps) >= 4

    db = tmp_path / "killed.sqlite"
    proc = subprocess.Popen([sys.executable, str(ROOT / "coach.py"), "workout", "-e", "squat", "--source", str(clip),
                             "--no-show", "--db", str(db)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    if len(db_reps(db)) >= 2:
                        break
                except sqlite3.OperationalError:
                    pass  # schema not created yet
            time.sleep(0.05)
        assert proc.poll() is None, "the workout ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()

    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ended = con.execute("SELECT ended_at FROM sessions").fetchall()
    assert ended == [(None,)]  # killed: the session never ended, but it is there
    kept = db_reps(db)
    assert len(kept) >= 2
    # every rep completed before the kill is there, identical to the uninterrupted run's
    assert kept == all_reps[: len(kept)]


def test_demo_runs_a_full_workout_and_keeps_it(tmp_path):
    out = tmp_path / "demo"
    result = run_coach("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "truth: 6 reps" in result.stdout
    assert len(db_reps(out / "coach.sqlite")) == 6
    video = out / "squat_demo_coached.mp4"
    assert video.stat().st_size > 10_000
