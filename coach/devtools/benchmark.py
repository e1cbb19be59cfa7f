"""Throughput figures for one clip: decoding alone, bare inference, the whole pipeline, the engine alone.

Figures, not tests: the `bench` command prints them; nothing here asserts a speed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from coach.pose.engine import AUTO, People, open_video_engine
from coach.app.sources import VideoFileSource, prefetched
from coach.app.sinks import annotate

Progress = Callable[[str, int, int | None], None]


@dataclass
class BenchResult:
    """Frames per second of each stage on one clip (see `run_benchmark`)."""

    video: str
    width_px: int
    height_px: int
    source_fps: float
    frames: int
    decode_fps: float
    inference_fps: float
    pipeline_fps: float
    pipeline_over_inference: float  #: pipeline fps / bare inference fps (1.0 = no overhead)
    realtime_factor: float  #: pipeline fps / source fps (≥ 1 keeps up with the camera)
    model_variant: str
    engine_fps: float | None = None  #: counting engine on the recording, no model
    latency_ms_p50: float | None = None  #: frame read → overlay drawn, camera path
    latency_ms_p95: float | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _noop(stage: str, done: int, total: int | None) -> None:
    return None


class _OverlaySink:
    """Draws each frame's workout overlay and throws it away: the drawing cost of the camera path."""

    def on_set_started(self, *args) -> None: ...
    def on_events(self, *args) -> None: ...
    def on_set_ended(self, *args) -> None: ...

    def on_frame(self, frame, pose, overlay) -> None:
        annotate(frame, pose, overlay)


def run_benchmark(video: str | Path, model_path: str | Path, *, model_variant: str = "full",
                  max_frames: int | None = None, exercise: str | None = None,
                  progress: Progress = _noop, num_poses: People = AUTO) -> BenchResult:
    """Measure one clip in three passes: decode only; the workout pipeline as the camera path runs it
    (pose, engine, overlay drawn; timing the model calls and each frame's latency inside it); then the
    counting engine alone on the keypoints of pass 2.

    max_frames limits every pass to the first N frames. `exercise` selects the definition used for the
    pipeline's counting stage and the engine figure (default: squat). `num_poses`: the people setting
    ("auto", the workouts' default, or a number; see `coach.pose.engine.open_video_engine`);
    `extra["people_per_frame"]` is how many were found on average.
    """
    from coach.pose.series import PoseSeries

    # 1. decoding alone
    with VideoFileSource(video) as src:
        total = src.frame_count if max_frames is None else min(max_frames, src.frame_count or max_frames)
        t0 = time.perf_counter()
        n_decoded = 0
        for frame in src:
            n_decoded += 1
            progress("decode", n_decoded, total)
            if max_frames is not None and n_decoded >= max_frames:
                break
        decode_s = time.perf_counter() - t0
        source_fps, width, height = src.fps, src.width_px, src.height_px

    # 2. the pipeline as it exists, as the camera path runs it: decode → pose → engine → overlay drawn.
    #    Latency is per frame, from the decoded frame being available to its overlay image being ready.
    from coach.exercise.library import get_definition
    from coach.app.workout import Workout, WorkoutPlan

    workout = Workout(get_definition(exercise or "squat"), WorkoutPlan(), [_OverlaySink()])
    frames = []
    latencies = []
    with VideoFileSource(video) as src, open_video_engine(model_path, num_poses) as engine:
        t0 = time.perf_counter()
        for frame in prefetched(src):
            t_frame = time.perf_counter()
            pose = engine.detect(frame.image_bgr, frame.timestamp_s, frame.index)
            workout.process(frame, pose)
            latencies.append(time.perf_counter() - t_frame)
            frames.append(pose)
            progress("pipeline", len(frames), total)
            if max_frames is not None and len(frames) >= max_frames:
                break
        pipeline_s = time.perf_counter() - t0
        inference_s = engine.inference_s
    n = len(frames)

    # 3. the counting engine alone on those keypoints
    series = PoseSeries.from_frames(frames, fps=source_fps, width_px=width, height_px=height,
                                    meta={"source": str(video)})
    engine_fps = _engine_fps(exercise, series)

    pipeline_fps = n / pipeline_s if pipeline_s > 0 else float("nan")
    inference_fps = n / inference_s if inference_s > 0 else float("nan")
    return BenchResult(
        video=str(video), width_px=width, height_px=height, source_fps=source_fps, frames=n,
        decode_fps=n_decoded / decode_s if decode_s > 0 else float("nan"),
        inference_fps=inference_fps, pipeline_fps=pipeline_fps,
        pipeline_over_inference=pipeline_fps / inference_fps,
        realtime_factor=pipeline_fps / source_fps if source_fps else float("nan"),
        model_variant=model_variant, engine_fps=engine_fps,
        latency_ms_p50=float(np.percentile(latencies, 50) * 1000) if latencies else None,
        latency_ms_p95=float(np.percentile(latencies, 95) * 1000) if latencies else None,
        extra={"num_poses": num_poses,
               "people_per_frame": float(np.mean([f.n_people for f in frames])) if frames else 0.0},
    )


def run_people_sweep(video: str | Path, model_path: str | Path, *, counts=(1, 2, AUTO, 4),
                     max_frames: int | None = None, exercise: str | None = None,
                     progress: Progress = _noop) -> list[dict]:
    """The pipeline pass (pose, tracking and choice of the exerciser, engine, overlay) with the model looking
    for 1, 2, "auto", 4... people: per setting, frames/s of bare inference and of the pipeline, CPU
    milliseconds per frame of the whole pass (less sensitive than frames/s to other programs on the
    machine), and how many people were found per frame. MediaPipe's num_poses=N runs its person detector
    on every frame while it tracks fewer than N people; "auto" tracks one and looks for a second every
    0.5 s."""
    import resource

    def cpu_s() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    from coach.exercise.library import get_definition
    from coach.app.workout import Workout, WorkoutPlan

    out = []
    for k in counts:
        workout = Workout(get_definition(exercise or "squat"), WorkoutPlan(), [_OverlaySink()])
        people = []
        with VideoFileSource(video) as src, open_video_engine(model_path, k) as engine:
            total = src.frame_count if max_frames is None else min(max_frames, src.frame_count or max_frames)
            t0, cpu0 = time.perf_counter(), cpu_s()
            for frame in src:
                pose = engine.detect(frame.image_bgr, frame.timestamp_s, frame.index)
                workout.process(frame, pose)
                people.append(pose.n_people)
                progress(f"num_poses {k}", len(people), total)
                if max_frames is not None and len(people) >= max_frames:
                    break
            pipeline_s, cpu = time.perf_counter() - t0, cpu_s() - cpu0
            inference_s = engine.inference_s
        workout.finish("source ended")
        n = len(people)
        out.append({"num_poses": k, "frames": n, "people_per_frame": float(np.mean(people)) if n else 0.0,
                    "frames_with_several": int(np.sum(np.asarray(people) > 1)),
                    "inference_fps": n / inference_s if inference_s > 0 else float("nan"),
                    "pipeline_fps": n / pipeline_s if pipeline_s > 0 else float("nan"),
                    "cpu_ms_per_frame": 1000.0 * cpu / n if n else float("nan"),
                    "reps": workout.summary.reps})
    return out


def _engine_fps(exercise: str | None, series) -> float | None:
    """Frames per second of the offline counting engine on `series` (best of 3 runs)."""
    from coach.engine.counter import count
    from coach.exercise.library import get_definition

    definition = get_definition(exercise or "squat")
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        count(definition, series, offline=True)
        best = min(best, time.perf_counter() - t0)
    return len(series) / best if best > 0 else float("nan")
