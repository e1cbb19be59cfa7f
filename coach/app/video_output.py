"""Writing annotated frames to a video file."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from coach.errors import CoachError


class VideoWriter:
    """An MP4 writer that opens on the first frame (so the size is known) and checks it could open."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.fps = fps if fps > 0 else 30.0
        self._writer: cv2.VideoWriter | None = None
        self._renamed_from: Path | None = None  #: the temporary name written, for a name that is not UTF-8
        self.frames_written = 0

    def write(self, image_bgr: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 BGR frame; every frame must have the first frame's size."""
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = image_bgr.shape[:2]
            try:
                str(self.path).encode("utf-8")
            except UnicodeEncodeError:  # OpenCV crashes on a name that is not UTF-8: write a temporary one
                self._renamed_from = self.path.with_name(f".coach-{os.getpid()}-{id(self)}.mp4")
            target = self._renamed_from or self.path
            self._writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._writer.isOpened():
                shown = os.fsencode(self.path).decode("utf-8", "backslashreplace")
                raise CoachError(f"Cannot write video to {shown} (check the folder and the .mp4 name)")
        self._writer.write(image_bgr)
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            if self._renamed_from is not None:
                os.replace(self._renamed_from, self.path)
                self._renamed_from = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
