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


# ----------------------------------------------------------------------------- looking for a second person

def _one_and_two_people(shared_data) -> tuple[np.ndarray, np.ndarray]:
    """Two 640×360 frames from a real clip: one person on the left half (grey on the right), and the same
    person twice side by side (a synthetic second person)."""
    cap = cv2.VideoCapture(str(shared_data / "videos" / "squat_bw_mti_mrpose.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, frame = cap.read()
    cap.release()
    assert ok
    crop = frame[:, 320:960]  # the squatting person stands in the middle of the 1280×720 picture
    one = np.full((720, 1280, 3), 128, np.uint8)
    one[:, :640] = crop
    two = np.concatenate([crop, crop], axis=1)
    half = lambda image: cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA)  # noqa: E731
    return half(one), half(two)


def test_auto_tracks_one_person_at_the_cost_of_one_and_two_while_a_second_is_in_view(shared_data, pose_model):
    from coach.pose.engine import PoseEngine, ScoutingPoseEngine

    one, two = _one_and_two_people(shared_data)
    # 30 fps: alone for 0.67 s, a second person for 1 s, alone again for 1.33 s
    frames = [one] * 20 + [two] * 30 + [one] * 40
    times = [i / 30.0 for i in range(len(frames))]
    with ScoutingPoseEngine(pose_model, scout_every_s=0.5, leave_after_s=1.0) as auto, \
            PoseEngine(pose_model, num_poses=1) as single:
        out, flags = [], []
        for i, image in enumerate(frames):
            out.append(auto.detect(image, times[i], i))
            flags.append(auto.two_people)
            expected = single.detect(image, times[i], i)
            if i < 31:  # until a look finds the second person: exactly the one-person landmarker's output
                np.testing.assert_array_equal(out[-1].xy_px, expected.xy_px)
        stats = dict(auto.stats)
    assert [f.frame_index for f in out] == list(range(len(frames)))
    assert [f.timestamp_s for f in out] == times
    n = [f.n_people for f in out]
    # looks from the second frame on (someone tracked), every 0.5 s: frames 1, 16 and 31; the second person
    # (there from 0.67 s, frame 20) is found at frame 31, and both are delivered while both are there
    assert n[:31] == [1] * 31 and n[31:50] == [2] * 19 and n[50:] == [1] * 40
    for f in out[31:50]:  # one person on each half of the picture
        centres = sorted(float(np.nanmedian(f.xy_px[p, :, 0])) for p in range(2))
        assert centres[0] < 320 < centres[1]
    # the two-person landmarker runs from frame 31 until 1 s after the last frame with two (1.63 s)
    assert flags[30] is False and all(flags[31:79]) and not any(flags[79:])
    assert stats["switches"] == 1 and stats["two_people_frames"] == 19
    # looks only while one person is tracked (the next is due at 3.13 s); checked only when one saw someone
    assert stats["scouts"] == 3 and stats["checks"] == 1


def test_auto_never_pays_for_a_second_person_who_is_not_there(shared_data, pose_model):
    from coach.pose.engine import ScoutingPoseEngine

    one, _ = _one_and_two_people(shared_data)
    with ScoutingPoseEngine(pose_model, scout_every_s=0.5) as auto:
        people = [auto.detect(one, i / 30.0, i).n_people for i in range(61)]  # 2 s
        stats = dict(auto.stats)
    assert people == [1] * 61
    assert stats["two_people_frames"] == 0 and stats["switches"] == 0
    # one cheap look per half second (frames 1, 16, 31, 46), and the two-person landmarker never ran
    assert stats["scouts"] == 4 and stats["checks"] == 0


def test_people_setting_is_auto_or_a_number():
    from coach.pose.engine import AUTO, parse_people, people_key

    assert parse_people("Auto") == AUTO and parse_people("2") == 2 and parse_people(3) == 3
    for bad in ("0", "9", "two", "", "1.5"):
        with pytest.raises(ValueError, match="auto"):
            parse_people(bad)
    assert people_key(1) == "p1" and people_key("2") == "p2"
    assert people_key("auto") not in ("p1", "p2") and people_key("auto").startswith("auto")


def test_keypoints_cached_for_one_person_are_not_taken_for_auto(tmp_path, shared_data, pose_model):
    from coach.app.extraction import extract_cached, recording_cache_path
    from coach.app.sources import VideoFileSource
    from coach.pose.engine import people_key
    from coach.pose.series import PoseSeries

    one, two = _one_and_two_people(shared_data)
    clip = tmp_path / "two_people.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 360))
    for image in [two] * 12:
        writer.write(image)
    writer.release()
    cache = tmp_path / "cache"
    p1 = recording_cache_path(clip, "sha", 1, cache)
    auto = recording_cache_path(clip, "sha", "auto", cache)
    assert p1 != auto and p1.name.endswith("-p1-k3.npz")
    # a recording of one person per frame, cached under p1, must not be returned for "auto"
    with VideoFileSource(clip) as src:
        series, path, hit = extract_cached(src, pose_model, model_variant="full", model_sha256="sha", num_poses=1,
                                           cache_root=cache)
    assert path == p1 and not hit and series.n_people.max() == 1
    with VideoFileSource(clip) as src:
        series, path, hit = extract_cached(src, pose_model, model_variant="full", model_sha256="sha",
                                           cache_root=cache)  # the default: auto
    assert path == auto and not hit and auto.name.endswith(f"-{people_key('auto')}-k3.npz")
    # the first frame has one: a look paints out whom the first landmarker found on the frame before
    assert series.n_people.tolist() == [1] + [2] * 11 and series.meta["people"] == people_key("auto")
    assert PoseSeries.load(auto).n_people.tolist() == series.n_people.tolist()


def test_pose_extract_looks_for_two_people_by_default_and_keeps_an_explicit_number(tmp_path, shared_data,
                                                                                    pose_model):
    _, two = _one_and_two_people(shared_data)
    clip = tmp_path / "pair.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 360))
    for _ in range(8):
        writer.write(two)
    writer.release()
    default, explicit = tmp_path / "default.npz", tmp_path / "one.npz"
    for out, extra in ((default, ()), (explicit, ("--num-poses", "1"))):
        result = run_coach("pose", "extract", str(clip), "-o", str(out), "--model", str(pose_model), *extra)
        assert result.returncode == 0, result.stderr
    assert load_recording(default).n_people.tolist() == [1] + [2] * 7
    assert load_recording(explicit).n_people.tolist() == [1] * 8
    assert load_recording(default).meta["people"].startswith("auto")
    bad = run_coach("pose", "extract", str(clip), "-o", str(tmp_path / "x.npz"), "--num-poses", "many")
    assert bad.returncode == 2 and "expected 'auto' or a number" in bad.stderr
