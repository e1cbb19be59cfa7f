"""Analysis of uploaded videos as background jobs: the HTTP endpoints and the analysis of one upload.

POST a video (or a keypoint recording, ``.npz``) -> 202 with a job id -> GET the job for its progress ->
when done, ``result`` is what ``coach workout --json`` prints for the same file, and the session is in
the history (``result.session_id``).

- Uploads stream into the upload folder; bodies over the limit are refused with 413 while they arrive
  (see ``coach.api.limits``). The content is sniffed, not the name trusted: OpenCV must open the file
  and read a frame, or it must load as a coach keypoint recording; anything else is 415.
- Jobs are durable (``coach.api.job_runner``): the job row is in the history database and its id in the
  queue, so a queued or running job survives a restart of the server, and workers on other machines
  (``coach worker``) can take them. A client that may resend an upload (a lost answer, a restarted
  server) sends an ``Idempotency-Key`` header: the same key gives the same job, never a second one.
- The upload is deleted when its analysis ends, unless ``keep_video`` was asked for.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Request, UploadFile, status
from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from coach.api.deps import current_user, get_db, visible_patient
from coach.api.errors import COMMON, responses
from coach.api import job_records
from coach.api.job_queue import JobQueue
from coach.api.job_records import DEFAULT_ATTEMPTS, Job, new_job_id
from coach.api.job_runner import JobRunner, QueueWorkers
from coach.api.upload_store import UploadStore, upload_states
from coach.api.schemas.jobs import JobAcceptedOut, JobDetailOut, JobOut
from coach.api.users import Principal
from coach.errors import CoachError

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=responses(*COMMON))

__all__ = ["Job", "JobManager", "run_analysis", "sniff_upload", "router"]


class JobManager:
    """The server's side of the jobs: stores uploads, records and enqueues jobs, reads them back; and,
    with ``workers`` > 0, runs that many analyses in this process (the embedded default)."""

    def __init__(self, sessionmaker, queue: JobQueue, uploads: UploadStore, model_path_fn, exercise_dirs=(),
                 workers: int = 1, *, max_attempts: int = DEFAULT_ATTEMPTS, lease_s: float | None = None) -> None:
        self.sm = sessionmaker
        self.queue = queue
        self.uploads = uploads
        self.exercise_dirs = list(exercise_dirs)
        self.max_attempts = max_attempts
        self.workers: QueueWorkers | None = None
        kw = {} if lease_s is None else {"lease_s": lease_s}
        self.runner = JobRunner(sessionmaker, queue, uploads, model_path_fn, self.exercise_dirs, **kw)
        self._n_workers = workers
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the in-process workers (none if ``workers`` is 0: separate `coach worker`s do the jobs)."""
        with self._lock:
            self.uploads.sweep(lambda ids: upload_states(self.sm, ids))
            if self._n_workers > 0 and self.workers is None:
                self.workers = QueueWorkers(self.runner, self._n_workers)
                self.workers.start()
            else:
                self.runner.recover()

    def submit(self, job: Job) -> None:
        """Enqueue a job already recorded (a queue that is down is retried by the recovery)."""
        self.queue.enqueue(job.id)

    def get(self, job_id: str) -> Job | None:
        return job_records.get_job(self.sm, job_id)

    def list_for(self, user_id: int) -> list[Job]:
        return job_records.jobs_of(self.sm, user_id)

    def shutdown(self) -> None:
        """Stop the in-process workers: running analyses stop at their next frame and go back to the
        queue, to be finished after a restart (or by another worker)."""
        with self._lock:
            if self.workers is not None:
                self.workers.stop()
                self.workers = None
            self.queue.close()


def run_analysis(job: Job, path: Path, sm, model_path_fn, exercise_dirs, prescription_id,
                 stopping: threading.Event | None = None) -> dict:
    """What `coach workout --source FILE --no-show --json` does, recording into ``sm``.

    ``job`` (a :class:`coach.api.job_records.Job`) gets ``frame_count``, ``frames_done`` and ``session_id``
    as the analysis goes; the session carries ``job.id``, so a retry replaces an earlier attempt's.
    ``stopping.is_set()`` ends it at the next frame ("interrupted")."""
    from coach.app.recorded_workout import RecordedWorkout, run_stream
    from coach.app.workout import WorkoutPlan, pose_stream
    from coach.exercise.library import get_definition

    definition = get_definition(job.exercise_id, exercise_dirs)
    model_path = None if job.kind == "recording" else model_path_fn()
    stream, info = pose_stream(path, model_path=model_path)
    job.frame_count = info["frame_count"] or None
    session = RecordedWorkout(definition, WorkoutPlan(sets=1, reps=None), history=sm, patient=job.patient,
                              source=f"upload: {job.filename}", prescription_id=prescription_id, fps=info["fps"],
                              job_id=job.id)
    job.session_id = session.session_id

    def control() -> str | None:
        job.frames_done += 1
        return "interrupted" if stopping is not None and stopping.is_set() else None

    try:
        reason = run_stream(session, stream, control=control)
    except BaseException:
        session.finish("error")
        raise
    return session.finish(reason)


def sniff_upload(path: Path) -> str:
    """"video" or "recording" by content; raises HTTPException 415 otherwise."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK\x03\x04"):
        from coach.pose.recording import load_recording

        try:
            load_recording(path)
        except CoachError as exc:  # the sentence names the server's file: say "the upload" instead
            why = str(exc).replace(str(path), "the upload")
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                                detail=f"a zip file that is not a usable coach keypoint recording: {why}") from None
        return "recording"
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        ok = cap.isOpened() and cap.read()[0]
    finally:
        cap.release()
    if not ok:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            detail="the file is not a video that can be decoded (nor a keypoint recording .npz)")
    return "video"


def _manager(request: Request) -> JobManager:
    return request.app.state.jobs


@router.post("", status_code=status.HTTP_202_ACCEPTED, summary="Analyse an uploaded video (background job)",
             response_model=JobAcceptedOut,
             responses={413: {**responses(413)[413], "description": "The upload is larger than the server's limit"},
                        415: {**responses(415)[415], "description": "Not a video OpenCV can decode, nor a keypoint "
                                                                    "recording (the detail says what is wrong)"},
                        422: {**responses(422)[422], "description": "Unknown exercise, or a missing field"},
                        **responses(400, 403, 404)})
def create_job(request: Request,
               file: UploadFile = File(..., description="A video (mp4, mov, webm, …) or a .npz recording."),
               exercise_id: str = Form(..., max_length=100, description="An id from /api/exercises."),
               patient: str | None = Form(None, max_length=200,
                                          description="Whose session (therapists; a patient is themself)."),
               keep_video: bool = Form(False, description="Keep the uploaded file after the analysis "
                                       "(by default it is deleted once analysed)."),
               idempotency_key: str | None = Header(None, max_length=100,
                                                    description="Resending an upload with the same key "
                                                    "returns the job made the first time."),
               user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> JobAcceptedOut:
    """Returns 202 with the job; poll ``GET /api/jobs/{id}`` (``status_url``) until status is done/failed.

    Runs on a worker thread (sniffing a recording validates all of it). The upload is deleted on every
    path that does not end in a recorded job."""
    import shutil

    from coach.exercise.library import get_definition
    from db.models import Patient

    mgr = _manager(request)
    if user.role == "patient":
        p = db.get(Patient, user.patient_id)
        if patient is not None and patient.strip() != p.name:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="a patient may upload only their own sessions")
    else:
        if not patient:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="give the patient (form field 'patient')")
        p = visible_patient(db, user, patient)
    try:
        definition = get_definition(exercise_id, mgr.exercise_dirs)
    except CoachError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    if idempotency_key is not None:
        earlier = job_records.find_by_client_key(mgr.sm, user.user_id, idempotency_key)
        if earlier is not None:
            return JobAcceptedOut.model_validate(earlier)
    job_id = new_job_id()
    dest = mgr.uploads.partial(job_id)
    upload_name = None
    try:
        with open(dest, "wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        if dest.stat().st_size == 0:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="the uploaded file is empty")
        kind = sniff_upload(dest)
        upload_name = mgr.uploads.save(dest, job_id, kind)
        rx = _prescription_id(db, p.name, definition.id)
        name = Path(file.filename or "upload").name[:200]
        job, created = job_records.create_job(mgr.sm, job_id=job_id, owner_user_id=user.user_id, patient_id=p.id,
                                            exercise_id=definition.id, filename=name, kind=kind,
                                            upload_name=upload_name, prescription_id=rx, keep_upload=keep_video,
                                            client_key=idempotency_key, max_attempts=mgr.max_attempts)
    except BaseException:  # not recorded: the upload must not linger, whatever went wrong
        dest.unlink(missing_ok=True)
        if upload_name is not None:
            mgr.uploads.delete(upload_name)
        raise
    if created:
        mgr.submit(job)
    else:  # the same key posted twice at once: the other request's job stands
        mgr.uploads.delete(upload_name)
    return JobAcceptedOut.model_validate(job)


def _prescription_id(db: Session, patient: str, exercise_id: str) -> int | None:
    """The active prescription a session of this exercise follows today (as `coach workout`)."""
    from coach.app.prescriptions import targets_for_workout

    rx, _ = targets_for_workout(db, patient, exercise_id)
    return rx.id if rx is not None else None


@router.get("", summary="The caller's jobs, newest first (the latest 200)", response_model=list[JobOut])
def list_jobs(request: Request, user: Principal = Depends(current_user)) -> list[JobOut]:
    return [JobOut.model_validate(j) for j in _manager(request).list_for(user.user_id)]


@router.get("/{job_id}", summary="A job's status, progress and (when done) result", response_model=JobDetailOut,
            responses=responses(404))
def get_job(request: Request, job_id: str = PathParam(..., max_length=100),
            user: Principal = Depends(current_user)) -> JobDetailOut:
    job = _manager(request).get(job_id)
    if job is None or job.owner_user_id != user.user_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"no job {job_id!r} of yours")
    return JobDetailOut.model_validate(job)
