"""Throughput figures for one clip: decoding alone, bare inference, the whole pipeline (flat out and paced
like a camera), the engine alone.

Figures, not tests: the `bench` command prints them; nothing here asserts a speed. The machine's load
average is kept with the figures (`extra["load_1min"]`), since other programs running at the same time
slow every pass.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from coach.pose.engine import AUTO, People, open_video_engine
from coach.app.sources import Frame, VideoFileSource
from coach.app.sinks import annotate

Progress = Callable[[str, int, int | None], None]

#: decoded frames held at once by the bare-inference pass (decoded in chunks between timed model runs)
INFERENCE_CHUNK = 32


@dataclass
class BenchResult:
    """Frames per second of each stage on one clip (see `run_benchmark`)."""

    video: str
    width_px: int
    height_px: int
    source_fps: float
    frames: int
    decode_fps: float
    inference_fps: float  #: the model alone over the decoded frames, in its own pass
    pipeline_fps: float  #: the whole pipeline, flat out (a file)
    pipeline_over_inference: float  #: pipeline fps / bare inference fps (1.0 = no overhead)
    realtime_factor: float  #: pipeline fps / source fps (≥ 1 keeps up with the camera)
    model_variant: str
    engine_fps: float | None = None  #: offline counting engine on the recording, no model (CPU time)
    latency_ms_p50: float | None = None  #: frame released → overlay drawn, paced source (frames at the source fps)
    latency_ms_p95: float | None = None
    engine_live_ms_per_frame: float | None = None  #: `Counter.update` per frame on the recording (live; CPU time)
    latency_flat_out_ms_p50: float | None = None  #: frame decoded → overlay drawn, flat out (queues full)
    latency_flat_out_ms_p95: float | None = None
    paced_dropped_frames: int | None = None  #: frames of the paced source replaced while the model was busy
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


def _limited(frames, max_frames: int | None) -> Iterator[Frame]:
    for frame in frames:
        if max_frames is not None and frame.index >= max_frames:
            return
        yield frame


def _stamped(frames, stamps: dict) -> Iterator[Frame]:
    """`frames`, noting when each became available (perf_counter seconds, by frame index)."""
    for frame in frames:
        stamps[frame.index] = time.perf_counter()
        yield frame


def paced(frames, fps: float) -> Iterator[Frame]:
    """`frames` released at their source timestamps in real time, as a camera delivers them (frames that
    are late are released at once)."""
    t0 = None
    for frame in frames:
        if t0 is None:
            t0 = time.perf_counter() - frame.timestamp_s
        wait = t0 + frame.timestamp_s - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        yield frame


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not available on this platform
        return float("nan")


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return float(np.percentile(values, 50) * 1000), float(np.percentile(values, 95) * 1000)


def _bare_inference(video, model_path, num_poses: People, max_frames: int | None, total,
                    progress: Progress, stage: str = "bare inference") -> tuple[int, float, list[int]]:
    """The model alone over the clip's decoded frames: frames are decoded in chunks, untimed, and only the
    model calls on them are timed (nothing else runs meanwhile). Returns (frames, seconds, people per frame)."""
    people: list[int] = []
    seconds = 0.0
    with VideoFileSource(video) as src, open_video_engine(model_path, num_poses) as engine:
        frames = _limited(src, max_frames)
        while True:
            chunk = [f for _, f in zip(range(INFERENCE_CHUNK), frames)]
            if not chunk:
                break
            t0 = time.perf_counter()
            for f in chunk:
                people.append(engine.detect(f.image_bgr, f.timestamp_s, f.index).n_people)
            seconds += time.perf_counter() - t0
            progress(stage, len(people), total)
    return len(people), seconds, people


def _pipeline(video, model_path, num_poses: People, definition, max_frames: int | None, total, stage: str,
              progress: Progress, *, pace: bool) -> dict:
    """The workout pipeline (`coach.app.pipeline`): decoding thread (or a paced source into a latest-frame
    slot), inference thread, and on this thread the workout (engine, overlay drawn). Latency per frame:
    from the frame being available (decoded; released by the paced source) to its overlay drawn."""
    from coach.app.pipeline import LatestFrames, posed_frames, prefetched
    from coach.app.workout import Workout, WorkoutPlan

    workout = Workout(definition, WorkoutPlan(), [_OverlaySink()])
    stamps: dict[int, float] = {}
    latencies, poses = [], []
    with VideoFileSource(video) as src, open_video_engine(model_path, num_poses) as engine:
        source_fps = src.fps
        frames = _limited(src, max_frames)
        delivered = LatestFrames(_stamped(paced(frames, source_fps), stamps)) if pace else \
            prefetched(_stamped(frames, stamps))
        stream = posed_frames(delivered, lambda f: engine.detect(f.image_bgr, f.timestamp_s, f.index),
                              depth=1 if pace else 3)
        t0 = time.perf_counter()
        for frame, pose in stream:
            workout.process(frame, pose)
            latencies.append(time.perf_counter() - stamps.pop(frame.index))
            poses.append(pose)
            progress(stage, frame.index + 1, total)
        seconds = time.perf_counter() - t0
        workout.finish("source ended")
    return {"frames": len(poses), "seconds": seconds, "latencies": latencies, "poses": poses,
            "reps": workout.summary.reps,
            "dropped": delivered.dropped if isinstance(delivered, LatestFrames) else 0}


def run_benchmark(video: str | Path, model_path: str | Path, *, model_variant: str = "full",
                  max_frames: int | None = None, exercise: str | None = None,
                  progress: Progress = _noop, num_poses: People = AUTO, pace: bool = True,
                  repeat: int = 1) -> BenchResult:
    """Measure one clip in passes over the same frames:

    1. decoding alone;
    2. bare inference: the model alone over the decoded frames (only its calls timed);
    3. the pipeline flat out, as `workout --source FILE` runs it: decoding and the model on their threads,
       the workout (engine, overlay drawn) on this one; frames/s and latency (decoded → overlay drawn);
    4. (pace=True) the same fed as a camera feeds it: frames released at the source's fps into a
       latest-frame slot; latency (released → overlay drawn) and frames dropped;
    5. the counting engine alone on the keypoints of pass 3: offline `count` (`engine_fps`) and the live
       `Counter.update` (`engine_live_ms_per_frame`), best of three runs each, in CPU time of the thread
       (the engine is single-threaded; other programs on the machine would inflate its wall time).

    max_frames limits every pass to the first N frames. `exercise` selects the definition used by the
    counting stage (default: squat). `num_poses`: the people setting ("auto", the workouts' default, or a
    number; see `coach.pose.engine.open_video_engine`). repeat > 1 runs passes 2-4 that many times in turn
    and keeps the best of each (highest frames/s, lowest paced p95 latency): other programs on a shared
    machine only ever slow a pass down; every run's figures are in `extra["runs"]`.
    """
    from coach.exercise.library import get_definition
    from coach.pose.series import PoseSeries

    definition = get_definition(exercise or "squat")
    load_start = _load()
    # 1. decoding alone
    with VideoFileSource(video) as src:
        total = src.frame_count if max_frames is None else min(max_frames, src.frame_count or max_frames)
        t0 = time.perf_counter()
        n_decoded = 0
        for frame in _limited(src, max_frames):
            n_decoded += 1
            progress("decode", n_decoded, total)
        decode_s = time.perf_counter() - t0
        source_fps, width, height = src.fps, src.width_px, src.height_px

    # 2. the model alone, 3. the pipeline flat out, 4. paced like a camera; best of `repeat` runs each
    runs, best_inf, flat, live = [], None, None, None
    for k in range(max(1, repeat)):
        tag = f" ({k + 1}/{repeat})" if repeat > 1 else ""
        inf = _bare_inference(video, model_path, num_poses, max_frames, total, progress, "bare inference" + tag)
        fl = _pipeline(video, model_path, num_poses, definition, max_frames, total, "pipeline" + tag, progress,
                       pace=False)
        lv = _pipeline(video, model_path, num_poses, definition, max_frames, total, "paced (camera)" + tag,
                       progress, pace=True) if pace else None
        runs.append({"load_1min": _load(), "inference_fps": inf[0] / inf[1] if inf[1] > 0 else None,
                     "pipeline_fps": fl["frames"] / fl["seconds"] if fl["seconds"] > 0 else None,
                     "latency_ms_p95": _percentiles(lv["latencies"])[1] if lv else None})
        if best_inf is None or inf[0] / inf[1] > best_inf[0] / best_inf[1]:
            best_inf = inf
        if flat is None or fl["frames"] / fl["seconds"] > flat["frames"] / flat["seconds"]:
            flat = fl
        if lv is not None and (live is None or _percentiles(lv["latencies"])[1] < _percentiles(live["latencies"])[1]):
            live = lv
    n_inf, inference_s, people = best_inf

    # 5. the counting engine alone on those keypoints
    series = PoseSeries.from_frames(flat["poses"], fps=source_fps, width_px=width, height_px=height,
                                    meta={"source": str(video)})
    engine_fps = _engine_fps(exercise, series)
    live_ms = _engine_live_ms(exercise, series)

    n = flat["frames"]
    pipeline_fps = n / flat["seconds"] if flat["seconds"] > 0 else float("nan")
    inference_fps = n_inf / inference_s if inference_s > 0 else float("nan")
    p50, p95 = _percentiles(live["latencies"]) if live else (None, None)
    f50, f95 = _percentiles(flat["latencies"])
    extra = {"num_poses": num_poses, "people_per_frame": float(np.mean(people)) if people else 0.0,
             "reps_pipeline": flat["reps"], "load_1min": [load_start, _load()], "repeat": max(1, repeat)}
    if repeat > 1:
        extra["runs"] = runs
    if live:
        extra.update(paced_frames_processed=live["frames"], reps_paced=live["reps"])
    return BenchResult(
        video=str(video), width_px=width, height_px=height, source_fps=source_fps, frames=n,
        decode_fps=n_decoded / decode_s if decode_s > 0 else float("nan"),
        inference_fps=inference_fps, pipeline_fps=pipeline_fps,
        pipeline_over_inference=pipeline_fps / inference_fps,
        realtime_factor=pipeline_fps / source_fps if source_fps else float("nan"),
        model_variant=model_variant, engine_fps=engine_fps, latency_ms_p50=p50, latency_ms_p95=p95,
        engine_live_ms_per_frame=live_ms, latency_flat_out_ms_p50=f50, latency_flat_out_ms_p95=f95,
        paced_dropped_frames=live["dropped"] if live else None, extra=extra,
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


def _engine_live_ms(exercise: str | None, series) -> float | None:
    """Milliseconds per frame of the live engine (`Counter.update`, as `workout` runs it) on `series`
    (best of 3 runs)."""
    from coach.engine.counter import Counter
    from coach.exercise.library import get_definition

    if not len(series):
        return None
    definition = get_definition(exercise or "squat")
    frames = list(series.frames())
    best = np.inf
    for _ in range(3):
        counter = Counter(definition, fps=series.fps, has_world=series.has_world, keep_trace=True)
        t0 = time.thread_time()
        for frame in frames:
            counter.update(frame)
        best = min(best, time.thread_time() - t0)
    return 1000.0 * best / len(frames)


def _engine_fps(exercise: str | None, series) -> float | None:
    """Frames per second of the offline counting engine on `series` (best of 3 runs, CPU time of the thread)."""
    from coach.engine.counter import count
    from coach.exercise.library import get_definition

    definition = get_definition(exercise or "squat")
    best = np.inf
    for _ in range(3):
        t0 = time.thread_time()
        count(definition, series, offline=True)
        best = min(best, time.thread_time() - t0)
    return len(series) / best if best > 0 else float("nan")
