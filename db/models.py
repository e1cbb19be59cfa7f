"""The history schema: SQLAlchemy 2.0 typed models.

Two clocks, kept apart on purpose:

- ``*_at`` columns are wall-clock moments of real-world events (a session started, a note was written),
  stored as naive UTC in SQLite and returned as timezone-aware UTC ``datetime``.
- ``*_s`` columns are **source seconds**: the timestamps of the video, camera stream or keypoint
  recording the engine counted from. They are what the engine produced and never mix with wall time.

Angles are degrees (``*_deg``). ``Rep.min_value`` / ``max_value`` / ``range_of_motion`` keep the names of
:class:`coach.engine.events.RepRecord` (the JSON output uses the same names); their unit is that of the rep's
primary measure (degrees for angles and inclinations, torso lengths for normalised distances).

The schema changes only through a migration in ``db/migrations/versions`` (see ``db/engine.py``).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    JSON,
    LargeBinary,
    false,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Constraint names are fixed so future (batch) migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Largest row id accepted from a user (a command argument, an API path): ids are 64-bit integers in both
#: databases, and a larger number would overflow the driver instead of being "not found".
MAX_ID = 2**62


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime, stored naive (SQLite has no time zones).

    Naive values given to it are taken to be UTC already; aware ones are converted.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: The therapist who looks after this patient (the HTTP API shows a patient to this therapist only).
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL"), index=True
    )

    sessions: Mapped[list[WorkoutSession]] = relationship(back_populates="patient")
    therapist: Mapped[Therapist | None] = relationship()
    prescriptions: Mapped[list[Prescription]] = relationship(back_populates="patient")

    def __repr__(self) -> str:
        return f"Patient(id={self.id}, name={self.name!r})"


class PatientClaim(Base):
    """The audit of a patient's owning therapist changing: who took the patient over, from whom, when, and
    by which command. A patient recorded without a therapist (``workout --patient NAME`` at a clinic PC)
    is taken over only by this explicit step (``coach users claim``, ``coach users add``), never by the
    HTTP API, so that no therapist can read a history by naming it."""

    __tablename__ = "patient_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id", ondelete="SET NULL"))
    previous_therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: the operating-system account and machine that ran the command, e.g. "admin@clinic-pc"
    claimed_by: Mapped[str] = mapped_column(String(200))
    #: the command: "users claim" or "users add"
    how: Mapped[str] = mapped_column(String(100))

    patient: Mapped[Patient] = relationship()
    therapist: Mapped[Therapist | None] = relationship(foreign_keys=[therapist_id])
    previous_therapist: Mapped[Therapist | None] = relationship(foreign_keys=[previous_therapist_id])


class Therapist(Base):
    __tablename__ = "therapists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Prescription(Base):
    """An exercise a therapist assigned to a patient, with the targets the workout uses by default."""

    __tablename__ = "prescriptions"
    __table_args__ = (
        CheckConstraint("reps IS NULL OR reps > 0", name="reps_positive"),
        CheckConstraint("sets IS NULL OR sets > 0", name="sets_positive"),
        CheckConstraint("per_week IS NULL OR per_week > 0", name="per_week_positive"),
        Index("ix_prescriptions_patient_exercise", "patient_id", "exercise_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id", ondelete="SET NULL"))
    exercise_id: Mapped[str] = mapped_column(String(100))
    reps: Mapped[int | None]
    sets: Mapped[int | None]
    hold_s: Mapped[float | None]
    rom_deg: Mapped[float | None]
    per_week: Mapped[int | None]  #: sessions a week
    start_date: Mapped[date] = mapped_column(Date, default=lambda: utc_now().date())
    until_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    ended_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship(back_populates="prescriptions")
    therapist: Mapped[Therapist | None] = relationship()


class WorkoutSession(Base):
    """One workout: a patient doing one exercise from one source, in one or more sets.

    ``ended_at`` stays NULL while recording; a session that still has it NULL after the program stopped
    was killed (power cut, SIGKILL) — its committed sets and reps are all there.
    """

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_patient_started", "patient_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    prescription_id: Mapped[int | None] = mapped_column(
        ForeignKey("prescriptions.id", ondelete="SET NULL")
    )
    exercise_id: Mapped[str] = mapped_column(String(100))
    definition_hash: Mapped[str] = mapped_column(String(128))  #: content hash of the exercise YAML
    definition_version: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(Text)  #: "camera 0", a file path, a recording
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(100))  #: "completed", "interrupted", "error"
    #: The analysis job (:class:`AnalysisJob` id) that recorded this session, NULL for a live workout.
    #: Unique: a retried job replaces its earlier, partial session instead of adding a second one.
    job_id: Mapped[str | None] = mapped_column(String(32), unique=True)

    patient: Mapped[Patient] = relationship(back_populates="sessions")
    prescription: Mapped[Prescription | None] = relationship()
    sets: Mapped[list[WorkoutSet]] = relationship(
        back_populates="session", order_by="WorkoutSet.index", cascade="all, delete-orphan",
        passive_deletes=True,
    )
    notes: Mapped[list[SessionNote]] = relationship(
        back_populates="session", order_by="SessionNote.id", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class WorkoutSet(Base):
    __tablename__ = "sets"
    __table_args__ = (UniqueConstraint("session_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    index: Mapped[int]  #: 1-based within the session
    target_reps: Mapped[int | None]
    target_hold_s: Mapped[float | None]
    started_s: Mapped[float | None]  #: source seconds
    ended_s: Mapped[float | None]
    #: "completed", "source ended", "camera lost", "interrupted", "error"; NULL while open or if killed
    ended_reason: Mapped[str | None] = mapped_column(String(100))

    session: Mapped[WorkoutSession] = relationship(back_populates="sets")
    reps: Mapped[list[Rep]] = relationship(
        back_populates="set", order_by="Rep.index", cascade="all, delete-orphan", passive_deletes=True
    )
    form_events: Mapped[list[FormEvent]] = relationship(
        back_populates="set", order_by="FormEvent.time_s", cascade="all, delete-orphan",
        passive_deletes=True,
    )
    holds: Mapped[list[Hold]] = relationship(
        back_populates="set", order_by="Hold.start_s", cascade="all, delete-orphan", passive_deletes=True
    )
    not_measurable: Mapped[list[NotMeasurableInterval]] = relationship(
        back_populates="set", order_by="NotMeasurableInterval.start_s", cascade="all, delete-orphan",
        passive_deletes=True,
    )
    angle_series: Mapped[list[AngleSeries]] = relationship(
        back_populates="set", order_by="AngleSeries.id", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Rep(Base):
    """One counted repetition: :class:`coach.engine.events.RepRecord` as a row."""

    __tablename__ = "reps"
    __table_args__ = (UniqueConstraint("set_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"), index=True)
    index: Mapped[int]  #: 1-based over the whole set (all sides)
    side: Mapped[str] = mapped_column(String(10))
    start_s: Mapped[float]
    end_s: Mapped[float]
    duration_s: Mapped[float]
    eccentric_s: Mapped[float]
    concentric_s: Mapped[float]
    measure: Mapped[str] = mapped_column(String(100))  #: name of the primary measure
    #: Extremes of the primary measure during the rep, in the measure's unit; NULL if not finite.
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]
    range_of_motion: Mapped[float | None]  #: max_value - min_value
    #: its return was not seen (the source ended, faded or lost the person); counted all the same
    ended_early: Mapped[bool] = mapped_column(default=False, server_default=false())

    set: Mapped[WorkoutSet] = relationship(back_populates="reps")
    #: In the order they were recorded, which is the order of ``RepRecord.faults``.
    faults: Mapped[list[FormEvent]] = relationship(back_populates="rep", order_by="FormEvent.id")


class FormEvent(Base):
    """A form fault (:class:`coach.engine.events.FormFault`): during a rep (``rep_id`` set) or between reps."""

    __tablename__ = "form_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), index=True)
    rep_index: Mapped[int | None]  #: as the engine reported it (kept when the rep never completed)
    code: Mapped[str] = mapped_column(String(100))
    cue: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    time_s: Mapped[float]
    side: Mapped[str] = mapped_column(String(10))
    value: Mapped[float | None]

    set: Mapped[WorkoutSet] = relationship(back_populates="form_events")
    rep: Mapped[Rep | None] = relationship(back_populates="faults")


class Hold(Base):
    """A continuous interval in the hold position."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"), index=True)
    start_s: Mapped[float]
    end_s: Mapped[float]
    duration_s: Mapped[float]
    side: Mapped[str] = mapped_column(String(10))

    set: Mapped[WorkoutSet] = relationship(back_populates="holds")


class NotMeasurableInterval(Base):
    """Source time the engine could not measure, and why."""

    __tablename__ = "not_measurable"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"), index=True)
    start_s: Mapped[float]
    end_s: Mapped[float]
    duration_s: Mapped[float]
    reason: Mapped[str] = mapped_column(Text)

    set: Mapped[WorkoutSet] = relationship(back_populates="not_measurable")


class AngleSeries(Base):
    """A compact trace of one measure over a set, for charts: little-endian float32 arrays as bytes.

    NaN in ``values`` marks samples that were not measurable. Use :meth:`arrays` to read it back.
    """

    __tablename__ = "angle_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"), index=True)
    measure: Mapped[str] = mapped_column(String(100))
    n_samples: Mapped[int]
    times_s_f32: Mapped[bytes] = mapped_column(LargeBinary)  #: source seconds
    values_f32: Mapped[bytes] = mapped_column(LargeBinary)  #: the measure's unit (degrees for angles)

    set: Mapped[WorkoutSet] = relationship(back_populates="angle_series")

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(times_s, values) as float32 numpy arrays."""
        return (
            np.frombuffer(self.times_s_f32, dtype="<f4").copy(),
            np.frombuffer(self.values_f32, dtype="<f4").copy(),
        )


class SessionNote(Base):
    """What the patient reported after a workout: pain, effort (RPE) and free text."""

    __tablename__ = "session_notes"
    __table_args__ = (
        CheckConstraint("pain_0_10 IS NULL OR (pain_0_10 BETWEEN 0 AND 10)", name="pain_range"),
        CheckConstraint("effort_rpe_0_10 IS NULL OR (effort_rpe_0_10 BETWEEN 0 AND 10)", name="effort_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    pain_0_10: Mapped[int | None] = mapped_column(Integer)
    effort_rpe_0_10: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    session: Mapped[WorkoutSession] = relationship(back_populates="notes")


class User(Base):
    """Someone who signs in to the HTTP API: a therapist or a patient, linked to that row.

    A therapist user has ``therapist_id``; a patient user has ``patient_id``. Access follows the link:
    a therapist sees the patients whose ``therapist_id`` is theirs, a patient only their own data.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('therapist', 'patient')", name="role_known"),
        CheckConstraint(
            "(role = 'therapist' AND therapist_id IS NOT NULL AND patient_id IS NULL) OR "
            "(role = 'patient' AND patient_id IS NOT NULL AND therapist_id IS NULL)",
            name="role_link",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="CASCADE"), unique=True
    )
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    therapist: Mapped[Therapist | None] = relationship()
    patient: Mapped[Patient | None] = relationship()
    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class ApiToken(Base):
    """A bearer token of a user. Only the sha256 (hex) of the secret is kept; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


#: Job states: waiting in the queue, being analysed by a worker, finished with a session, given up.
JOB_STATUSES = ("queued", "running", "done", "failed")


class AnalysisJob(Base):
    """An uploaded video or keypoint recording to analyse, as the server and every worker see it.

    The job queue (``coach.api.job_queue``) only delivers job ids; this row is the truth about a job. A
    worker claims it (``queued`` -> ``running``, ``attempts`` + 1) and holds a lease (``lease_until``,
    wall-clock UTC) that it renews while it works; a job whose lease ran out (its worker was killed) is
    queued again, or failed after ``max_attempts`` starts. The upload itself is the file ``upload_name``
    in the upload folder that the server and the workers share; it is deleted after the analysis unless
    ``keep_upload``. ``result`` is what ``coach workout --json`` prints for the same file.
    """

    __tablename__ = "analysis_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        CheckConstraint("kind IN ('video', 'recording')", name="kind_known"),
        CheckConstraint("attempts >= 0 AND max_attempts > 0", name="attempts_valid"),
        #: An upload retried by its client (same Idempotency-Key) is the same job.
        UniqueConstraint("owner_user_id", "client_key"),
        Index("ix_analysis_jobs_owner_created", "owner_user_id", "created_at"),
        Index("ix_analysis_jobs_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  #: uuid4 hex
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_key: Mapped[str | None] = mapped_column(String(100))  #: the client's Idempotency-Key, if any
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    exercise_id: Mapped[str] = mapped_column(String(100))
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(200))  #: as the client named it
    kind: Mapped[str] = mapped_column(String(20))  #: "video" or "recording"
    upload_name: Mapped[str] = mapped_column(String(100))  #: file name in the upload folder
    keep_upload: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)  #: times a worker started it
    max_attempts: Mapped[int] = mapped_column(default=3)
    worker: Mapped[str | None] = mapped_column(String(200))  #: "host:pid:thread" of the last claimer
    lease_until: Mapped[datetime | None]
    frames_done: Mapped[int] = mapped_column(default=0)
    frame_count: Mapped[int | None]
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    queued_at: Mapped[datetime] = mapped_column(default=utc_now)  #: last (re)queued
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship()


__all__ = [
    "AnalysisJob",
    "ApiToken",
    "AngleSeries",
    "Base",
    "FormEvent",
    "Hold",
    "NotMeasurableInterval",
    "Patient",
    "Prescription",
    "Rep",
    "SessionNote",
    "Therapist",
    "UTCDateTime",
    "User",
    "WorkoutSession",
    "WorkoutSet",
]
