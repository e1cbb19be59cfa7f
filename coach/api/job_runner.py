"""Running analysis jobs: the runner that claims a delivered job id, analyses its upload under a lease
and records the outcome; the huey workers that run it in a process; and the recovery of jobs whose
worker died.

A job's life: the server stores the upload (:mod:`coach.api.upload_store`), commits the row ``queued``
(:mod:`coach.api.job_records`) and enqueues its id (:mod:`coach.api.job_queue`). A worker takes the id
and *claims* the row (``queued`` → ``running``, one more attempt, a lease of :data:`DEFAULT_LEASE_S`
that it renews every :data:`HEARTBEAT_S` while it works, with the progress). The claim is a conditional
UPDATE, so an id delivered twice is analysed once. Then:

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
attempt of the same job left (``sessions.job_id`` is unique).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from coach.api.job_queue import JobQueue, QueueError
from coach.api.job_records import Job, claim, mark_done, mark_failed, renew, requeue
from coach.api.upload_store import UploadStore
from coach.errors import CoachError, DefinitionError, SourceError
from db.engine import write_session
from db.models import AnalysisJob, utc_now

log = logging.getLogger(__name__)

#: Seconds a worker's claim on a job lasts without renewal; a killed worker's job is recovered after it.
DEFAULT_LEASE_S = 30.0
#: Seconds between a running job's lease renewals (which also store its progress).
HEARTBEAT_S = 1.0
#: Seconds before a failed attempt is retried, times the attempt number.
RETRY_DELAY_S = 2.0
#: A queued job is enqueued again when it is in no queue this many seconds after it was queued.
ORPHAN_GRACE_S = 10.0


# ------------------------------------------------------------------------------------ the recovery


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
