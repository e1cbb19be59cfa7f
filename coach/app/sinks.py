"""Sinks that watch a workout: the database recorder, an annotated video file, a window, a terminal panel."""

from __future__ import annotations

import numpy as np

from coach.engine.events import Event
from coach.pose.series import PoseFrame
from coach.app.renderer import OverlayModel, blank_canvas, draw_workout_overlay
from coach.app.sources import Frame
from coach.app.video_output import VideoWriter
from coach.app.workout import SetResult


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
        times = result.trace.times_s
        if len(times):
            self.recorder.add_angle_series(self.primary_measure, times, result.trace.values[self.primary_measure])
        self.recorder.end_set(set_result.ended_reason)


def annotate(frame: Frame | None, pose: PoseFrame, overlay: OverlayModel) -> np.ndarray:
    """The annotated image for one frame: the video frame, or a dark canvas for a recording."""
    image = frame.image_bgr.copy() if frame is not None else blank_canvas(pose.width_px, pose.height_px)
    return draw_workout_overlay(image, pose, overlay)


class VideoSink:
    """Writes the annotated frames to an .mp4 file (`--save-video`).

    Drawing and encoding run on their own thread (`coach.app.pipeline.BackgroundWorker`), a few frames
    behind the engine: they overlap the model's work instead of adding to it. `close()` writes what is
    still queued."""

    def __init__(self, path, fps: float) -> None:
        from coach.app.pipeline import BackgroundWorker

        self.writer = VideoWriter(path, fps)
        self._worker = BackgroundWorker(self._write, depth=4, name="video-writer")

    def _write(self, item: tuple) -> None:
        self.writer.write(annotate(*item))

    def on_set_started(self, set_index: int, target_reps: int | None) -> None:
        return None

    def on_events(self, events: list[Event]) -> None:
        return None

    def on_frame(self, frame: Frame | None, pose: PoseFrame, overlay: OverlayModel) -> None:
        self._worker.submit((frame, pose, overlay))

    def on_set_ended(self, set_result: SetResult) -> None:
        return None

    def close(self) -> None:
        """Write the frames still queued and close the file."""
        try:
            self._worker.close()
        finally:
            self.writer.close()


class WindowSink:
    """Shows the annotated frames in a window and reads keys: q quit, space pause, n next set."""

    WINDOW = "coach"
    MAX_START_SIZE = (1280, 720)  #: the window opens at the picture's size, at most this (pixels); resizable

    def __init__(self, dropped_frames=None) -> None:
        """dropped_frames: a callable giving how many camera frames were dropped so far (shown in the
        window's title when any were), or None."""
        import cv2

        _use_system_fonts_for_qt()
        self.cv2 = cv2
        self.last_key: str | None = None
        self._opened = False
        self._dropped_frames = dropped_frames
        self._dropped_shown = 0

    def on_set_started(self, set_index: int, target_reps: int | None) -> None:
        return None

    def on_events(self, events: list[Event]) -> None:
        return None

    def on_frame(self, frame: Frame | None, pose: PoseFrame, overlay: OverlayModel) -> None:
        image = annotate(frame, pose, overlay)
        if not self._opened:  # resizable, keeping the picture's proportions (a 1080p clip on a laptop)
            self.cv2.namedWindow(self.WINDOW, self.cv2.WINDOW_NORMAL | self.cv2.WINDOW_KEEPRATIO)
            height, width = image.shape[:2]
            scale = min(1.0, self.MAX_START_SIZE[0] / width, self.MAX_START_SIZE[1] / height)
            self.cv2.resizeWindow(self.WINDOW, int(width * scale), int(height * scale))
            self._opened = True
        self.cv2.imshow(self.WINDOW, image)
        dropped = self._dropped_frames() if self._dropped_frames is not None else 0
        if dropped != self._dropped_shown:
            self._dropped_shown = dropped
            self.cv2.setWindowTitle(self.WINDOW, f"coach - {dropped} camera frames dropped (the model is slower "
                                                 "than the camera)")
        key = self.cv2.waitKey(1) & 0xFF
        self.last_key = {ord("q"): "quit", 27: "quit", ord(" "): "pause", ord("n"): "next"}.get(key)

    def on_set_ended(self, set_result: SetResult) -> None:
        return None

    def close(self) -> None:
        self.cv2.destroyAllWindows()


#: Where fonts usually are on Linux, for OpenCV's Qt window (see `_use_system_fonts_for_qt`).
_SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")


def _use_system_fonts_for_qt() -> None:
    """OpenCV's wheels point Qt at a font folder they do not ship, and Qt then complains on stderr each
    time a window opens; point it at the system's fonts instead when that folder is missing."""
    import os

    current = os.environ.get("QT_QPA_FONTDIR")
    if current is None or os.path.isdir(current):
        return
    for folder in _SYSTEM_FONT_DIRS:
        if os.path.isdir(folder):
            os.environ["QT_QPA_FONTDIR"] = folder
            return


def display_available() -> bool:
    """True when a window can be opened (a display server is reachable)."""
    import os
    import sys

    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
