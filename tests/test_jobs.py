"""Durable analysis jobs (coach/api/job_runner.py, job_records.py, job_queue.py, upload_store.py): uploads
survive a restart, a resent upload is the same job, a killed worker's job is retried and never counted
twice, bounded retries end in 'failed' with the reason.

Two deployments, each with real components: the embedded default (SQLite history, huey's SQLite queue)
and a clinic's (a real PostgreSQL and a real Redis started here on loopback; skipped, with the reason,
where they cannot start). Keypoint recordings (.npz), so no pose model is needed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from coach.api import create_app
from coach.api.job_queue import JobQueue, parse_queue
from coach.api.job_records import Job, claim, create_job, get_job, new_job_id
from coach.api.job_runner import ORPHAN_GRACE_S, JobRunner, QueueWorkers, recover
from coach.api.upload_store import UploadStore
from coach.api.schemas.jobs import JobDetailOut
from coach.api.users import add_user, issue_token
from db.engine import close_database, open_database, write_session
from db.models import Patient, User, utc_now

REPO = Path(__file__).resolve().parents[1]


def H(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Deployment:
    """Where a test's jobs live: the history, the queue and the upload folder."""

    def __init__(self, kind: str, db, queue, uploads: Path, history) -> None:
        self.kind, self.db, self.queue, self.uploads, self.history = kind, db, queue, uploads, history

    def app(self, **kw):
        return create_app(self.db, queue=str(self.queue), uploads=self.uploads, **kw)

    def runner(self, sm, **kw) -> JobRunner:
        return JobRunner(sm, JobQueue(parse_queue(str(self.queue))), UploadStore(self.uploads),
                         lambda: None, **kw)


@pytest.fixture(params=["embedded", "clinic"])
def deployment(request, tmp_path, history_db_factory):
    """``embedded``: SQLite history + huey's SQLite queue; ``clinic``: PostgreSQL + Redis."""
    history_db = history_db_factory("sqlite" if request.param == "embedded" else "postgresql")
    if request.param == "embedded":
        queue = tmp_path / "queue.sqlite"
    else:
        redis = request.getfixturevalue("redis_server")
        queue = redis.url(db=_fresh_redis_db(redis))
    dep = Deployment(request.param, history_db.location, queue, tmp_path / "uploads", history_db)
    sm = open_database(dep.db)
    with write_session(sm) as s:
        add_user(s, "dr", "therapist")
        dep.token = issue_token(s, add_user(s, "ana", "patient", "dr"))
    close_database(sm)
    return dep


_redis_dbs = iter(range(1, 16))


def _fresh_redis_db(redis) -> int:
    """Each test its own Redis database number, emptied first."""
    import redis as redis_py

    n = next(_redis_dbs, None)
    if n is None:
        pytest.skip("out of Redis database numbers for this run")
    redis_py.Redis.from_url(redis.url(db=n)).flushdb()
    return n


@pytest.fixture(scope="module")
def squat_npz(tmp_path_factory):
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    clip = synthesize("squat", reps=3, fps=30.0)
    return save_recording(tmp_path_factory.mktemp("npz") / "squat3.npz", clip.series), clip.reps


@pytest.fixture(scope="module")
def long_npz(tmp_path_factory):
    """Long enough (about 5 s of analysis here) to stop or kill a worker in the middle of it: the tests stop it
    once its first progress is written (after a 1 s heartbeat), and the job must still be running then, on
    a busy machine too (with 60 reps, about 2 s since the live path got faster, one run in four had
    finished the job before the SIGTERM arrived)."""
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    clip = synthesize("squat", reps=150, fps=30.0)
    return save_recording(tmp_path_factory.mktemp("npz") / "squat150.npz", clip.series), clip.reps


def _post(client, token, path: Path, **headers):
    with open(path, "rb") as f:
        return client.post("/api/jobs", files={"file": (path.name, f, "application/octet-stream")},
                           data={"exercise_id": "squat", **headers.pop("data", {})}, headers={**H(token), **headers})


def _wait(get, job_id, timeout_s=60.0, until=("done", "failed")) -> dict:
    t0 = time.monotonic()
    job = None
    while time.monotonic() - t0 < timeout_s:
        job = get(job_id)
        if job is not None and job["status"] in until:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not reach {until}: {job}")


def _client_get(client, token):
    return lambda job_id: client.get(f"/api/jobs/{job_id}", headers=H(token)).json()


def _row_get(db):
    def get(job_id):
        sm = open_database(db)
        try:
            job = get_job(sm, job_id)
            return JobDetailOut.model_validate(job).model_dump(mode="json") if job else None
        finally:
            close_database(sm)
    return get


# ------------------------------------------------------------------------------------------ restart


def test_a_queued_upload_survives_a_server_restart_and_is_analysed_once(deployment, squat_npz):
    path, true_reps = squat_npz
    with TestClient(deployment.app(job_workers=0)) as client:  # a server whose workers are all away
        r = _post(client, deployment.token, path)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        time.sleep(0.3)
        assert client.get(f"/api/jobs/{job_id}", headers=H(deployment.token)).json()["status"] == "queued"
    # the server stopped with the job queued; the next one (with a worker) finishes it
    with TestClient(deployment.app(job_workers=1)) as client:
        done = _wait(_client_get(client, deployment.token), job_id)
        assert done["status"] == "done", done["error"]
        assert done["result"]["reps"] == true_reps == 3 and done["attempts"] == 1
    rows = deployment.history.rows("SELECT job_id, end_reason FROM sessions WHERE job_id IS NOT NULL")
    assert rows == [(job_id, "source ended")]
    assert list(deployment.uploads.glob(f"{job_id}*")) == []  # the upload is deleted after analysis


def test_a_running_job_stopped_by_a_shutdown_is_finished_after_the_restart(deployment, long_npz):
    path, true_reps = long_npz
    with TestClient(deployment.app(job_workers=1)) as client:
        job_id = _post(client, deployment.token, path).json()["id"]
        get = _client_get(client, deployment.token)
        t0 = time.monotonic()
        while get(job_id)["frames_done"] < 30 and time.monotonic() - t0 < 60:
            time.sleep(0.05)
    stopped = _row_get(deployment.db)(job_id)
    assert stopped["status"] == "queued" and stopped["attempts"] == 0 and stopped["frames_done"] >= 30
    assert deployment.history.rows("SELECT end_reason FROM sessions WHERE job_id IS NOT NULL") == [("interrupted",)]
    with TestClient(deployment.app(job_workers=1)) as client:
        done = _wait(_client_get(client, deployment.token), job_id)
    assert done["status"] == "done" and done["result"]["reps"] == true_reps and done["attempts"] == 1
    # the interrupted session was replaced: one session for the job, with every rep once
    assert deployment.history.rows(
        "SELECT count(*), min(end_reason) FROM sessions WHERE job_id IS NOT NULL") == [(1, "source ended")]
    assert deployment.history.rows("SELECT count(*) FROM reps") == [(true_reps,)]


# -------------------------------------------------------------------------------------- idempotency


def test_a_resent_upload_with_the_same_key_is_the_same_job(deployment, squat_npz):
    path, _ = squat_npz
    with TestClient(deployment.app(job_workers=1)) as client:
        first = _post(client, deployment.token, path, **{"Idempotency-Key": "upload-1"})
        again = _post(client, deployment.token, path, **{"Idempotency-Key": "upload-1"})
        other = _post(client, deployment.token, path, **{"Idempotency-Key": "upload-2"})
        assert first.status_code == again.status_code == other.status_code == 202
        assert first.json()["id"] == again.json()["id"] != other.json()["id"]
        for r in (first, other):
            assert _wait(_client_get(client, deployment.token), r.json()["id"])["status"] == "done"
    assert deployment.history.rows("SELECT count(*) FROM analysis_jobs") == [(2,)]
    assert deployment.history.rows("SELECT count(*) FROM sessions WHERE job_id IS NOT NULL") == [(2,)]


def test_the_video_is_kept_only_when_asked(deployment, squat_npz):
    path, _ = squat_npz
    with TestClient(deployment.app(job_workers=1)) as client:
        kept = _post(client, deployment.token, path, data={"keep_video": "true"}).json()
        dropped = _post(client, deployment.token, path).json()
        get = _client_get(client, deployment.token)
        assert _wait(get, kept["id"])["keep_upload"] is True
        assert _wait(get, dropped["id"])["status"] == "done"
    assert [p.name for p in deployment.uploads.iterdir()] == [f"{kept['id']}.npz"]


# ---------------------------------------------------------------------------------- retries, failure


def _queued_job(deployment, sm, *, exercise_id="squat", upload: Path | None = None, max_attempts=3) -> Job:
    """A job as the server records it, its upload copied into the upload folder (or missing)."""
    store = UploadStore(deployment.uploads)
    job_id = new_job_id()
    name = f"{job_id}.npz"
    if upload is not None:
        store.path(name).write_bytes(upload.read_bytes())
    with sm() as s:
        patient_id = s.scalar(select(Patient.id).where(Patient.name == "ana"))
        owner = s.scalar(select(User.id).where(User.name == "ana"))
    job, _ = create_job(sm, job_id=job_id, owner_user_id=owner, patient_id=patient_id, exercise_id=exercise_id,
                        filename="a.npz", kind="recording", upload_name=name, prescription_id=None,
                        keep_upload=False, client_key=None, max_attempts=max_attempts)
    return job


def test_a_passing_error_is_retried_a_bounded_number_of_times_then_failed_with_its_reason(deployment):
    """The upload is missing from this worker's folder (a misconfigured machine): retried, then failed."""
    sm = open_database(deployment.db)
    try:
        runner = deployment.runner(sm, retry_delay_s=0.2)
        workers = QueueWorkers(runner, 1)
        workers.start()
        try:
            job = _queued_job(deployment, sm, upload=None, max_attempts=2)
            runner.queue.enqueue(job.id)
            failed = _wait(_row_get(deployment.db), job.id, timeout_s=30)
        finally:
            workers.stop()
    finally:
        close_database(sm)
    assert failed["status"] == "failed" and failed["attempts"] == 2
    assert failed["error"].startswith("gave up after 2 attempts: the upload ") and "--uploads" in failed["error"]


def test_a_bad_file_fails_at_once_since_a_retry_would_fail_the_same_way(deployment, squat_npz):
    sm = open_database(deployment.db)
    try:
        runner = deployment.runner(sm)
        job = _queued_job(deployment, sm, exercise_id="no_such_exercise", upload=squat_npz[0])
        assert runner.process(job.id) == "failed"
        assert runner.process(job.id) is None  # delivered again: not queued any more, not run again
        failed = get_job(sm, job.id)
    finally:
        close_database(sm)
    assert failed.attempts == 1 and "no_such_exercise" in failed.error
    assert not UploadStore(deployment.uploads).path(failed.upload_name).exists()


def test_a_job_whose_worker_vanished_is_requeued_then_failed_after_its_last_attempt(deployment, squat_npz):
    """What a SIGKILLed worker leaves: a running row whose lease runs out. (A real SIGKILL below.)"""
    sm = open_database(deployment.db)
    try:
        runner = deployment.runner(sm)
        job = _queued_job(deployment, sm, upload=squat_npz[0], max_attempts=2)
        for attempt in (1, 2):
            assert claim(sm, job.id, "lost-host:1:w", lease_s=5) is not None
            assert recover(sm, runner.queue, runner.uploads).requeued == []  # the lease still holds
            later = utc_now() + timedelta(seconds=6)
            outcome = recover(sm, runner.queue, runner.uploads, now=later)
            assert recover(sm, runner.queue, runner.uploads, now=later).requeued == []  # once only
            if attempt == 1:
                assert outcome.requeued == [job.id] and get_job(sm, job.id).status == "queued"
                assert job.id in runner.queue.waiting_ids()
        assert outcome.failed == [job.id]
        failed = get_job(sm, job.id)
    finally:
        close_database(sm)
    assert failed.status == "failed" and "stopped 2 times" in failed.error and "lost-host" in failed.error


def test_a_queued_job_that_never_reached_the_queue_is_enqueued_again(deployment, squat_npz):
    """The server was killed between committing the job and enqueueing it."""
    sm = open_database(deployment.db)
    try:
        runner = deployment.runner(sm)
        job = _queued_job(deployment, sm, upload=squat_npz[0])
        assert runner.queue.waiting_ids() == set()
        assert recover(sm, runner.queue, runner.uploads).enqueued == []  # within the grace period
        later = utc_now() + timedelta(seconds=ORPHAN_GRACE_S + 1)
        assert recover(sm, runner.queue, runner.uploads, now=later).enqueued == [job.id]
        assert runner.queue.waiting_ids() == {job.id}
        assert recover(sm, runner.queue, runner.uploads, now=later).enqueued == []  # it is there now
    finally:
        close_database(sm)


# --------------------------------------------------------------------------------- real processes


def _coach(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "coach.py", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_sigkill_of_a_worker_mid_job_retries_it_on_another_without_counting_it_twice(deployment, long_npz):
    path, true_reps = long_npz
    sm = open_database(deployment.db)
    try:
        job = _queued_job(deployment, sm, upload=path)
        JobQueue(parse_queue(str(deployment.queue))).enqueue(job.id)
    finally:
        close_database(sm)
    common = ["--db", str(deployment.db), "--queue", str(deployment.queue), "--uploads", str(deployment.uploads),
              "--lease-s", "2"]
    get = _row_get(deployment.db)
    first = _coach("worker", *common)
    try:
        t0 = time.monotonic()
        while (get(job.id)["frames_done"] < 30) and time.monotonic() - t0 < 60:
            assert first.poll() is None, first.stderr.read()
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    killed = get(job.id)
    assert killed["status"] == "running" and killed["attempts"] == 1  # as the killed worker left it
    second = _coach("worker", *common)
    try:
        done = _wait(get, job.id, timeout_s=90)
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
    assert done["status"] == "done" and done["attempts"] == 2 and done["result"]["reps"] == true_reps
    assert second.returncode == 0, err
    assert "Traceback" not in err
    assert deployment.history.rows("SELECT count(*) FROM sessions WHERE job_id IS NOT NULL") == [(1,)]
    assert deployment.history.rows("SELECT count(*) FROM reps") == [(true_reps,)]


def test_sigterm_of_a_worker_puts_its_job_back_for_the_next_one(deployment, long_npz):
    path, true_reps = long_npz
    sm = open_database(deployment.db)
    try:
        job = _queued_job(deployment, sm, upload=path)
        JobQueue(parse_queue(str(deployment.queue))).enqueue(job.id)
    finally:
        close_database(sm)
    common = ["--db", str(deployment.db), "--queue", str(deployment.queue), "--uploads", str(deployment.uploads)]
    get = _row_get(deployment.db)
    worker = _coach("worker", *common)
    t0 = time.monotonic()
    while get(job.id)["frames_done"] < 30 and time.monotonic() - t0 < 60:
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0 and "Traceback" not in err, err
    back = get(job.id)
    assert back["status"] == "queued" and back["attempts"] == 0


# ------------------------------------------------------------------------------------- bad input


def _run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "coach.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def _one_sentence(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_a_worker_against_an_unmigrated_database_refuses_in_one_sentence(postgres_server, tmp_path):
    empty = postgres_server.create_database()
    proc = _run("worker", "--db", empty, "--queue", str(tmp_path / "q.sqlite"))
    _one_sentence(proc, "has no coach tables yet", "coach serve")
    proc = _run("worker", "--db", str(tmp_path / "none.sqlite"), "--queue", str(tmp_path / "q.sqlite"))
    _one_sentence(proc, "There is no history database at")


def test_unreachable_database_and_queue_are_one_sentence_each(tmp_path):
    from coach.devtools.local_servers import free_port

    port = free_port()
    proc = _run("worker", "--db", f"postgresql+psycopg://coach@127.0.0.1:{port}/coach")
    _one_sentence(proc, "Cannot reach the database postgresql+psycopg://coach@127.0.0.1:")
    proc = _run("serve", "--db", f"postgresql+psycopg://coach:pw@127.0.0.1:{port}/coach")
    _one_sentence(proc, "Cannot reach the database", "coach:***@")
    db = tmp_path / "c.sqlite"
    close_database(open_database(db))
    for cmd in ("serve", "worker"):
        proc = _run(cmd, "--db", str(db), "--queue", f"redis://127.0.0.1:{port}/0")
        _one_sentence(proc, f"Cannot reach the job queue redis://127.0.0.1:{port}/0")
    proc = _run("serve", "--db", str(db), "--queue", "amqp://broker/")
    _one_sentence(proc, "not 'amqp'")


def test_an_unsupported_database_url_is_refused_and_creates_nothing(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "coach.py"), "sessions", "list", "--db",
                           "mysql://coach@db.clinic:3306/coach"], cwd=tmp_path, capture_output=True, text=True)
    _one_sentence(proc, "'mysql'")
    proc = subprocess.run([sys.executable, str(REPO / "coach.py"), "sessions", "list"], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "COACH_DB": "mysql://coach@db/coach"})
    _one_sentence(proc, "'mysql'")
    from coach.devtools.local_servers import free_port

    # what used to create a folder "postgresql+psycopg:" with an SQLite file in it
    url = f"postgresql+psycopg://user@127.0.0.1:{free_port()}/coach"
    proc = subprocess.run([sys.executable, str(REPO / "coach.py"), "users", "add", "drsmith", "--role", "therapist",
                           "--db", url], cwd=tmp_path, capture_output=True, text=True)
    _one_sentence(proc, "Cannot reach the database postgresql+psycopg://user@127.0.0.1:")
    assert list(tmp_path.iterdir()) == []  # no folder named "mysql:" nor "postgresql+psycopg:"
