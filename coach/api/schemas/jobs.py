"""Video analysis jobs as the API shows them (``coach.api.job_records.Job``): status and progress, and when
done the workout's result."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field

from coach.api.schemas.timestamps import Timestamp
from coach.api.schemas.workout import WorkoutResultOut


class JobOut(BaseModel):
    """A job: what was uploaded, how far its analysis is."""

    model_config = ConfigDict(from_attributes=True)
    id: str = Field(..., description="Job id.")
    status: str = Field(..., description="`queued`, `running`, `done` or `failed`.")
    patient: str = Field(..., description="Whose session it is.")
    exercise_id: str = Field(..., description="Exercise id.")
    filename: str = Field(..., description="The uploaded file's name, as the client sent it.")
    kind: str = Field(..., description="`video` or `recording` (a coach keypoint recording, .npz).")
    frames_done: int = Field(..., description="Frames analysed so far.")
    frame_count: int | None = Field(..., description="Frames in the upload; null while unknown.")
    progress: float | None = Field(..., description="Share done, 0 to 1 (1 when done); null while the frame count "
                                                    "is unknown.")
    session_id: int | None = Field(..., description="The session it records in the history, once it has one.")
    attempts: int = Field(..., description="Times a worker started it.")
    max_attempts: int = Field(..., description="Starts allowed before it fails.")
    keep_upload: bool = Field(..., description="The upload is kept after its analysis (`keep_video`).")
    created_at: Timestamp = Field(..., description="When it was submitted (UTC).")
    started_at: Timestamp | None = Field(..., description="When its latest start began (UTC).")
    finished_at: Timestamp | None = Field(..., description="When it ended (UTC).")
    error: str | None = Field(..., description="Why it failed, in one sentence (or why its last start failed).")


class JobAcceptedOut(JobOut):
    """A job just submitted (or the one an earlier upload with the same ``Idempotency-Key`` made)."""

    @computed_field(description="Where to poll it: `GET` this path until `status` is `done` or `failed`.")
    @property
    def status_url(self) -> str:
        return f"/api/jobs/{self.id}"


class JobDetailOut(JobOut):
    """A job with its result."""

    result: WorkoutResultOut | None = Field(..., description="When done: the workout's result (what `coach "
                                                             "workout --json` prints for the file); else null.")
