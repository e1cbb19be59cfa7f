"""Perturbed recordings for robustness checks: what each does to the keypoints, and to counts that must
not change (or must change in a known way) because of it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coach.engine.counter import count
from coach.exercise.library import get_definition
from coach.pose.landmarks import landmark_index
from coach.pose.series import JITTER_IMAGE_FRACTION
from coach.devtools.synthetic import synthesize

ROOT = Path(__file__).resolve().parents[1]


def arrays(series) -> list[np.ndarray]:
    return [series.timestamps_s, series.frame_index, series.n_people, series.xy_px, series.visibility,
            series.world_m]


def test_mirroring_flips_x_and_exchanges_left_and_right():
    series = synthesize("squat", reps=2, seed=1, view="oblique").series
    m = series.mirrored()
    width = series.width_px
    lw, rw, nose = (landmark_index(n) for n in ("left_wrist", "right_wrist", "nose"))
    np.testing.assert_allclose(m.xy_px[:, 0, lw, 0], width - series.xy_px[:, 0, rw, 0])
    np.testing.assert_allclose(m.xy_px[:, 0, lw, 1], series.xy_px[:, 0, rw, 1])
    np.testing.assert_allclose(m.xy_px[:, 0, nose, 0], width - series.xy_px[:, 0, nose, 0])
    np.testing.assert_allclose(m.world_m[:, 0, lw, 0], -series.world_m[:, 0, rw, 0])
    np.testing.assert_array_equal(m.visibility[:, 0, lw], series.visibility[:, 0, rw])
    for a, b in zip(arrays(m.mirrored()), arrays(series)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("exercise,view", [("squat", "side"), ("push_up", "side"), ("jumping_jack", "front")])
def test_a_symmetric_exercise_counts_the_same_in_a_mirror(exercise, view):
    clip = synthesize(exercise, reps=4, seed=2, view=view, noise_px=1.0)
    d = get_definition(exercise)
    original = count(d, clip.series, offline=False)
    seen_in_mirror = count(d, clip.series.mirrored(), offline=False)
    assert original.reps == seen_in_mirror.reps == clip.reps


def test_a_mirror_swaps_which_leg_a_lunge_is_credited_to():
    clip = synthesize("lunge", reps=5, side="left")
    d = get_definition("lunge")
    original = count(d, clip.series, offline=False)
    seen_in_mirror = count(d, clip.series.mirrored(), offline=False)
    assert (original.reps_left, original.reps_right) == (clip.reps_left, clip.reps_right) == (3, 2)
    assert (seen_in_mirror.reps_left, seen_in_mirror.reps_right) == (2, 3)


def test_decimating_keeps_every_kth_frame_and_the_counts():
    clip = synthesize("squat", reps=4, seed=3, fps=30.0)
    half = clip.series.decimated(2)
    assert len(half) == (len(clip.series) + 1) // 2
    assert half.fps == pytest.approx(15.0)
    np.testing.assert_array_equal(half.timestamps_s, clip.series.timestamps_s[::2])
    assert count(get_definition("squat"), half, offline=False).reps == clip.reps
    with pytest.raises(ValueError):
        clip.series.decimated(0)


def test_jitter_is_reproducible_and_of_the_stated_size():
    series = synthesize("squat", reps=2, seed=4).series
    a, b, c = series.jittered(seed=7), series.jittered(seed=7), series.jittered(seed=8)
    np.testing.assert_array_equal(a.xy_px, b.xy_px)
    assert not np.array_equal(a.xy_px, c.xy_px)
    found = np.isfinite(series.xy_px)
    noise = (a.xy_px - series.xy_px)[found]
    expected = JITTER_IMAGE_FRACTION * max(series.width_px, series.height_px)
    assert noise.std() == pytest.approx(expected, rel=0.1)
    np.testing.assert_array_equal(a.visibility, series.visibility)


def test_eval_reps_runs_the_labelled_clips_perturbed(shared_data, pose_model, tmp_path):
    labels = tmp_path / "labels.tsv"
    labels.write_text("file\texercise\treps\nsquat_bw_side_rokfit.mp4\tsquat\t4\n")
    result = subprocess.run([sys.executable, str(ROOT / "coach.py"), "eval", "reps", str(labels), "--videos",
                             str(shared_data / "videos"), "--recordings", str(tmp_path / "rec"), "--perturb",
                             "mirror", "--model", str(pose_model)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300, env={"COLUMNS": "200",
                                                                                       "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "perturbed: mirror" in result.stdout
    assert "exact 100.0%" in result.stdout
