"""The pose engine: MediaPipe's PoseLandmarker (Tasks API) behind a small interface.

Nothing else in the program imports mediapipe. `PoseEngine.detect` turns one BGR image and its source
timestamp into a `PoseFrame` of named keypoints (pixels, metres, visibility); nobody found is an empty
`PoseFrame`, not an exception.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np

from coach.errors import ModelError
from coach.pose.series import PoseFrame
from coach.pose.native_output import (acquire_native_log_filter, native_stderr_silenced,
                                 release_native_log_filter)

# MediaPipe's native logging (glog, TFLite) is noise for a user; keep warnings and errors only.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class PoseEngine:
    """Pose landmark detection on images or video frames.

    mode "video": frames of one stream, timestamps strictly increasing (tracking between frames).
    mode "image": independent still images.
    """

    def __init__(self, model_path: str | Path, *, num_poses: int = 1, mode: str = "video",
                 min_detection_confidence: float = 0.5, min_presence_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        from mediapipe.tasks.python import BaseOptions, vision  # the only mediapipe import

        if mode not in ("video", "image"):
            raise ValueError(f"mode must be 'video' or 'image', not {mode!r}")
        if num_poses < 1:
            raise ValueError("num_poses must be at least 1")
        self.model_path = Path(model_path)
        self.num_poses = num_poses
        self.mode = mode
        running_mode = vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=running_mode,
            num_poses=num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        # Native log lines MediaPipe prints while it runs are filtered out of stderr for the engine's life.
        acquire_native_log_filter()
        self._filtering = True
        try:
            with native_stderr_silenced():
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            self._stop_filtering()
            raise ModelError(f"Could not load the pose model {self.model_path}: {exc}") from None
        except BaseException:
            self._stop_filtering()
            raise
        import mediapipe as mp

        self._mp_image = mp.Image
        self._srgb = mp.ImageFormat.SRGB
        self._last_ms = -1
        #: seconds spent inside the model since creation (for the benchmark's "bare inference" figure)
        self.inference_s = 0.0

    def detect(self, image_bgr: np.ndarray, timestamp_s: float = 0.0, frame_index: int = 0) -> PoseFrame:
        """Find people in one image.

        image_bgr: (H, W, 3) uint8 in OpenCV's BGR order. timestamp_s: the frame's source time; in video
        mode it must increase from call to call (equal milliseconds are nudged forward by 1 ms).
        """
        height, width = image_bgr.shape[:2]
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        image = self._mp_image(image_format=self._srgb, data=rgb)
        t0 = time.perf_counter()
        if self.mode == "video":
            ms = max(int(round(timestamp_s * 1000.0)), self._last_ms + 1)
            self._last_ms = ms
            result = self._landmarker.detect_for_video(image, ms)
        else:
            result = self._landmarker.detect(image)
        self.inference_s += time.perf_counter() - t0
        return PoseFrame.from_mediapipe(result, width_px=width, height_px=height, timestamp_s=timestamp_s,
                                        frame_index=frame_index)

    def close(self) -> None:
        """Release the native landmarker (required before interpreter shutdown)."""
        if getattr(self, "_landmarker", None) is not None:
            self._landmarker.close()
            self._landmarker = None
        self._stop_filtering()

    def _stop_filtering(self) -> None:
        if getattr(self, "_filtering", False):
            self._filtering = False
            release_native_log_filter()

    def __enter__(self) -> "PoseEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
