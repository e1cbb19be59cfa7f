"""Analysis of uploaded videos as background jobs.

POST a video (or a keypoint recording, ``.npz``) -> 202 with a job id -> GET the job for its progress ->
when done, ``result`` is what ``coach workout --json`` prints for the same file, and the session is in
the history (``result.session_id``).

- Uploads stream to a temporary file; bodies over the limit are refused with 413 while they arrive
  (see ``coach.api.limits``). The content is sniffed, not the name trusted: OpenCV must open the file
  and read a frame, or it must load as a coach keypoint recording; anything else is 415.
- Jobs run in a thread pool (default one worker: the pose model already uses the machine's cores) and
  live in memory only: a restart of the server forgets queued and finished jobs (their sessions stay in
  the database). Stopping the server stops a running job at its next frame (its session ends
  "interrupted"); a killed server leaves it with ``ended_at`` NULL, like a killed CLI run.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from sqlalchemy.orm import Session

from coach.api.deps import current_user, get_db, visible_patient
from coach.api.users import Principal
from coach.errors import USER_ERRORS, CoachError
from db.models import utc_now

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

#: Finished jobs kept for GET (oldest forgotten first).
KEEP_FINISHED = 200


@dataclass
class Job:
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

    def to_dict(self, with_result: bool = True) -> dict:
        progress = None
        if self.status == "done":
            progress = 1.0
        elif self.frame_count:
            progress = min(1.0, self.frames_done / self.frame_count)
        d = {"id": self.id, "status": self.status, "patient": self.patient, "exercise_id": self.exercise_id,
             "filename": self.filename, "kind": self.kind, "frames_done": self.frames_done,
             "frame_count": self.frame_count, "progress": progress, "session_id": self.session_id,
             "created_at": self.created_at.isoformat(),
             "started_at": self.started_at.isoformat() if self.started_at else None,
             "finished_at": self.finished_at.isoformat() if self.finished_at else None, "error": self.error}
        if with_result:
            d["result"] = self.result
        return d


class JobManager:
    def __init__(self, sessionmaker, model_path_fn, exercise_dirs=(), workers: int = 1) -> None:
        self.sm = sessionmaker
        self.model_path_fn = model_path_fn
        self.exercise_dirs = list(exercise_dirs)
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="coach-job")
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.tmp = Path(tempfile.mkdtemp(prefix="coach-uploads-"))
        #: set on shutdown: a running job stops at its next frame (its session ends "interrupted")
        self.stopping = threading.Event()

    def submit(self, job: Job, path: Path, prescription_id: int | None) -> None:
        with self.lock:
            self.jobs[job.id] = job
            finished = [j for j in self.jobs.values() if j.status in ("done", "failed")]
            for old in finished[:-KEEP_FINISHED] if len(finished) > KEEP_FINISHED else []:
                self.jobs.pop(old.id, None)
        self.pool.submit(self._run, job, path, prescription_id)

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def list_for(self, user_id: int) -> list[Job]:
        with self.lock:
            return [j for j in self.jobs.values() if j.owner_user_id == user_id]

    def shutdown(self) -> None:
        self.stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _run(self, job: Job, path: Path, prescription_id: int | None) -> None:
        job.status, job.started_at = "running", utc_now()
        try:
            job.result = run_analysis(job, path, self.sm, self.model_path_fn, self.exercise_dirs, prescription_id,
                                      self.stopping)
            job.status = "done" if job.result.get("ended_reason") != "interrupted" else "failed"
            if job.status == "failed":
                job.error = "the server stopped during the analysis; the reps counted so far are in the session"
        except USER_ERRORS as exc:
            job.error, job.status = str(exc), "failed"
        except Exception as exc:  # a job must never take the worker down; the message goes to the client
            log.exception("job %s failed", job.id)
            job.error, job.status = f"internal error: {type(exc).__name__}: {exc}", "failed"
        finally:
            job.finished_at = utc_now()
            path.unlink(missing_ok=True)


def run_analysis(job: Job, path: Path, sm, model_path_fn, exercise_dirs, prescription_id,
                 stopping: threading.Event | None = None) -> dict:
    """What `coach workout --source FILE --no-show --json` does, recording into ``sm``."""
    from coach.app.recorded_workout import RecordedWorkout, run_stream
    from coach.app.workout import WorkoutPlan, pose_stream
    from coach.exercise.library import get_definition

    definition = get_definition(job.exercise_id, exercise_dirs)
    model_path = None if job.kind == "recording" else model_path_fn()
    stream, info = pose_stream(path, model_path=model_path)
    job.frame_count = info["frame_count"] or None
    session = RecordedWorkout(definition, WorkoutPlan(sets=1, reps=None), history=sm, patient=job.patient,
                              source=f"upload: {job.filename}", prescription_id=prescription_id, fps=info["fps"])
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
        except CoachError as exc:
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                                detail=f"a zip file that is not a coach keypoint recording ({exc})") from None
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
             responses={413: {"description": "The upload is larger than the server's limit"},
                        415: {"description": "Not a video OpenCV can decode, nor a keypoint recording"},
                        422: {"description": "Unknown exercise, or a missing field"}})
async def create_job(request: Request,
                     file: UploadFile = File(..., description="A video (mp4, mov, webm, …) or a .npz recording."),
                     exercise_id: str = Form(..., max_length=100, description="An id from /api/exercises."),
                     patient: str | None = Form(None, max_length=200,
                                                description="Whose session (therapists; a patient is themself)."),
                     user: Principal = Depends(current_user), db: Session = Depends(get_db)) -> dict:
    """Returns 202 with the job; poll ``GET /api/jobs/{id}`` (``status_url``) until status is done/failed."""
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
    job_id = uuid.uuid4().hex
    dest = mgr.tmp / f"{job_id}.upload"
    size = 0
    with open(dest, "wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            out.write(chunk)
    if size == 0:
        dest.unlink(missing_ok=True)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="the uploaded file is empty")
    try:
        kind = sniff_upload(dest)
    except HTTPException:
        dest.unlink(missing_ok=True)
        raise
    if kind == "recording":
        dest = dest.rename(dest.with_suffix(".npz"))
    rx = _prescription_id(db, p.name, definition.id)
    name = Path(file.filename or "upload").name[:200]
    job = Job(id=job_id, owner_user_id=user.user_id, patient=p.name, exercise_id=definition.id, filename=name,
              kind=kind)
    mgr.submit(job, dest, rx)
    out = job.to_dict(with_result=False)
    out["status_url"] = f"/api/jobs/{job_id}"
    return out


def _prescription_id(db: Session, patient: str, exercise_id: str) -> int | None:
    """The active prescription a session of this exercise follows today (as `coach workout`)."""
    from coach.app.prescriptions import targets_for_workout

    rx, _ = targets_for_workout(db, patient, exercise_id)
    return rx.id if rx is not None else None


@router.get("", summary="The caller's jobs (since the server started)")
def list_jobs(request: Request, user: Principal = Depends(current_user)) -> list[dict]:
    return [j.to_dict(with_result=False) for j in _manager(request).list_for(user.user_id)]


@router.get("/{job_id}", summary="A job's status, progress and (when done) result")
def get_job(request: Request, job_id: str, user: Principal = Depends(current_user)) -> dict:
    job = _manager(request).get(job_id)
    if job is None or job.owner_user_id != user.user_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"no job {job_id!r} of yours (jobs are forgotten when the server restarts)")
    return job.to_dict()
