"""Sinks that watch a workout: the database recorder, an annotated video file, a window, a terminal panel."""

from __future__ import annotations

import numpy as np

from coach.events import Event
from coach.keypoints import PoseFrame
from coach.renderer import OverlayModel, blank_canvas, draw_workout_overlay
from coach.sources import Frame
from coach.video_output import VideoWriter
from coach.workout import SetResult


class RecorderSink:
    """Writes the workout to the history database as it happens (each rep committed on completion)."""

    def __init__(self, recorder, primary_measure: str) -> None:
        self.recorder = recorder
        self.primary_measure = primary_measure

    def on_set_started(self, set_index: int, target_reps: int | None) -> None:
        self.recorder.start_set(set_index, target_reps=target_reps)

    def on_events(self, events: list[Event]) -> None:
        for event in events:
            self.recorder.on_event(event)

    def on_frame(self, frame: Frame | None, pose: PoseFrame, overlay: OverlayModel) -> None:
        return None

    def on_set_ended(self, set_result: SetResult) -> None:
        result = set_result.result
        self.recorder.add_holds(result.holds)
        self.recorder.add_not_measurable(result.not_measurable)
        times, values = result.measure_trace["times_s"], result.measure_trace["values"]
        if len(times):
            self.recorder.add_angle_series(self.primary_measure, np.asarray(times), np.asarray(values))
        self.recorder.end_set(set_result.ended_reason)


def annotate(frame: Frame | None, pose: PoseFrame, overlay: OverlayModel) -> np.ndarray:
    """The annotated image for one frame: the video frame, or a dark canvas for a recording."""
    image = frame.image_bgr.copy() if frame is not None else blank_canvas(pose.width_px, pose.height_px)
    return draw_workout_overlay(image, pose, overlay)


class VideoSink:
    """Writes the annotated frames to an .mp4 file (`--save-video`)."""

    def __init__(self, path, fps: float) -> None:
        self.writer = VideoWriter(path, fps)

    def on_set_started(self, set_index: int, target_reps: int | None) -> None:
        return None

    def on_events(self, events: list[Event]) -> None:
        return None

    def on_frame(self, frame: Frame | None, pose: PoseFrame, overlay: OverlayModel) -> None:
        self.writer.write(annotate(frame, pose, overlay))

    def on_set_ended(self, set_result: SetResult) -> None:
        return None

    def close(self) -> None:
        self.writer.close()


class WindowSink:
    """Shows the annotated frames in a window and reads keys: q quit, space pause, n next set."""

    WINDOW = "coach"

    def __init__(self) -> None:
        import cv2

        self.cv2 = cv2
        self.last_key: str | None = None

    def on_set_started(self, set_index: int, target_reps: int | None) -> None:
        return None

    def on_events(self, events: list[Event]) -> None:
        return None

    def on_frame(self, frame: Frame | None, pose: PoseFrame, overlay: OverlayModel) -> None:
        self.cv2.imshow(self.WINDOW, annotate(frame, pose, overlay))
        key = self.cv2.waitKey(1) & 0xFF
        self.last_key = {ord("q"): "quit", 27: "quit", ord(" "): "pause", ord("n"): "next"}.get(key)

    def on_set_ended(self, set_result: SetResult) -> None:
        return None

    def close(self) -> None:
        self.cv2.destroyAllWindows()


def display_available() -> bool:
    """True when a window can be opened (a display server is reachable)."""
    import os
    import sys

    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
