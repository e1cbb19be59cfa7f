"""A workout kept in the history as it happens: the one wiring that `coach workout`, the upload jobs and the
live socket share (the workout, its session recorder and the sink between them; the frame loop; the end)."""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

from coach.app.sinks import RecorderSink
from coach.app.sources import Frame
from coach.app.workout import Workout, WorkoutPlan, WorkoutSink
from coach.engine.events import Event
from coach.exercise.spec import ExerciseDefinition
from coach.pose.series import PoseFrame


class RecordedWorkout:
    """A `Workout` whose reps, faults, holds and angle series go to the history as they happen (each rep
    committed on completion, so a crash keeps what was counted).

    history: a database path/URL or a SQLAlchemy sessionmaker (`coach.app.session_recorder`), or None to keep
    nothing (`--no-db`, group mode). source: how the session's source is described in the history.
    job_id: the analysis job this session belongs to (a retried job replaces its earlier attempt's session).
    The other arguments are `Workout`'s.
    """

    def __init__(self, definition: ExerciseDefinition, plan: WorkoutPlan, *, history, patient: str, source: str,
                 prescription_id: int | None = None, sinks: Iterable[WorkoutSink] = (), live: bool = False,
                 fps: float | None = None, side: str | None = None, choose: str | int = "auto",
                 everyone: bool = False, ready_s: float = 0.0, job_id: str | None = None) -> None:
        self.source = source
        self.recorder = None
        all_sinks: list = []
        if history is not None:
            from coach.app.session_recorder import SessionRecorder

            self.recorder = SessionRecorder(history, patient, definition.id, definition.content_hash,
                                            str(definition.version), source, prescription_id=prescription_id,
                                            job_id=job_id)
            all_sinks.append(RecorderSink(self.recorder, definition.movement.measure))
        all_sinks += list(sinks)
        self.workout = Workout(definition, plan, all_sinks, live=live, side=side, ready_s=ready_s, choose=choose,
                               everyone=everyone, fps=fps)
        self.finished: dict | None = None

    @property
    def session_id(self) -> int | None:
        """The session's id in the history (None when nothing is kept)."""
        return self.recorder.session_id if self.recorder is not None else None

    def process(self, frame: Frame | None, pose: PoseFrame) -> list[Event]:
        """Feed one frame and its keypoints."""
        return self.workout.process(frame, pose)

    def finish(self, reason: str, *, pain: int | None = None, effort: int | None = None, note: str = "") -> dict:
        """End the workout for `reason` (completed, source ended, quit, interrupted, camera lost, error),
        keeping everything counted; adds how it felt; returns what `coach workout --json` prints. Idempotent."""
        if self.finished is not None:
            return self.finished
        summary = self.workout.finish(reason)
        if self.recorder is not None:
            summary.session_id = self.recorder.session_id
            if pain is not None or effort is not None or note.strip():
                self.recorder.add_note(pain, effort, note)
            self.recorder.finish(reason)
        summary.source = self.source
        self.finished = summary.to_dict()
        return self.finished


#: What a `control` callback may answer after each frame.
CONTROLS = ("quit", "interrupted", "pause", "next")


def run_stream(session: RecordedWorkout, stream: Iterator[tuple[Frame | None, PoseFrame]], *,
               control: Callable[[], str | None] | None = None,
               ended_reason: Callable[[], str] = lambda: "source ended") -> str:
    """Feed `stream` to `session` until the source ends, the workout is done, or `control()` (asked after
    every frame) answers "quit" or "interrupted"; "pause" and "next" pause or end the set. Ctrl-C ends it
    as "interrupted". The stream is closed (the video and the pose model released) however it ends.
    Returns why it ended; the caller then calls `session.finish(reason)`."""
    reason = "source ended"
    try:
        for frame, pose in stream:
            session.process(frame, pose)
            action = control() if control is not None else None
            if action in ("quit", "interrupted"):
                reason = action
                break
            if action == "pause":
                session.workout.paused = not session.workout.paused
            elif action == "next":
                session.workout.next_set()
            if session.workout.done:
                reason = "completed"
                break
        else:
            reason = "camera lost" if ended_reason() == "camera lost" else "source ended"
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return reason
