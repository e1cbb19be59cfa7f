"""Frame sources: a video file, a camera, or a still image, each yielding frames with source timestamps.

Every source is a context manager and an iterator of `Frame`. Problems the user can fix (missing file, not
a video, camera absent) raise `SourceError` with one clear sentence. A source that stops delivering frames
mid-way (truncated file, camera unplugged) simply ends; `ended_reason` says why.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from coach.errors import SourceError
from coach.pose.native_output import native_stderr_silenced

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
#: Highest camera number accepted (operating systems number a handful of cameras from 0).
MAX_CAMERA = 99


@dataclass(frozen=True)
class Frame:
    """One decoded frame."""

    index: int  #: 0-based index in the source
    timestamp_s: float  #: source timestamp in seconds (strictly increasing within a source)
    image_bgr: np.ndarray  #: (H, W, 3) uint8, OpenCV's BGR order


class FrameSource:
    """Base class: iterate to get frames; use as a context manager to release the device/file."""

    description: str = ""
    fps: float = 0.0
    width_px: int = 0
    height_px: int = 0
    frame_count: int | None = None  #: frames expected (None for a camera)
    is_live: bool = False
    ended_reason: str = ""  #: why iteration stopped: "end of file", "camera lost", "truncated", ...

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the underlying file or device."""

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise SourceError(f"{what} not found: {shown(path)}")
    if path.is_dir():
        raise SourceError(f"{shown(path)} is a directory, not a {what.lower()} file")
    if path.stat().st_size == 0:
        raise SourceError(f"{shown(path)} is empty (0 bytes)")


def shown(path: str | Path) -> str:
    """A path for a message: a file name that is not UTF-8 (bytes of another encoding, which Python keeps
    as surrogates) shows those bytes as \\xNN, so printing it cannot fail."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _is_utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


class _OpenCVPath:
    """A name OpenCV can open for ``path``: the path itself, or, for a name that is not UTF-8 (OpenCV
    crashes with a segmentation fault on one), the file opened here and given as /proc/self/fd/N for as
    long as this object is open."""

    def __init__(self, path: Path) -> None:
        self.fd: int | None = None
        if _is_utf8(path):
            self.name = str(path)
            return
        self.fd = os.open(path, os.O_RDONLY)
        self.name = f"/proc/self/fd/{self.fd}"
        if not os.path.exists(self.name):
            self.close()
            raise SourceError(f"{shown(path)}: this file name is not UTF-8 text, which the video reader cannot "
                              "open here; rename the file")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class VideoFileSource(FrameSource):
    """Frames of a video file, timestamps from the container (falling back to index / fps)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _check_file(self.path, "Video")
        self._name = _OpenCVPath(self.path)
        with native_stderr_silenced():  # FFmpeg prints its own complaint about damaged files
            self._cap = cv2.VideoCapture(self._name.name)
        if not self._cap.isOpened():
            self.close()
            raise SourceError(f"{shown(self.path)} is not a video this program can read")
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.width_px = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height_px = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        if self.fps <= 0 or not np.isfinite(self.fps):
            self.fps = 30.0
        with native_stderr_silenced():
            ok, first = self._cap.read()
        if not ok or first is None:
            self.close()
            raise SourceError(f"{shown(self.path)} has no readable video frames (damaged or not a video)")
        self._first: np.ndarray | None = first
        self.description = shown(self.path)

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        last_t = -1.0
        image = self._first
        self._first = None
        while image is not None:
            t = index / self.fps
            # The container's timestamp when it is sane; the nominal one otherwise.
            pos_ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
            if pos_ms > 0 and abs(pos_ms / 1000.0 - t) < 1.0:
                t = pos_ms / 1000.0
            if t <= last_t:
                t = last_t + 1e-3
            last_t = t
            yield Frame(index, t, image)
            index += 1
            ok, image = self._cap.read()
            if not ok:
                image = None
        if self.frame_count and index < self.frame_count - 2:
            self.ended_reason = f"truncated: {index} of {self.frame_count} frames readable"
        else:
            self.ended_reason = "end of file"

    def close(self) -> None:
        self._cap.release()
        self._name.close()


class CameraSource(FrameSource):
    """Frames of a camera; the timestamp is the capture time on a monotonic clock, from 0."""

    is_live = True

    def __init__(self, index: int, *, lost_after_s: float = 2.0) -> None:
        self.index = index
        self.lost_after_s = lost_after_s
        previous = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # no backend chatter for a user
        try:
            self._cap = cv2.VideoCapture(index)
        finally:
            cv2.utils.logging.setLogLevel(previous)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"Camera {index} could not be opened (is it connected and free?)")
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 30.0)
        self.width_px = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height_px = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.frame_count = None
        self.description = f"camera {index}"

    def __iter__(self) -> Iterator[Frame]:
        t0: float | None = None
        index = 0
        last_ok = time.monotonic()
        while True:
            ok, image = self._cap.read()
            now = time.monotonic()
            if not ok or image is None:
                if now - last_ok > self.lost_after_s:
                    self.ended_reason = "camera lost"
                    return
                time.sleep(0.01)
                continue
            last_ok = now
            if t0 is None:
                t0 = now
            yield Frame(index, now - t0, image)
            index += 1

    def close(self) -> None:
        self._cap.release()


class ImageSource(FrameSource):
    """A single still image as a one-frame source (timestamp 0)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _check_file(self.path, "Image")
        try:  # read by Python, decoded by OpenCV: any file name works
            data = np.fromfile(self.path, dtype=np.uint8)
        except OSError as exc:
            raise SourceError(f"Cannot read {shown(self.path)}: {exc.strerror}") from None
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise SourceError(f"{shown(self.path)} is not an image this program can read")
        self._image = image
        self.height_px, self.width_px = image.shape[:2]
        self.fps = 1.0
        self.frame_count = 1
        self.description = shown(self.path)

    def __iter__(self) -> Iterator[Frame]:
        yield Frame(0, 0.0, self._image)
        self.ended_reason = "end of file"


def open_source(spec: str | Path) -> FrameSource:
    """Open a camera (a number such as "0"), a still image (by suffix) or a video file."""
    text = str(spec)
    if not text.strip():
        raise SourceError("No source given: name a video, image or recording file, or a camera number (0, 1, ...)")
    number = re.fullmatch(r"[+-]?[0-9]+", text)
    if number and (text.isdigit() or not Path(text).exists()):
        if not text.isdigit() or int(text) > MAX_CAMERA:
            raise SourceError(f"{text} is neither a file nor a camera number (cameras are numbered 0 to "
                              f"{MAX_CAMERA})")
        return CameraSource(int(text))
    path = Path(text)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    return VideoFileSource(path)


def prefetched(source: FrameSource, depth: int = 2) -> Iterator[Frame]:
    """Iterate `source` with decoding on a background thread, `depth` frames ahead.

    OpenCV releases the GIL while it decodes, so the next frame is read while the pose model works on
    this one. Frames, order and timestamps are exactly those of `source`; an exception raised while
    reading is raised here. Stopping early (break, close) stops the reader. (`coach.app.pipeline`.)
    """
    from coach.app.pipeline import prefetched as threaded

    return iter(threaded(source, depth))
