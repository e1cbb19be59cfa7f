"""From a frame source to a keypoint recording: run the pose engine over every frame."""

from __future__ import annotations

from typing import Callable

from coach import __version__
from coach.keypoints import PoseFrame
from coach.pose_engine import PoseEngine
from coach.recording import KeypointSeries, RecordingMeta
from coach.sources import Frame, FrameSource, prefetched

FrameCallback = Callable[[Frame, PoseFrame], None]


def extract_keypoints(source: FrameSource, engine: PoseEngine, *, model_variant: str = "",
                      model_sha256: str = "", on_frame: FrameCallback | None = None) -> KeypointSeries:
    """Detect keypoints in every frame of `source` and pack them into a `KeypointSeries`.

    `on_frame(frame, pose_frame)` is called after each frame (progress bars, previews). A KeyboardInterrupt
    stops the extraction and keeps the frames done so far (the recording's meta says so).
    """
    frames: list[PoseFrame] = []
    interrupted = False
    try:
        for frame in (source if source.is_live else prefetched(source)):
            pose = engine.detect(frame.image_bgr, frame.timestamp_s, frame.index)
            frames.append(pose)
            if on_frame is not None:
                on_frame(frame, pose)
    except KeyboardInterrupt:
        interrupted = True
    meta = RecordingMeta(
        source=source.description, fps=source.fps, width_px=source.width_px, height_px=source.height_px,
        model_variant=model_variant, model_sha256=model_sha256, program_version=__version__,
        num_poses=engine.num_poses,
        extra={"ended": "interrupted" if interrupted else source.ended_reason},
    )
    return KeypointSeries.from_frames(frames, meta)
