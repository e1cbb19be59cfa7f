"""The pose engine on real pixels: named keypoints, 'nobody' as data, eval pose against labels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.pose.engine import PoseEngine
from coach.pose.recording import load_recording

ROOT = Path(__file__).resolve().parents[1]


def run_coach(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "coach.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_video_with_nobody_gives_a_recording_of_nobody_and_a_warning(tmp_path, pose_model):
    clip = tmp_path / "empty_room.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    rng = np.random.default_rng(0)
    for _ in range(20):
        writer.write((rng.random((240, 320, 3)) * 40 + 100).astype(np.uint8))
    writer.release()
    out = tmp_path / "rec.npz"
    result = run_coach("pose", "extract", str(clip), "-o", str(out), "--model", str(pose_model))
    assert result.returncode == 0, result.stderr
    assert "nobody was found" in result.stderr
    series = load_recording(out)
    assert len(series) == 20 and not series.n_people.any()
    assert all(frame.nobody for frame in series.frames())


def test_person_keypoints_are_named_in_pixels_and_metres(shared_data, pose_model):
    image = cv2.imread(str(shared_data / "ground_truth" / "tf_examples_pose_truth" / "image1.png"))
    with PoseEngine(pose_model, mode="image") as engine:
        frame = engine.detect(image)
    assert frame.n_people == 1
    h, w = image.shape[:2]
    # image coordinates are pixels inside the frame; the head is above the ankles
    nose, ankle = frame.xy("nose"), frame.xy("left_ankle")
    assert 0 <= nose[0] < w and 0 <= nose[1] < h and nose[1] < ankle[1]
    # world coordinates are metres around the hips: a standing adult is 1–2.2 m from nose to ankle
    height_m = abs(frame.world("left_ankle")[1] - frame.world("nose")[1])
    assert 1.0 < height_m < 2.2
    assert frame.vis("nose") > 0.5


def test_eval_pose_on_the_labelled_images(shared_data, pose_model):
    truth_dir = shared_data / "ground_truth" / "tf_examples_pose_truth"
    result = run_coach("eval", "pose", "--truth", str(truth_dir / "pose_landmark_truth.csv"), "--images",
                       str(truth_dir), "--json", "--model", str(pose_model))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    summary = data["summary"]
    assert summary["n_keypoints"] == 34
    errors = np.array([k["error_px"] for k in data["keypoints"]])
    assert summary["max_error_px"] == pytest.approx(errors.max())
    assert summary["pck"] == pytest.approx(np.mean(errors <= 21.0))
    # a regression guard, not the acceptance: the mean error of the full model here is ~9 px
    assert summary["mean_error_px"] < 12.0
    assert all(0.0 <= k["visibility"] <= 1.0 for k in data["keypoints"])


def test_eval_pose_lists_the_keypoints_beyond_the_threshold_worst_first():
    from coach.devtools.pose_eval import KeypointError, PoseEvalResult

    nan = float("nan")
    errors = [KeypointError("a.png", "nose", (0, 0), (3, 4), 5.0, 0.9),
              KeypointError("a.png", "left_wrist", (0, 0), (30, 40), 50.0, 0.2),
              KeypointError("b.png", "left_wrist", (0, 0), (nan, nan), nan),
              KeypointError("b.png", "right_wrist", (0, 0), (0, 25), 25.0, 0.8)]
    result = PoseEvalResult(errors, threshold_px=21.0)
    assert [(k.image, k.keypoint) for k in result.beyond_threshold()] == [
        ("b.png", "left_wrist"), ("a.png", "left_wrist"), ("b.png", "right_wrist")]
    assert result.summary()["pck"] == pytest.approx(0.25)
