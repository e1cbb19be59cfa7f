"""Durable analysis jobs: the job rows, the upload folder, the queue (huey) and the workers that run them.

Who keeps what:

- the **job row** (``db.models.AnalysisJob``, in the history database every process shares) is the
  truth about a job: its state, attempts, lease, progress, result or error;
- the **upload folder** holds each upload as one file until its analysis ends (kept only if the
  patient asked); every worker must see the same folder (a local folder for one machine, a shared
  mount for several);
- the **queue** only delivers job ids to workers: huey on its SQLite storage (a file; the embedded
  default, no server) or on Redis (``redis://…``, for workers on several machines).

A job's life: the server stores the upload, commits the row ``queued`` and enqueues its id. A worker
takes the id and *claims* the row (``queued`` → ``running``, one more attempt, a lease of
:data:`DEFAULT_LEASE_S` that it renews every :data:`HEARTBEAT_S` while it works, with the progress).
The claim is a conditional UPDATE, so an id delivered twice is analysed once. Then:

- done: the row gets the result and the session id; the upload is deleted;
- the file itself is bad (an unreadable recording, an unknown exercise): failed at once with the reason,
  since a retry would fail the same way;
- any other error: queued again after a pause, until ``max_attempts`` starts, then failed with the last
  reason;
- the worker is stopped (Ctrl-C, SIGTERM, the server shutting down): the analysis stops at its next
  frame and the job goes back to the queue, that start not counted;
- the worker is killed (SIGKILL, a lost machine): its lease runs out. huey, like most small queues,
  does not redeliver a message whose consumer died, so :func:`recover` (run by every worker and the
  server every few seconds) re-queues such jobs, or fails them after ``max_attempts`` starts; it also
  enqueues again any ``queued`` job whose id is in no queue (a server killed between its commit and its
  enqueue).

A retried job never counts a session twice: the session recorder replaces the session an earlier
attempt of the same job left (``sessions.job_id`` is unique). Lease times are wall-clock UTC of the
machine that writes them: keep the clocks of the machines in step (NTP), well within the lease.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from coach.errors import CoachError, DefinitionError, SourceError
from db.engine import is_url, write_session
from db.models import AnalysisJob, Patient, utc_now

log = logging.getLogger(__name__)

#: Environment variables: the queue (a Redis URL, or an SQLite queue file) and the upload folder.
QUEUE_ENV = "COACH_QUEUE"
UPLOADS_ENV = "COACH_UPLOADS"
#: Name of the queue inside its storage (several coach installations may share one Redis by name).
QUEUE_NAME = "coach-analysis"
#: Starts of a job before it is given up.
DEFAULT_ATTEMPTS = 3
#: Seconds a worker's claim on a job lasts without renewal; a killed worker's job is recovered after it.
DEFAULT_LEASE_S = 30.0
#: Seconds between a running job's lease renewals (which also store its progress).
HEARTBEAT_S = 1.0
#: Seconds before a failed attempt is retried, times the attempt number.
RETRY_DELAY_S = 2.0
#: A queued job is enqueued again when it is in no queue this many seconds after it was queued.
ORPHAN_GRACE_S = 10.0
#: Seconds an upload without a job row is left alone when a server starts: a server on another machine
#: may be between storing it and recording its job.
ORPHAN_UPLOAD_GRACE_S = 600.0
#: This machine, as partial upload names spell it.
_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:64] or "host"


class QueueError(CoachError):
    """The job queue or the upload folder cannot be used (one sentence)."""


# ------------------------------------------------------------------------------------------- the queue


def parse_queue(value: str | os.PathLike[str]) -> str | Path:
    """A ``--queue`` / ``$COACH_QUEUE`` value: a Redis URL (``redis://``, ``rediss://``, ``unix://``)
    stays a string, ``sqlite:///path`` or a plain path is the SQLite queue file. Other schemes are a
    :class:`QueueError`."""
    text = str(value)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*)://", text)
    if scheme is None:
        return Path(text).expanduser()
    name = scheme.group(1).lower()
    if name in ("redis", "rediss", "unix"):
        return text
    if name == "sqlite" and text[len("sqlite:///"):]:
        return Path(text[len("sqlite:///"):]).expanduser()
    raise QueueError(f"coach's job queue is a Redis URL (redis://host:6379/0) or an SQLite queue file, "
                     f"not {name!r}.")


def default_queue(db_location) -> Path:
    """The embedded queue file: beside an SQLite history (``<name>.queue.sqlite``), else in the user
    data folder."""
    if not is_url(db_location):
        p = Path(db_location)
        return p.with_name(p.stem + ".queue.sqlite")
    from platformdirs import user_data_path

    return user_data_path("coach", appauthor=False) / "queue.sqlite"


def default_uploads(db_location) -> Path:
    """The upload folder: beside an SQLite history (``<name>.uploads/``), else in the user data folder."""
    if not is_url(db_location):
        p = Path(db_location)
        return p.with_name(p.stem + ".uploads")
    from platformdirs import user_data_path

    return user_data_path("coach", appauthor=False) / "uploads"


def describe_queue(location: str | Path) -> str:
    """The queue for messages, without a password."""
    if isinstance(location, Path):
        return f"SQLite queue {location}"
    return re.sub(r"://([^:@/]*):[^@/]*@", r"://\1:***@", location)


class JobQueue:
    """The huey queue of analysis job ids, on SQLite (a file) or Redis.

    Only ids travel through it; :meth:`set_handler` gives the function that a worker of this process
    runs for each id delivered.
    """

    def __init__(self, location: str | Path) -> None:
        from huey import RedisHuey, SqliteHuey

        self.location = location
        if isinstance(location, Path):
            try:
                location.parent.mkdir(parents=True, exist_ok=True)
                # fsync: a queued id survives a power cut, like the history's rows
                self.huey = SqliteHuey(QUEUE_NAME, filename=str(location), results=False, fsync=True,
                                       timeout=30)
            except Exception as exc:  # sqlite3.Error, OSError: one sentence
                raise QueueError(f"Cannot open the job queue {location}: {exc}.") from None
        else:
            from redis import ConnectionPool

            try:
                pool = ConnectionPool.from_url(location, socket_connect_timeout=5, socket_timeout=10,
                                               health_check_interval=30)
            except ValueError as exc:
                raise QueueError(f"{describe_queue(location)} is not a Redis URL coach can use: {exc}.") from None
            self.huey = RedisHuey(QUEUE_NAME, connection_pool=pool, results=False)
        self._handler: Callable[[str], None] | None = None

        @self.huey.task(name="analyse_upload")
        def analyse_upload(job_id: str) -> None:
            if self._handler is None:
                raise RuntimeError("this process has no job worker")
            self._handler(job_id)

        self._task = analyse_upload

    def set_handler(self, handler: Callable[[str], None]) -> None:
        self._handler = handler

    def check(self) -> None:
        """Raise :class:`QueueError` (one sentence) unless the queue answers."""
        try:
            if isinstance(self.location, Path):
                self.huey.pending_count()
            else:
                self.huey.storage.conn.ping()
        except Exception as exc:  # redis.ConnectionError, sqlite3.Error ...
            detail = str(exc).splitlines()[0].rstrip(".").replace(". ", ": ") if str(exc) else type(exc).__name__
            raise QueueError(f"Cannot reach the job queue {describe_queue(self.location)}: {detail}.") from None

    def enqueue(self, job_id: str, delay_s: float = 0.0) -> bool:
        """Put a job id in the queue (after ``delay_s``). False, logged, if the queue is unreachable:
        the job stays ``queued`` in the database and :func:`recover` enqueues it later."""
        try:
            if delay_s > 0:
                self._task.schedule((job_id,), delay=delay_s)
            else:
                self.huey.enqueue(self._task.s(job_id))
            return True
        except Exception as exc:
            log.warning("could not enqueue job %s (%s); it will be enqueued again later", job_id, exc)
            return False

    def waiting_ids(self) -> set[str]:
        """Ids in the queue or scheduled for a retry."""
        ids = set()
        for task in list(self.huey.pending()) + list(self.huey.scheduled()):
            if task.args:
                ids.add(str(task.args[0]))
        return ids

    def close(self) -> None:
        close = getattr(self.huey.storage, "close", None)
        if close is not None:
            close()


# ------------------------------------------------------------------------------------- the uploads


class UploadStore:
    """The folder of uploads waiting for (or kept after) their analysis: one file per job.

    A file is written under a temporary name that says which process writes it
    (``<job>.<host>-<pid>.part``), fsynced and renamed into place (:meth:`save`), so a crash leaves
    either no upload or a whole one; :meth:`sweep` (when a server starts) deletes what a killed server
    left behind.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).expanduser()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise QueueError(f"Cannot create the upload folder {self.folder}: {exc.strerror}.") from None
        if not os.access(self.folder, os.W_OK):
            raise QueueError(f"The upload folder {self.folder} is not writable.")

    def partial(self, job_id: str) -> Path:
        """Where an upload streams to before it is complete (named for this process)."""
        return self.folder / f"{job_id}.{_HOST}-{os.getpid()}.part"

    def save(self, partial: Path, job_id: str, kind: str) -> str:
        """Make a complete upload durable and give it its final name (returned)."""
        name = f"{job_id}.npz" if kind == "recording" else f"{job_id}.video"
        with open(partial, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(partial, self.folder / name)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return name

    def path(self, name: str) -> Path:
        return self.folder / name

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    def sweep(self, states: Callable[[list[str]], dict[str, tuple[str, bool]]] | None = None, *,
              grace_s: float = ORPHAN_UPLOAD_GRACE_S, now: float | None = None) -> list[Path]:
        """Delete what no job needs any more; returns what was deleted:

        - a partial upload of a process on this machine that is not running any more (a server killed
          while receiving it), or any partial upload older than an hour (another machine's);
        - with ``states`` (job ids -> (status, keep_upload), from the history): an upload whose job is
          done or failed and did not ask to keep it, or one of no job at all (a server killed between
          storing it and recording its job) older than ``grace_s``;
        - the ``coach-uploads-*`` folders that coach versions before the durable jobs made in the
          temporary folder, and never emptied, untouched for an hour.
        """
        now = time.time() if now is None else now
        gone: list[Path] = []

        def drop(p: Path) -> None:
            try:
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()
                gone.append(p)
            except OSError as exc:
                log.warning("could not delete the leftover upload %s: %s", p, exc)

        finals: dict[str, Path] = {}
        for p in self.folder.iterdir():
            if p.name.endswith(".part"):
                writer = p.name[:-len(".part")].split(".", 1)[-1]  # "<host>-<pid>", or the job id (old names)
                host, _, pid = writer.rpartition("-")
                dead_here = host == _HOST and pid.isdigit() and not _alive(int(pid))
                if dead_here or _age(p, now) > 3600.0:
                    drop(p)
            elif p.suffix in (".npz", ".video") and p.is_file():
                finals[p.stem] = p
        if states is not None and finals:
            known = states(sorted(finals))
            for job_id, p in finals.items():
                status, keep = known.get(job_id, (None, False))
                if (status is None and _age(p, now) > grace_s) or (status in ("done", "failed") and not keep):
                    drop(p)
        for old in Path(tempfile.gettempdir()).glob("coach-uploads-*"):
            try:
                mine = old.is_dir() and old.stat().st_uid == os.getuid()
            except OSError:
                continue
            if mine and _age(old, now) > 3600.0:
                drop(old)
        if gone:
            log.warning("deleted %d leftover upload(s): %s", len(gone), ", ".join(p.name for p in gone))
        return gone



def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _age(p: Path, now: float) -> float:
    try:
        return now - p.stat().st_mtime
    except OSError:
        return 0.0


def upload_states(sm: sessionmaker[Session], job_ids: list[str]) -> dict[str, tuple[str, bool]]:
    """{job id: (status, keep_upload)} of the jobs among ``job_ids`` that have a row."""
    out: dict[str, tuple[str, bool]] = {}
    with sm() as s:
        for i in range(0, len(job_ids), 500):
            for jid, status, keep in s.execute(select(AnalysisJob.id, AnalysisJob.status, AnalysisJob.keep_upload)
                                               .where(AnalysisJob.id.in_(job_ids[i:i + 500]))):
                out[jid] = (status, bool(keep))
    return out


# ------------------------------------------------------------------------------------- the job rows


@dataclass
class Job:
    """A job as the API shows it and the analysis sees it (a copy of its row, with the patient's name).

    While it runs, ``frames_done``, ``frame_count`` and ``session_id`` are updated by the analysis and
    stored by the worker's heartbeat.
    """

    id: str
    owner_user_id: int
    patient: str
    exercise_id: str
    filename: str
    kind: str  #: "video" or "recording"
    status: str = "queued"  #: queued, running, done, failed
    frames_done: int = 0
    frame_count: int | None = None
    created_at: Any = field(default_factory=utc_now)
    started_at: Any = None
    finished_at: Any = None
    session_id: int | None = None
    result: dict | None = None
    error: str | None = None
    attempts: int = 0
    max_attempts: int = DEFAULT_ATTEMPTS
    prescription_id: int | None = None
    upload_name: str = ""
    keep_upload: bool = False

    @classmethod
    def from_row(cls, row: AnalysisJob, patient: str) -> "Job":
        return cls(id=row.id, owner_user_id=row.owner_user_id, patient=patient, exercise_id=row.exercise_id,
                   filename=row.filename, kind=row.kind, status=row.status, frames_done=row.frames_done,
                   frame_count=row.frame_count, created_at=row.created_at, started_at=row.started_at,
                   finished_at=row.finished_at, session_id=row.session_id, result=row.result, error=row.error,
                   attempts=row.attempts, max_attempts=row.max_attempts, prescription_id=row.prescription_id,
                   upload_name=row.upload_name, keep_upload=row.keep_upload)

    @property
    def progress(self) -> float | None:
        """Share done, 0 to 1 (1 when done); None while the frame count is unknown."""
        if self.status == "done":
            return 1.0
        if self.frame_count:
            return min(1.0, self.frames_done / self.frame_count)
        return None


def new_job_id() -> str:
    return uuid.uuid4().hex


def _job(s: Session, row: AnalysisJob) -> Job:
    return Job.from_row(row, s.get(Patient, row.patient_id).name)


def create_job(sm: sessionmaker[Session], *, job_id: str, owner_user_id: int, patient_id: int, exercise_id: str,
               filename: str, kind: str, upload_name: str, prescription_id: int | None, keep_upload: bool,
               client_key: str | None, max_attempts: int = DEFAULT_ATTEMPTS) -> tuple[Job, bool]:
    """Commit a new ``queued`` job; returns (job, True). With a ``client_key`` the caller used before,
    nothing is added and the earlier job is returned (job, False)."""
    from sqlalchemy.exc import IntegrityError

    if client_key is not None:
        earlier = find_by_client_key(sm, owner_user_id, client_key)
        if earlier is not None:
            return earlier, False
    try:
        with write_session(sm) as s:
            row = AnalysisJob(id=job_id, owner_user_id=owner_user_id, client_key=client_key, patient_id=patient_id,
                              exercise_id=exercise_id, prescription_id=prescription_id, filename=filename, kind=kind,
                              upload_name=upload_name, keep_upload=keep_upload, max_attempts=max_attempts)
            s.add(row)
            s.flush()
            return _job(s, row), True
    except IntegrityError:
        earlier = find_by_client_key(sm, owner_user_id, client_key) if client_key is not None else None
        if earlier is None:
            raise
        return earlier, False  # the same key, posted twice at once: the other request won


def find_by_client_key(sm: sessionmaker[Session], owner_user_id: int, client_key: str) -> Job | None:
    with sm() as s:
        row = s.scalars(select(AnalysisJob).where(AnalysisJob.owner_user_id == owner_user_id,
                                                  AnalysisJob.client_key == client_key)).one_or_none()
        return _job(s, row) if row is not None else None


def get_job(sm: sessionmaker[Session], job_id: str) -> Job | None:
    with sm() as s:
        row = s.get(AnalysisJob, job_id)
        return _job(s, row) if row is not None else None


def jobs_of(sm: sessionmaker[Session], owner_user_id: int, limit: int = 200) -> list[Job]:
    """A user's jobs, newest first."""
    with sm() as s:
        rows = s.scalars(select(AnalysisJob).where(AnalysisJob.owner_user_id == owner_user_id)
                         .order_by(AnalysisJob.created_at.desc()).limit(limit)).all()
        return [_job(s, r) for r in rows]


def _mine(job_id: str, worker: str):
    return (AnalysisJob.id == job_id, AnalysisJob.worker == worker, AnalysisJob.status == "running")


def claim(sm: sessionmaker[Session], job_id: str, worker: str, lease_s: float) -> Job | None:
    """Take a queued job for ``worker`` (one more attempt, a lease); None if it is not queued (already
    taken, finished, or unknown: a message delivered twice)."""
    now = utc_now()
    with write_session(sm) as s:
        res = s.execute(update(AnalysisJob).where(AnalysisJob.id == job_id, AnalysisJob.status == "queued")
                        .values(status="running", attempts=AnalysisJob.attempts + 1, worker=worker,
                                lease_until=now + timedelta(seconds=lease_s), started_at=now)
                        .execution_options(synchronize_session=False))
        if res.rowcount != 1:
            return None
        return _job(s, s.get(AnalysisJob, job_id))


def renew(sm: sessionmaker[Session], job: Job, worker: str, lease_s: float) -> bool:
    """Extend the lease and store the progress; False if the job is no longer this worker's."""
    with write_session(sm) as s:
        res = s.execute(update(AnalysisJob).where(*_mine(job.id, worker))
                        .values(lease_until=utc_now() + timedelta(seconds=lease_s), frames_done=job.frames_done,
                                frame_count=job.frame_count, session_id=job.session_id)
                        .execution_options(synchronize_session=False))
        return res.rowcount == 1


def _finish(sm, job: Job, claimer: str, values: dict) -> bool:
    """Apply ``values`` to the job if it is still ``claimer``'s running job; False otherwise."""
    with write_session(sm) as s:
        res = s.execute(update(AnalysisJob).where(*_mine(job.id, claimer))
                        .values(lease_until=None, frames_done=job.frames_done, frame_count=job.frame_count,
                                session_id=job.session_id, **values)
                        .execution_options(synchronize_session=False))
        return res.rowcount == 1


def mark_done(sm, job: Job, worker: str, result: dict) -> bool:
    from coach.api.live import clean

    return _finish(sm, job, worker, dict(status="done", result=clean(result), error=None, finished_at=utc_now()))


def mark_failed(sm, job: Job, worker: str, error: str) -> bool:
    return _finish(sm, job, worker, dict(status="failed", error=error, finished_at=utc_now()))


def requeue(sm, job: Job, worker: str, error: str | None, *, count_attempt: bool = True) -> bool:
    """Back to ``queued`` (the caller enqueues it); ``count_attempt`` False gives the attempt back."""
    values: dict = dict(status="queued", worker=None, queued_at=utc_now(), error=error)
    if not count_attempt:
        values["attempts"] = AnalysisJob.attempts - 1
    return _finish(sm, job, worker, values)


@dataclass
class Recovery:
    """What one :func:`recover` pass did: job ids re-queued, failed, and enqueued again."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    enqueued: list[str] = field(default_factory=list)


def recover(sm: sessionmaker[Session], queue: JobQueue, uploads: UploadStore | None,
            now: datetime | None = None) -> Recovery:
    """Jobs whose worker died (lease expired): queued again, or failed after their last attempt; and
    ``queued`` jobs that are in no queue: enqueued again. Safe to run in many processes at once."""
    now = now or utc_now()
    out = Recovery()
    with sm() as s:
        expired = s.execute(select(AnalysisJob.id, AnalysisJob.attempts, AnalysisJob.max_attempts,
                                   AnalysisJob.worker, AnalysisJob.upload_name, AnalysisJob.keep_upload)
                            .where(AnalysisJob.status == "running", AnalysisJob.lease_until < now)).all()
    for job_id, attempts, max_attempts, worker, upload_name, keep in expired:
        stale = (AnalysisJob.id == job_id, AnalysisJob.status == "running", AnalysisJob.lease_until < now)
        if attempts >= max_attempts:
            values = dict(status="failed", finished_at=now, lease_until=None,
                          error=f"the analysis stopped {attempts} times before it finished (its worker was "
                                f"killed or lost, last {worker}); not retried again")
        else:
            values = dict(status="queued", queued_at=now, lease_until=None, worker=None,
                          error=f"attempt {attempts} stopped (worker {worker} killed or lost); retrying")
        with write_session(sm) as s:
            won = s.execute(update(AnalysisJob).where(*stale).values(**values)
                            .execution_options(synchronize_session=False)).rowcount == 1
        if not won:
            continue  # another process recovered it first
        if values["status"] == "failed":
            out.failed.append(job_id)
            if uploads is not None and not keep:
                uploads.delete(upload_name)
        else:
            out.requeued.append(job_id)
            queue.enqueue(job_id)
    cutoff = now - timedelta(seconds=ORPHAN_GRACE_S)
    with sm() as s:
        waiting = list(s.scalars(select(AnalysisJob.id).where(AnalysisJob.status == "queued",
                                                               AnalysisJob.queued_at < cutoff)))
    if waiting:
        try:
            in_queue = queue.waiting_ids()
        except Exception as exc:  # the queue is down: try again next pass
            log.warning("could not read the job queue (%s)", exc)
            return out
        for job_id in waiting:
            if job_id not in in_queue and queue.enqueue(job_id):
                out.enqueued.append(job_id)
    for what, ids in (("re-queued", out.requeued), ("failed", out.failed), ("enqueued again", out.enqueued)):
        if ids:
            log.warning("recovered jobs %s: %s", what, ", ".join(ids))
    return out


# ------------------------------------------------------------------------------------- the workers


class _AnyEvent:
    """``is_set()`` of several events: a job stops when its worker stops or it lost its lease."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


#: Errors of the upload itself (unreadable file, unknown exercise): a retry would fail the same way.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (SourceError, DefinitionError)


class JobRunner:
    """Runs jobs delivered by a :class:`JobQueue`: claim, analyse with a lease, record the outcome.

    ``model_path_fn()`` gives the pose model for videos (called only when one comes); ``exercise_dirs``
    extra definition folders; ``lease_s`` how long a claim lasts unrenewed; a failed attempt is retried
    after ``retry_delay_s`` times its number. :attr:`stopping` set: running analyses stop at their next frame and their
    jobs go back to the queue.
    """

    def __init__(self, sm: sessionmaker[Session], queue: JobQueue, uploads: UploadStore,
                 model_path_fn: Callable[[], Path], exercise_dirs: Iterable[Path] = (), *,
                 lease_s: float = DEFAULT_LEASE_S, retry_delay_s: float = RETRY_DELAY_S) -> None:
        self.sm = sm
        self.queue = queue
        self.uploads = uploads
        self.model_path_fn = model_path_fn
        self.exercise_dirs = list(exercise_dirs)
        self.lease_s = float(lease_s)
        self.retry_delay_s = float(retry_delay_s)
        self.stopping = threading.Event()
        queue.set_handler(self.process)

    def worker_name(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:200]

    def process(self, job_id: str) -> str | None:
        """Run one delivered job id; returns its new status, None if it was not ours to run."""
        from coach.api.jobs import run_analysis

        worker = self.worker_name()
        job = claim(self.sm, job_id, worker, self.lease_s)
        if job is None:
            return None
        lost = threading.Event()
        ended = threading.Event()

        def heartbeat() -> None:
            while not ended.wait(min(HEARTBEAT_S, self.lease_s / 3)):
                try:
                    if not renew(self.sm, job, worker, self.lease_s):
                        if not ended.is_set():  # (it ended while we renewed: nothing was lost)
                            log.warning("job %s is no longer ours (lease lost); stopping it", job.id)
                            lost.set()
                        return
                except Exception as exc:  # the database is briefly away: the lease has slack
                    log.warning("could not renew the lease of job %s: %s", job.id, exc)

        beat = threading.Thread(target=heartbeat, name=f"lease-{job.id[:8]}", daemon=True)
        beat.start()
        t0 = time.monotonic()
        path = self.uploads.path(job.upload_name)
        try:
            if not path.is_file():
                raise QueueError(f"the upload {path} is not in this worker's upload folder (give every worker "
                                 "the server's --uploads folder)")
            result = run_analysis(job, path, self.sm, self.model_path_fn, self.exercise_dirs, job.prescription_id,
                                  _AnyEvent(self.stopping, lost))
        except PERMANENT_ERRORS as exc:
            return self._end(job, worker, "failed", error=str(exc), ended=ended)
        except Exception as exc:  # anything else may be passing: retried, bounded
            log.warning("job %s attempt %d failed: %s", job.id, job.attempts, exc,
                        exc_info=not isinstance(exc, CoachError))
            reason = str(exc) if isinstance(exc, CoachError) else f"internal error: {type(exc).__name__}: {exc}"
            return self._end(job, worker, "retry", error=reason, ended=ended)
        if lost.is_set():
            ended.set()
            return None  # another worker has it now
        if result.get("ended_reason") == "interrupted":
            return self._end(job, worker, "released", ended=ended)
        status = self._end(job, worker, "done", result=result, ended=ended)
        log.info("job %s done: %s reps in %.1f s (%s)", job.id, result.get("reps"), time.monotonic() - t0, worker)
        return status

    def _end(self, job: Job, worker: str, how: str, *, ended: threading.Event, error: str | None = None,
             result: dict | None = None) -> str | None:
        ended.set()  # the heartbeat stops renewing (a renewal under way finishes first: same write turn)
        if how == "done":
            if mark_done(self.sm, job, worker, result):
                self._drop_upload(job)
                return "done"
            return None
        if how == "released":  # stopped, not failed: back to the queue, this start not counted
            if requeue(self.sm, job, worker, None, count_attempt=False):
                self.queue.enqueue(job.id)
                return "queued"
            return None
        if how == "retry" and job.attempts < job.max_attempts:
            if requeue(self.sm, job, worker, f"attempt {job.attempts} failed: {error}; retrying"):
                self.queue.enqueue(job.id, delay_s=self.retry_delay_s * job.attempts)
                return "queued"
            return None
        if how == "retry":
            error = f"gave up after {job.attempts} attempts: {error}"
        if mark_failed(self.sm, job, worker, error or "failed"):
            self._drop_upload(job)
            return "failed"
        return None

    def _drop_upload(self, job: Job) -> None:
        if not job.keep_upload:
            self.uploads.delete(job.upload_name)

    def recover(self) -> Recovery:
        return recover(self.sm, self.queue, self.uploads)


class QueueWorkers:
    """``threads`` huey workers of a :class:`JobRunner` in this process, and the recovery loop.

    :meth:`start` / :meth:`stop` run them in the background (``coach serve``); :meth:`run` in the
    foreground until SIGINT or SIGTERM (``coach worker``), both of which stop the running jobs at their
    next frame and put them back in the queue.
    """

    def __init__(self, runner: JobRunner, threads: int = 1, *, recover_every_s: float | None = None) -> None:
        from huey.consumer import Consumer

        self.runner = runner
        self.threads = max(1, int(threads))
        self.recover_every_s = recover_every_s or max(1.0, min(10.0, runner.lease_s / 3))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        workers = self

        class _Consumer(Consumer):
            def _set_signal_handlers(self) -> None:
                if threading.current_thread() is threading.main_thread() and workers._foreground:
                    super()._set_signal_handlers()

            def _handle_signal(self, signum, frame) -> None:
                workers.runner.stopping.set()  # running analyses stop at their next frame
                super()._handle_signal(signum, frame)
                self._graceful = True  # SIGTERM too: let them put their jobs back

        self._foreground = False
        # Poll an SQLite queue every 0.05-0.5 s; Redis blocks on the list instead.
        self.consumer = _Consumer(runner.queue.huey, workers=self.threads, worker_type="thread", periodic=False,
                                  initial_delay=0.05, backoff=1.3, max_delay=0.5, scheduler_interval=1,
                                  check_worker_health=True, health_check_interval=5)

    def _recover_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.runner.recover()
            except Exception as exc:  # the database or queue is away for a moment
                log.warning("job recovery pass failed: %s", exc)
            self._stop.wait(self.recover_every_s)

    def _start_recovery(self) -> None:
        t = threading.Thread(target=self._recover_loop, name="job-recovery", daemon=True)
        t.start()
        self._threads.append(t)

    def start(self) -> None:
        """Run in the background (no signal handlers)."""
        from huey.consumer import ConsumerStopped

        self.consumer.start()

        def supervise() -> None:  # the consumer's own loop: restarts a worker thread that died
            ts = time.monotonic()
            while True:
                try:
                    ts = self.consumer.loop(ts)
                except ConsumerStopped:
                    return

        t = threading.Thread(target=supervise, name="job-consumer", daemon=True)
        t.start()
        self._threads.append(t)
        self._start_recovery()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the running analyses at their next frame (their jobs go back to the queue) and wait."""
        self.runner.stopping.set()
        self._stop.set()
        self.consumer.stop(graceful=True)
        self._join(timeout_s)

    def run(self) -> None:
        """Run in the foreground until SIGINT / SIGTERM."""
        self._foreground = True
        self._start_recovery()
        self.consumer.run()
        self._stop.set()
        self._join(30.0)

    def _join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for _, t in self.consumer.worker_threads:
            t.join(max(0.0, deadline - time.monotonic()))
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
