"""The pose engine: MediaPipe's PoseLandmarker (Tasks API) behind a small interface.

Nothing else in the program imports mediapipe. `PoseEngine.detect` turns one BGR image and its source
timestamp into a `PoseFrame` of named keypoints (pixels, metres, visibility); nobody found is an empty
`PoseFrame`, not an exception.

How many people to look for is a `people` setting (`parse_people`): a number N is MediaPipe's own
`num_poses=N` (`PoseEngine`); "auto", the default of workouts and extraction, looks for two people but
pays for the second only while one is in view (`ScoutingPoseEngine`). `open_video_engine` opens either.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import NamedTuple, Union

import cv2
import numpy as np

from coach.errors import ModelError
from coach.pose.camera_cuts import CutDetector
from coach.pose.people import distinct_people
from coach.pose.landmarks import N_LANDMARKS
from coach.pose.series import PoseFrame
from coach.pose.native_output import (acquire_native_log_filter, native_stderr_silenced,
                                 release_native_log_filter)

# MediaPipe's native logging (glog, TFLite) is noise for a user; keep warnings and errors only.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class PeopleArrays(NamedTuple):
    """Everyone found in one still image, as arrays over people (P may be 0).

    The shape the pose series is moving to; image-mode helpers (crops, tiles) and the accuracy
    evaluation work on these arrays, so they never depend on how a frame stores its people.
    """

    xy_px: np.ndarray  #: (P, 33, 2) float64, pixels of the whole image, origin top-left
    visibility: np.ndarray  #: (P, 33) float64 in [0, 1], the model's own visibility per landmark

    @staticmethod
    def empty() -> "PeopleArrays":
        """Nobody: arrays with P = 0."""
        return PeopleArrays(np.zeros((0, N_LANDMARKS, 2)), np.zeros((0, N_LANDMARKS)))

    @staticmethod
    def concat(parts: "list[PeopleArrays]") -> "PeopleArrays":
        """The people of several `PeopleArrays`, in order."""
        if not parts:
            return PeopleArrays.empty()
        return PeopleArrays(np.concatenate([p.xy_px for p in parts]), np.concatenate([p.visibility for p in parts]))

    def shifted(self, dx_px: float, dy_px: float, scale: float = 1.0) -> "PeopleArrays":
        """Coordinates mapped from a crop back to the image: xy * scale + (dx, dy)."""
        return PeopleArrays(self.xy_px * scale + np.array([dx_px, dy_px]), self.visibility)

    def take(self, index) -> "PeopleArrays":
        """The people at `index` (an int array or boolean mask over P)."""
        return PeopleArrays(self.xy_px[index], self.visibility[index])


def people_arrays(frame: PoseFrame) -> PeopleArrays:
    """The keypoints of everyone in `frame` as (P, 33) arrays: the one place that reads a `PoseFrame`."""
    return PeopleArrays(frame.xy_px.astype(float), frame.visibility.astype(float))


class PoseEngine:
    """Pose landmark detection on images or video frames.

    mode "video": frames of one stream, timestamps strictly increasing (tracking between frames); each
    `PoseFrame` says whether the picture cut since the previous frame (`coach.pose.camera_cuts`) unless
    find_cuts is False (an engine that sees only some of a stream's frames). mode "image": independent stills.
    """

    def __init__(self, model_path: str | Path, *, num_poses: int = 1, mode: str = "video",
                 min_detection_confidence: float = 0.5, min_presence_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, find_cuts: bool = True) -> None:
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
        self._cuts = CutDetector() if mode == "video" and find_cuts else None
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
        frame = PoseFrame.from_mediapipe(result, width_px=width, height_px=height, timestamp_s=timestamp_s,
                                         frame_index=frame_index)
        if self.num_poses > 1 and self.mode == "video":  # a skeleton fitted again over someone is no one else
            frame = distinct_people(frame)
        if self._cuts is not None:  # a stream: say where the picture cuts (counting restarts its range there)
            frame = dataclasses.replace(frame, cut=self._cuts.update(image_bgr))
        return frame

    def detect_region(self, image_bgr: np.ndarray, box_xyxy_px, min_side_px: int = 0) -> PeopleArrays:
        """Image mode: find people inside one region of a still image, in the whole image's pixels.

        box_xyxy_px: (x0, y0, x1, y1) pixels; clipped to the image. The landmarker sees only the crop, so a
        person small in the whole image fills more of the detector's input. min_side_px: a crop whose
        shorter side is below this is enlarged (bicubic) to it first; 0 keeps its size.
        """
        if self.mode != "image":
            raise ValueError("detect_region needs an engine in image mode")
        height, width = image_bgr.shape[:2]
        x0, y0, x1, y1 = (float(v) for v in box_xyxy_px)
        x0, y0 = int(max(0.0, np.floor(x0))), int(max(0.0, np.floor(y0)))
        x1, y1 = int(min(float(width), np.ceil(x1))), int(min(float(height), np.ceil(y1)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return PeopleArrays.empty()
        crop = np.ascontiguousarray(image_bgr[y0:y1, x0:x1])
        scale = 1.0
        short = min(crop.shape[:2])
        if min_side_px and short < min_side_px:
            scale = min_side_px / short
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        return people_arrays(self.detect(crop)).shifted(x0, y0, 1.0 / scale)

    @property
    def people_key(self) -> str:
        """A short name of how people are searched for, for cache file names: "p1", "p2", ..."""
        return f"p{self.num_poses}"

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


#: The `people` setting that looks for two people at the cost of one while only one is in view.
AUTO = "auto"
#: A `people` setting: "auto" or a number of people (MediaPipe's `num_poses`), 1–8.
People = Union[int, str]


#: "auto": seconds of source time between looks for a second person while one is tracked
SCOUT_EVERY_S = 0.5
#: "auto": seconds with fewer than two people before going back to tracking one
LEAVE_AFTER_S = 1.0


def parse_people(value: People) -> People:
    """A `people` setting from a command-line value: "auto" (any case) or a whole number 1–8 (as int).

    Raises ValueError with one sentence saying what is accepted."""
    text = str(value).strip().lower()
    if text == AUTO:
        return AUTO
    if text.isdigit() and 1 <= int(text) <= 8:
        return int(text)
    raise ValueError(f"expected 'auto' or a number of people from 1 to 8, not {value!r}")


class ScoutingPoseEngine:
    """Video mode, up to two people, at the cost of about one person while only one is in view.

    MediaPipe's `num_poses=2` in video mode runs its person detector on every frame while it tracks fewer
    than two people (+50-70% CPU per frame with one person in view). This engine tracks with a
    `num_poses=1` landmarker, and every `scout_every_s` of source time (while it tracks someone):

    1. looks for somebody else, cheaply: the frame with the tracked person painted out (`painted_out`,
       where they were on the previous frame) goes to an image-mode `num_poses=1` landmarker; with nobody
       else there only its person detector runs;
    2. when that finds someone, a `num_poses=2` video landmarker checks the frame as it is; if it finds
       two people (`coach.pose.people.distinct_people`: not a skeleton fitted again over the first), it
       takes over from that frame on and tracks both, until `leave_after_s` has passed without two people;
       then the one-person landmarker takes over again.

    A look that keeps finding someone the check does not confirm (a skeleton made up over a chair, or a
    partner MediaPipe's two-person landmarker sees only now and then) costs a check every look: measured
    +25% CPU on such a clip, against +5-7% for the looks alone. Checking less often after failures was
    tried and dropped: it also missed the one second in which a partner could be confirmed.

    The look and the check run on their own thread beside the one-person landmarker (MediaPipe releases
    the GIL), so on a machine with a core to spare they add CPU but little time. Frames come out in order,
    one `PoseFrame` per call with 0, 1 or 2 people, timestamps from the source, each saying whether the
    picture cut since the previous one (`coach.pose.camera_cuts`). Looks, checks and switches depend only
    on the frames and their timestamps, never on timing, so a file always gives the same keypoints; while
    nobody else is found, exactly those of `num_poses=1`. The painted look alone is not trusted with a
    second person: it also finds skeletons made up over a chair or over a part of the first person left
    unpainted, which MediaPipe's own two-person landmarker does not report. All landmarkers are created up
    front (creating one takes ~0.2-0.3 s, a visible stall mid-session).
    """

    num_poses = 2
    mode = "video"

    def __init__(self, model_path: str | Path, *, scout_every_s: float = SCOUT_EVERY_S,
                 leave_after_s: float = LEAVE_AFTER_S, **options) -> None:
        """scout_every_s: seconds of source time between looks for a second person (while one person is
        tracked). leave_after_s: seconds with fewer than two people before the two-person landmarker is
        left. options: `PoseEngine`'s confidence thresholds."""
        from concurrent.futures import ThreadPoolExecutor

        self.model_path = Path(model_path)
        self.scout_every_s = float(scout_every_s)
        self.leave_after_s = float(leave_after_s)
        self._engines: list[PoseEngine] = []
        try:
            self._single = self._open(model_path, num_poses=1, find_cuts=False, **options)
            self._dual = self._open(model_path, num_poses=2, find_cuts=False, **options)
            self._look = self._open(model_path, num_poses=1, mode="image", **options)
        except BaseException:
            self.close()
            raise
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pose-look")
        self._cuts = CutDetector()  # every frame of the stream passes here, whichever landmarker sees it
        self.two_people = False  #: True while the two-person landmarker is in use
        self._previous: PoseFrame | None = None  #: the one-person landmarker's result on the previous frame
        self._last_scout_s = -np.inf
        self._last_two_s = -np.inf
        #: seconds spent in `detect` since creation (every landmarker, wall time)
        self.inference_s = 0.0
        #: counters since creation: frames seen, cheap looks, looks that found someone (so the two-person
        #: landmarker checked), frames with two people, switches to the two-person landmarker
        self.stats = {"frames": 0, "scouts": 0, "checks": 0, "two_people_frames": 0, "switches": 0}

    def _open(self, model_path, **kwargs) -> PoseEngine:
        engine = PoseEngine(model_path, **kwargs)
        self._engines.append(engine)
        return engine

    @property
    def people_key(self) -> str:
        """A short name of this strategy and its timing, for cache file names (changes when they do)."""
        return _auto_key(self.scout_every_s, self.leave_after_s)

    def detect(self, image_bgr: np.ndarray, timestamp_s: float = 0.0, frame_index: int = 0) -> PoseFrame:
        """Everyone found in this video frame (at most two); timestamps must increase from call to call.
        The frame says whether the picture cut since the previous one (`coach.pose.camera_cuts`).

        image_bgr: (H, W, 3) uint8, BGR. timestamp_s: the frame's source time, seconds."""
        started = time.perf_counter()
        pose = self._people(image_bgr, timestamp_s, frame_index)
        pose = dataclasses.replace(pose, cut=self._cuts.update(image_bgr))
        self.inference_s += time.perf_counter() - started
        return pose

    def _people(self, image_bgr: np.ndarray, t: float, frame_index: int) -> PoseFrame:
        st = self.stats
        st["frames"] += 1
        if self.two_people:
            pose = self._dual.detect(image_bgr, t, frame_index)
            if pose.n_people >= 2:
                self._last_two_s = t
                st["two_people_frames"] += 1
            elif t - self._last_two_s >= self.leave_after_s:
                self.two_people = False
                self._previous = None  # the one-person landmarker picks up again from this frame on
                self._last_scout_s = t
            return pose
        before = self._previous
        check = None
        if before is not None and before.n_people and t - self._last_scout_s >= self.scout_every_s:
            self._last_scout_s = t
            st["scouts"] += 1
            check = self._pool.submit(self._look_and_check, image_bgr, before, t, frame_index)
        try:
            pose = self._single.detect(image_bgr, t, frame_index)
        finally:
            both = check.result() if check is not None else None
        self._previous = pose
        if both is None:
            return pose
        self.two_people = True
        self._last_two_s = t
        st["switches"] += 1
        st["two_people_frames"] += 1
        return both

    def _look_and_check(self, image_bgr: np.ndarray, before: PoseFrame, t: float, frame_index: int
                        ) -> PoseFrame | None:
        """Everyone on this frame when somebody besides the person tracked in `before` is there (the
        two-person landmarker's result), else None."""
        if not self._look.detect(painted_out(image_bgr, people_arrays(before))).n_people:
            return None
        self.stats["checks"] += 1
        both = self._dual.detect(image_bgr, t, frame_index)
        return both if both.n_people >= 2 else None

    def close(self) -> None:
        """Release the landmarkers."""
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=True)
        for engine in self._engines:
            engine.close()

    def __enter__(self) -> "ScoutingPoseEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def painted_out(image_bgr: np.ndarray, people: PeopleArrays) -> np.ndarray:
    """A copy of the image with each person's silhouette (the hull of its landmarks, widened) in grey.

    The detector then no longer sees them and may report the next person. The hull, not the box, is
    painted, so a partner overlapping the box keeps most of their body.
    """
    out = image_bgr.copy()
    for xy in people.xy_px:
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if len(xy) < 3:
            continue
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        width = max(4, int(0.12 * float(np.max(hi - lo))))
        hull = cv2.convexHull(np.round(xy).astype(np.int32))
        cv2.fillConvexPoly(out, hull, (128, 128, 128))
        cv2.polylines(out, [hull], True, (128, 128, 128), thickness=width)
    return out


def _auto_key(scout_every_s: float, leave_after_s: float) -> str:
    return f"auto-look-s{scout_every_s:g}-l{leave_after_s:g}"


def people_key(people: People) -> str:
    """The `people_key` of the engine `open_video_engine(model, people)` gives: "p1", "p2", ... for a
    number, "auto-look-s0.5-l1" (strategy and its timings) for "auto". Keypoints extracted under different
    keys differ, so caches keep them apart."""
    people = parse_people(people)
    return _auto_key(SCOUT_EVERY_S, LEAVE_AFTER_S) if people == AUTO else f"p{people}"


def open_video_engine(model_path: str | Path, people: People = AUTO, **options
                      ) -> "PoseEngine | ScoutingPoseEngine":
    """A video-mode pose engine for a `people` setting: "auto" → `ScoutingPoseEngine`, N → `PoseEngine`
    with `num_poses=N`. options: the confidence thresholds of `PoseEngine`."""
    people = parse_people(people)
    if people == AUTO:
        return ScoutingPoseEngine(model_path, **options)
    return PoseEngine(model_path, num_poses=people, mode="video", **options)


def tile_boxes(width_px: int, height_px: int, grid: int, overlap: float = 0.25) -> list[tuple[float, float, float, float]]:
    """Overlapping tiles covering an image: `grid` × `grid` boxes (x0, y0, x1, y1) in pixels.

    Each tile is 1/grid of the image plus `overlap` (a fraction of a tile) shared with its neighbours, so a
    person on a tile border is whole in at least one tile when they are smaller than the overlap.
    """
    if grid < 1:
        raise ValueError("grid must be at least 1")
    boxes = []
    tile_w, tile_h = width_px / grid, height_px / grid
    pad_w, pad_h = tile_w * overlap / 2, tile_h * overlap / 2
    for row in range(grid):
        for col in range(grid):
            boxes.append((max(0.0, col * tile_w - pad_w), max(0.0, row * tile_h - pad_h),
                          min(float(width_px), (col + 1) * tile_w + pad_w),
                          min(float(height_px), (row + 1) * tile_h + pad_h)))
    return boxes
