"""The frame pipeline: stages on threads, bounded, in order; a camera never queued; the same keypoints and
reps as running the stages one after the other."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.app.pipeline import BackgroundWorker, LatestFrames, ThreadedStage, posed_frames
from coach.app.sources import Frame

ROOT = Path(__file__).resolve().parents[1]


def run_coach(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "coach.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def _frames(n: int) -> list[Frame]:
    return [Frame(i, i / 30.0, np.full((4, 4, 3), i % 256, np.uint8)) for i in range(n)]


def test_a_stage_delivers_every_result_in_order_and_never_runs_far_ahead():
    produced = []
    consumed = 0
    ahead = []

    def work(frame: Frame) -> tuple[int, float]:
        produced.append(frame.index)
        return frame.index, frame.timestamp_s

    stage = ThreadedStage(_frames(200), work, depth=3, name="test-stage")
    out = []
    for item in stage:
        consumed += 1
        ahead.append(len(produced) - consumed)
        out.append(item)
    assert out == [(i, i / 30.0) for i in range(200)]
    # at most: the queue (3), the item being put and the one the worker is computing
    assert max(ahead) <= 3 + 1
    assert not stage._thread.is_alive()


def test_an_error_in_a_stage_reaches_the_consumer_after_the_results_before_it():
    def work(frame: Frame) -> int:
        if frame.index == 5:
            raise ValueError("frame 5 is damaged")
        return frame.index

    got = []
    with pytest.raises(ValueError, match="frame 5 is damaged"):
        for item in ThreadedStage(_frames(10), work, depth=2, name="test-stage"):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_stopping_early_stops_the_threads_of_every_stage():
    pulled = []

    def source():
        for frame in _frames(10_000):
            pulled.append(frame.index)
            yield frame

    first = ThreadedStage(source(), lambda f: f, depth=2, name="reader")
    second = posed_frames(first, lambda f: f.index)
    for frame, index in second:
        assert frame.index == index
        if index == 10:
            break
    assert not second._thread.is_alive() and not first._thread.is_alive()
    assert len(pulled) < 30  # stopped, not read to the end


def test_a_camera_frame_arriving_while_the_model_is_busy_replaces_the_waiting_one():
    may_go_on, all_sent = threading.Event(), threading.Event()
    frames = _frames(5)

    def camera():
        yield frames[0]
        may_go_on.wait(10)
        yield from frames[1:4]  # three frames while the consumer is busy with frame 0
        all_sent.set()
        yield frames[4]  # taken by the capture thread only once frame 3 is in the slot

    latest = LatestFrames(camera())
    it = iter(latest)
    assert next(it).index == 0
    may_go_on.set()
    assert all_sent.wait(10)
    taken = [f.index for f in it]
    # frames 1 and 2 (and 3, unless taken before 4 arrived) were replaced, never queued
    assert taken in ([4], [3, 4])
    assert latest.dropped == 4 - len(taken)
    assert latest.delivered == 1 + len(taken)


def test_a_background_worker_keeps_order_and_reports_its_error_at_close():
    done = []
    worker = BackgroundWorker(done.append, depth=2)
    for i in range(100):
        worker.submit(i)
    worker.close()
    assert done == list(range(100))

    def fail(item: int) -> None:
        if item == 3:
            raise OSError("disk full")

    worker = BackgroundWorker(fail, depth=2)
    with pytest.raises(OSError, match="disk full"):
        for i in range(6):
            worker.submit(i)
        worker.close()
    worker.close()  # idempotent, the error was reported once


# ----------------------------------------------------------------------------- real model, real frames

@pytest.fixture(scope="module")
def short_clip(shared_data, tmp_path_factory) -> Path:
    """The first 15 s of a real squat clip (1280×720 → 640×360 to keep the test short)."""
    cap = cv2.VideoCapture(str(shared_data / "videos" / "squat_bw_mti_mrpose.mp4"))
    path = tmp_path_factory.mktemp("clip") / "squats.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 360))
    for _ in range(450):
        ok, image = cap.read()
        assert ok
        writer.write(cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA))
    writer.release()
    cap.release()
    return path


def test_the_pipeline_gives_the_keypoints_and_timestamps_of_running_the_model_frame_by_frame(short_clip,
                                                                                             pose_model):
    from coach.app.sources import VideoFileSource
    from coach.app.workout import pose_stream
    from coach.pose.engine import open_video_engine

    with VideoFileSource(short_clip) as src, open_video_engine(pose_model, "auto") as engine:
        one_by_one = [(f.index, f.timestamp_s, engine.detect(f.image_bgr, f.timestamp_s, f.index)) for f in src]
    stream, info = pose_stream(short_clip, model_path=pose_model)
    piped = [(frame.index, frame.timestamp_s, pose) for frame, pose in stream]
    assert info["dropped_frames"]() == 0  # a file: every frame
    assert [(i, t) for i, t, _ in piped] == [(i, t) for i, t, _ in one_by_one]
    assert [p.timestamp_s for _, _, p in piped] == [t for _, t, _ in one_by_one]
    for (_, _, a), (_, _, b) in zip(piped, one_by_one):
        assert a.n_people == b.n_people
        np.testing.assert_array_equal(a.xy_px, b.xy_px)


def test_a_workout_through_the_pipeline_counts_what_the_keypoints_count(short_clip, pose_model, tmp_path):
    from coach import count, load_exercise
    from coach.app.sources import VideoFileSource
    from coach.pose.engine import open_video_engine
    from coach.pose.series import PoseSeries

    with VideoFileSource(short_clip) as src, open_video_engine(pose_model, "auto") as engine:
        poses = [engine.detect(f.image_bgr, f.timestamp_s, f.index) for f in src]
        fps = src.fps
    expected = count(load_exercise("squat"), PoseSeries.from_frames(poses, fps=fps))
    assert expected.reps >= 1
    saved = tmp_path / "coached.mp4"
    result = run_coach("workout", "-e", "squat", "--source", str(short_clip), "--no-show", "--no-db", "--json",
                       "--model", str(pose_model), "--save-video", str(saved))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["reps"] == expected.reps
    assert [(r["start_s"], r["end_s"]) for r in data["reps_records"]] == \
        [(r.start_s, r.end_s) for r in expected.rep_records]
    cap = cv2.VideoCapture(str(saved))  # every frame drawn and written, by the writer's own thread
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(poses)
    cap.release()


def test_bench_measures_inference_alone_then_the_pipeline_flat_out_and_paced(short_clip, pose_model):
    result = run_coach("bench", str(short_clip), "--frames", "90", "--json", "--model", str(pose_model))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in ("video", "width_px", "height_px", "source_fps", "frames", "decode_fps", "inference_fps",
                "pipeline_fps", "pipeline_over_inference", "realtime_factor", "model_variant", "engine_fps",
                "latency_ms_p50", "latency_ms_p95", "extra"):  # today's keys
        assert key in data
    assert data["frames"] == 90
    assert data["pipeline_over_inference"] == pytest.approx(data["pipeline_fps"] / data["inference_fps"])
    assert data["engine_live_ms_per_frame"] > 0
    assert data["latency_ms_p95"] >= data["latency_ms_p50"] > 0
    # paced like a camera: every frame either processed or dropped while the model was busy
    assert data["extra"]["paced_frames_processed"] + data["paced_dropped_frames"] == 90
    assert data["extra"]["num_poses"] == "auto"
