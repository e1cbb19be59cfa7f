"""A bounded load-and-fault run of the clinic deployment, on loopback only.

One ``coach serve`` (no analyses of its own) and ``coach worker`` processes on a real PostgreSQL and a
real Redis (started here in a temporary folder, or the ``--db`` / ``--queue`` given). Clients upload
keypoint recordings (``.npz``, so no pose model is needed) with an ``Idempotency-Key`` each and resend
an upload whose answer they did not get. Halfway through the uploads the server and one worker get
SIGKILL and are started again. Then every upload must end ``done`` exactly once: one job per upload,
one session per job, each with the reps its recording holds, none twice, none lost.

Afterwards, without faults, the same uploads are analysed by 1 and then 2 workers: jobs/s of each
(from the first claim to the last finish, in the database's timestamps).

    python -m coach.devtools.job_load                 # 8 clients, 40 uploads, 2 workers
    python -m coach.devtools.job_load --json          # the figures as JSON

Every request goes to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Seconds a whole run may take before it gives up (bounded, whatever happens).
RUN_TIMEOUT_S = 600.0


@dataclass
class FaultReport:
    """What the fault run saw. ``ok`` when every upload ended done exactly once."""

    uploads: int
    clients: int
    workers: int
    done: int = 0
    failed: int = 0
    lost: int = 0  #: uploads without a job
    duplicated_jobs: int = 0  #: uploads with more than one job
    sessions: int = 0
    duplicated_sessions: int = 0  #: jobs with more than one session
    reps_expected: int = 0
    reps_recorded: int = 0
    wrong_reps: int = 0  #: jobs whose session's reps differ from their recording's
    resent: int = 0  #: uploads a client had to send again (no answer: the server was killed)
    resend_tries: int = 0  #: the extra tries those took (clients back off while the server is away)
    retried_jobs: int = 0  #: jobs started more than once (their worker was killed)
    killed_at_upload: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.done == self.uploads and not (self.failed or self.lost or self.duplicated_jobs
                                                   or self.duplicated_sessions or self.wrong_reps)
                and self.sessions == self.uploads and self.reps_recorded == self.reps_expected)


@dataclass
class ThroughputReport:
    workers: int
    jobs: int
    seconds: float

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.seconds if self.seconds > 0 else float("nan")


# ------------------------------------------------------------------------------------------ pieces


def make_recordings(folder: Path, n: int) -> list[tuple[Path, int]]:
    """``n`` synthetic squat recordings of 3 to 6 reps (and their true counts)."""
    from coach.devtools.synthetic import synthesize
    from coach.pose.recording import save_recording

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        reps = 3 + i % 4
        clip = synthesize("squat", reps=reps, fps=30.0, seed=i)
        out.append((save_recording(folder / f"upload_{i:03d}.npz", clip.series), clip.reps))
    return out


def seed_users(db: str, clients: int) -> tuple[list[str], list[str]]:
    """A therapist and one patient per client; returns (patient names, their tokens)."""
    from coach.api.users import add_user, issue_token
    from db.engine import close_database, open_database, write_session

    sm = open_database(db)
    names, tokens = [], []
    try:
        with write_session(sm) as s:
            add_user(s, "load-therapist", "therapist")
            for i in range(clients):
                name = f"load-patient-{i}"
                tokens.append(issue_token(s, add_user(s, name, "patient", "load-therapist")))
                names.append(name)
    finally:
        close_database(sm)
    return names, tokens


class Processes:
    """The server and worker processes of a run, started with ``coach.py`` from this checkout."""

    def __init__(self, db: str, queue: str, uploads: Path, port: int, logs: Path, lease_s: float) -> None:
        self.common = ["--db", db, "--queue", queue, "--uploads", str(uploads)]
        self.port, self.logs, self.lease_s = port, logs, lease_s
        self.server: subprocess.Popen | None = None
        self.workers: dict[int, subprocess.Popen] = {}
        self._n = 0

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        self._n += 1
        log = open(self.logs / f"{self._n:02d}_{name}.log", "w")
        try:
            return subprocess.Popen([sys.executable, str(REPO / "coach.py"), *args], cwd=REPO, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()

    def start_server(self) -> None:
        self.server = self._spawn("server", ["serve", *self.common, "--job-workers", "0", "--port", str(self.port)])
        wait_for_http(self.port, self.server)

    def start_worker(self, i: int) -> None:
        self.workers[i] = self._spawn(f"worker{i}", ["worker", *self.common, "--lease-s", str(self.lease_s)])

    def kill(self, proc: subprocess.Popen | None) -> None:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def stop_all(self) -> None:
        procs = [p for p in [self.server, *self.workers.values()] if p is not None and p.poll() is None]
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.workers.clear()
        self.server = None

    def tracebacks(self) -> list[str]:
        return [p.name for p in sorted(self.logs.glob("*.log")) if "Traceback" in p.read_text(errors="replace")]


def wait_for_http(port: int, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    import httpx2

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before it answered")
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/docs", timeout=1.0).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer on 127.0.0.1:{port} within {timeout_s:.0f} s")


def upload_all(port: int, tokens: list[str], recordings: list[tuple[Path, int]], *, on_accepted, deadline: float
               ) -> tuple[dict[str, str], int, int]:
    """Each client (thread) uploads its share; an upload without an answer is resent with the same key.

    Returns ({recording name: job id}, uploads resent, extra tries)."""
    import httpx2

    accepted: dict[str, str] = {}
    resent = tries_extra = 0
    lock = threading.Lock()
    errors: list[BaseException] = []

    def client(c: int) -> None:
        nonlocal resent, tries_extra
        mine = recordings[c::len(tokens)]
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as http:
            for path, _ in mine:
                tries = 0
                while time.monotonic() < deadline:
                    tries += 1
                    try:
                        r = http.post("/api/jobs", files={"file": (path.name, path.read_bytes())},
                                      data={"exercise_id": "squat"},
                                      headers={"Authorization": f"Bearer {tokens[c]}", "Idempotency-Key": path.stem})
                    except httpx2.HTTPError:
                        r = None
                    if r is not None and r.status_code == 202:
                        with lock:
                            accepted[path.name] = r.json()["id"]
                            resent += tries > 1
                            tries_extra += tries - 1
                            n = len(accepted)
                        on_accepted(n)
                        break
                    if r is not None and r.status_code < 500:
                        errors.append(RuntimeError(f"{path.name}: HTTP {r.status_code} {r.text[:200]}"))
                        return
                    time.sleep(min(2.0, 0.1 * tries))  # the server is away: try again

    threads = [threading.Thread(target=client, args=(c,), name=f"client-{c}") for c in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return accepted, resent, tries_extra


def wait_for_jobs(db: str, n: int, deadline: float) -> None:
    """Until ``n`` jobs are done or failed (or the deadline)."""
    import psycopg

    url = db.replace("postgresql+psycopg://", "postgresql://")
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            finished = conn.execute("SELECT count(*) FROM analysis_jobs WHERE status IN ('done', 'failed')"
                                    ).fetchone()[0]
        if finished >= n:
            return
        time.sleep(0.25)


# ------------------------------------------------------------------------------------------ the runs


def fault_run(db: str, queue: str, recordings: list[tuple[Path, int]], *, clients: int = 8, workers: int = 2,
              lease_s: float = 4.0, work: Path, port: int, log=print) -> FaultReport:
    """Uploads from ``clients`` to a server with ``workers``; SIGKILL of the server and worker 0 halfway."""
    import psycopg

    report = FaultReport(uploads=len(recordings), clients=clients, workers=workers)
    names, tokens = seed_users(db, clients)
    procs = Processes(db, queue, work / "uploads", port, work, lease_s)
    t0 = time.monotonic()
    deadline = t0 + RUN_TIMEOUT_S
    half = len(recordings) // 2
    fault_done = threading.Event()

    def fault() -> None:  # on its own thread, so the clients keep sending while it happens
        busy = _busy_worker(db, procs, wait_s=5.0)
        log(f"  upload {half}/{len(recordings)} accepted: SIGKILL of the server and worker {busy}")
        procs.kill(procs.server)
        procs.kill(procs.workers[busy])
        time.sleep(1.0)
        procs.start_server()
        procs.start_worker(busy)
        log("  server and worker started again")
        fault_done.set()

    def on_accepted(n: int) -> None:
        if n == half and not report.killed_at_upload:
            report.killed_at_upload = n
            threading.Thread(target=fault, name="fault", daemon=True).start()

    try:
        procs.start_server()
        for i in range(workers):
            procs.start_worker(i)
        accepted, report.resent, report.resend_tries = upload_all(port, tokens, recordings, on_accepted=on_accepted, deadline=deadline)
        fault_done.wait(max(0.0, deadline - time.monotonic()))
        wait_for_jobs(db, len(recordings), deadline)
        report.seconds = time.monotonic() - t0
    finally:
        procs.stop_all()
    truth = {p.name: reps for p, reps in recordings}
    with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://")) as conn:
        jobs = conn.execute("SELECT j.id, j.client_key, j.status, j.attempts, j.error, "
                            "(j.result->>'reps')::int FROM analysis_jobs j").fetchall()
        sessions = conn.execute("SELECT s.job_id, count(DISTINCT s.id), count(r.id) FROM sessions s "
                                "LEFT JOIN sets st ON st.session_id = s.id LEFT JOIN reps r ON r.set_id = st.id "
                                "WHERE s.job_id IS NOT NULL GROUP BY s.job_id").fetchall()
        report.sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
    per_key: dict[str, list] = {}
    for row in jobs:
        per_key.setdefault(row[1], []).append(row)
    reps_of = {job_id: (n_sessions, n_reps) for job_id, n_sessions, n_reps in sessions}
    for path, reps in recordings:
        rows = per_key.get(path.stem, [])
        if not rows:
            report.lost += 1
            continue
        report.duplicated_jobs += len(rows) > 1
        for job_id, _, status, attempts, error, result_reps in rows:
            report.done += status == "done"
            report.failed += status == "failed"
            report.retried_jobs += attempts > 1
            if error and status != "done":
                report.errors.append(f"{path.name}: {error}")
            n_sessions, n_reps = reps_of.get(job_id, (0, 0))
            report.duplicated_sessions += n_sessions > 1
            report.reps_recorded += n_reps
            report.wrong_reps += not (n_reps == reps == result_reps)
        report.reps_expected += truth[path.name]
    report.errors += [f"traceback in {name}" for name in procs.tracebacks()]
    return report


def _busy_worker(db: str, procs: Processes, wait_s: float) -> int:
    """The worker to kill: the first that is running a job (so a job is cut in the middle), else 0."""
    import psycopg

    end = time.monotonic() + wait_s
    pids = {p.pid: i for i, p in procs.workers.items()}
    while time.monotonic() < end:
        with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://")) as conn:
            running = [w for (w,) in conn.execute("SELECT worker FROM analysis_jobs WHERE status = 'running'")]
        for w in running:
            pid = int(w.split(":")[1]) if w and w.count(":") >= 2 else None
            if pid in pids:
                return pids[pid]
        time.sleep(0.05)
    return 0


def throughput_run(db: str, queue: str, recordings: list[tuple[Path, int]], workers: int, *, work: Path,
                   port: int) -> ThroughputReport:
    """All uploads accepted first (no worker yet), then ``workers`` start: jobs/s from the first claim to the
    last finish."""
    import psycopg

    _, tokens = seed_users(db, 1)
    procs = Processes(db, queue, work / "uploads", port, work, lease_s=30.0)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        procs.start_server()
        upload_all(port, tokens, recordings, on_accepted=lambda n: None, deadline=deadline)
        for i in range(workers):
            procs.start_worker(i)
        wait_for_jobs(db, len(recordings), deadline)
    finally:
        procs.stop_all()
    with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://")) as conn:
        n, seconds = conn.execute("SELECT count(*), EXTRACT(EPOCH FROM max(finished_at) - min(started_at)) "
                                  "FROM analysis_jobs WHERE status = 'done'").fetchone()
    return ThroughputReport(workers=workers, jobs=n, seconds=float(seconds or 0.0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coach.devtools.job_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=40, help="recordings uploaded (default 40)")
    parser.add_argument("--clients", type=int, default=8, help="clients uploading at once (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes in the fault run (default 2)")
    parser.add_argument("--throughput-uploads", type=int, default=None,
                        help="uploads for the 1- and 2-worker figures (default: --uploads; 0 skips them)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    from coach.devtools.local_servers import LocalPostgres, LocalRedis, ServerUnavailable, free_port

    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    with ExitStack() as stack:
        try:
            pg = stack.enter_context(LocalPostgres())
            redis = stack.enter_context(LocalRedis())
        except ServerUnavailable as exc:
            print(f"cannot run: {exc}", file=sys.stderr)
            return 2
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="coach-load-")))
        recordings = make_recordings(work / "recordings", args.uploads)
        log(f"fault run: {args.clients} clients, {args.uploads} uploads, {args.workers} workers "
            "(PostgreSQL and Redis on loopback)")
        run_dir = work / "fault"
        run_dir.mkdir()
        fault = fault_run(pg.create_database(), redis.url(1), recordings, clients=args.clients,
                          workers=args.workers, work=run_dir, port=free_port(), log=log)
        figures = []
        n_tp = args.uploads if args.throughput_uploads is None else args.throughput_uploads
        for w in (1, 2) if n_tp else ():
            run_dir = work / f"throughput{w}"
            run_dir.mkdir()
            figures.append(throughput_run(pg.create_database(), redis.url(1 + w), recordings[:n_tp], w,
                                          work=run_dir, port=free_port()))
    if args.json:
        print(json.dumps({"fault": {**asdict(fault), "ok": fault.ok},
                          "throughput": [{**asdict(f), "jobs_per_s": f.jobs_per_s} for f in figures]}))
    else:
        print(f"{fault.uploads} uploads: {fault.done} done, {fault.failed} failed, {fault.lost} lost, "
              f"{fault.duplicated_jobs} duplicated jobs, {fault.duplicated_sessions} duplicated sessions; "
              f"{fault.sessions} sessions, reps {fault.reps_recorded}/{fault.reps_expected} "
              f"({fault.wrong_reps} jobs with wrong reps); {fault.resent} uploads resent ({fault.resend_tries} tries) "
              f"while the server was down, {fault.retried_jobs} jobs retried after the kill; "
              f"{fault.seconds:.1f} s")
        for e in fault.errors:
            print(f"  {e}")
        for f in figures:
            print(f"{f.workers} worker{'s' if f.workers > 1 else ''}: {f.jobs} jobs in {f.seconds:.1f} s = "
                  f"{f.jobs_per_s:.2f} jobs/s")
        print("OK: every upload done exactly once" if fault.ok else "FAILED")
    return 0 if fault.ok else 1


if __name__ == "__main__":
    sys.exit(main())
