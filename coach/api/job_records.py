"""The analysis jobs in the history database: the job row (``db.models.AnalysisJob``, shared by every
process) is the truth about a job: its state, attempts, lease, progress, result or error.

:class:`Job` is a copy of a row as the API shows it and the analysis sees it. A worker *claims* a
queued row (``queued`` → ``running``, one more attempt, a lease that it renews while it works, with the
progress); the claim is a conditional UPDATE, so an id delivered twice is analysed once. Every later
write of the worker (renewal, done, failed, back to the queue) applies only while the row is still its
running job. Lease times are wall-clock UTC of the machine that writes them: keep the clocks of the
machines in step (NTP), well within the lease.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.engine import write_session
from db.models import AnalysisJob, Patient, utc_now

#: Starts of a job before it is given up.
DEFAULT_ATTEMPTS = 3


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
