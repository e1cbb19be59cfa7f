"""From a frame source to a keypoint recording: run the pose engine over every frame."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from coach import __version__
from coach.app.sources import Frame, FrameSource, VideoFileSource
from coach.pose.engine import AUTO, People, PoseEngine, ScoutingPoseEngine, open_video_engine, people_key
from coach.pose.series import PoseFrame, PoseSeries

FrameCallback = Callable[[Frame, PoseFrame], None]
#: Part of a cached recording's name; changes when what an extraction records changes (camera cuts flagged,
#: a person found twice kept once), so an older cache is not taken for a new one.
CACHE_GENERATION = "k3"


def extract_keypoints(source: FrameSource, engine: "PoseEngine | ScoutingPoseEngine", *, model_variant: str = "",
                      model_sha256: str = "", on_frame: FrameCallback | None = None) -> PoseSeries:
    """Detect keypoints in every frame of `source` and pack them into a `PoseSeries`.

    `on_frame(frame, pose_frame)` is called after each frame (progress bars, previews). A KeyboardInterrupt
    stops the extraction and keeps the frames done so far (the recording's meta says so). A camera is read
    through a latest-frame slot (`coach.app.pipeline.LatestFrames`): frames arriving while the model is
    busy are dropped, not queued.
    """
    from coach.app.pipeline import frames_of, posed_frames

    frames: list[PoseFrame] = []
    interrupted = False
    stream = posed_frames(frames_of(source), lambda f: engine.detect(f.image_bgr, f.timestamp_s, f.index))
    try:  # decoding and the model on their own threads; `on_frame` (previews) overlaps the next frame's model
        for frame, pose in stream:
            frames.append(pose)
            if on_frame is not None:
                on_frame(frame, pose)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stream.close()
    meta = dict(source=source.description, model_variant=model_variant, model_sha256=model_sha256,
                program_version=__version__, num_poses=engine.num_poses, people=engine.people_key,
                ended="interrupted" if interrupted else source.ended_reason)
    return PoseSeries.from_frames(frames, fps=source.fps, width_px=source.width_px, height_px=source.height_px,
                                  meta=meta)


def keypoints_cache_dir() -> Path:
    """Where extracted keypoints of video files are cached (the platform user cache, coach/recordings)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("coach", appauthor=False)) / "recordings"


def recording_cache_path(video: Path, model_sha256: str, num_poses: People, cache_root: Path) -> Path:
    """Where the keypoints of `video` under a given model and people setting ("auto" or a number, see
    `coach.pose.engine.people_key`) are cached (keyed by the file's content)."""
    h = hashlib.sha256()
    with open(video, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return cache_root / (f"{video.stem}-{h.hexdigest()[:16]}-{model_sha256[:12]}-{people_key(num_poses)}"
                         f"-{CACHE_GENERATION}.npz")


def extract_cached(source: VideoFileSource, model_path: Path, *, model_variant: str, model_sha256: str,
                   num_poses: People = AUTO, cache_root: Path | None = None,
                   on_frame: FrameCallback | None = None) -> tuple[PoseSeries, Path, bool]:
    """Keypoints of an opened video file: from the cache when the same file (by content) was extracted with
    the same model and people setting (`num_poses`: "auto" or a number) before, else extracted now and
    cached. An interrupted extraction is returned but not cached. Returns (series, cache path, True when it
    came from the cache).
    """
    cached = recording_cache_path(source.path, model_sha256, num_poses, cache_root or keypoints_cache_dir())
    if cached.exists():
        return PoseSeries.load(cached), cached, True
    with open_video_engine(model_path, num_poses) as engine:
        series = extract_keypoints(source, engine, model_variant=model_variant, model_sha256=model_sha256,
                                   on_frame=on_frame)
    if series.meta.get("ended") != "interrupted":
        series.save(cached)
    return series, cached, False
