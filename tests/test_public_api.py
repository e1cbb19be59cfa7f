"""The public surface: `from coach import ...`, the README's library example (run as written), COCO-17
keypoints, and the refusal of 3-D definitions on 2-D keypoints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import coach
from coach import CoachError, Counter, PoseSeries, count, load_exercise
from coach.devtools.synthetic import synthesize
from coach.exercise.loader import parse_definition_text
from coach.pose.landmarks import COCO17_TO_LANDMARK, landmark_index
from coach.pose.series import COCO17_NAMES

ROOT = Path(__file__).resolve().parents[1]


def coco17_of(series: PoseSeries) -> np.ndarray:
    """(T, P, 17, 3) COCO keypoints (x, y, score) of a series, as a COCO-17 model would give them."""
    idx = [landmark_index(COCO17_TO_LANDMARK[n]) for n in COCO17_NAMES]
    return np.concatenate([series.xy_px[:, :, idx], series.visibility[:, :, idx, None]], axis=-1)


def test_the_surface_is_small_and_import_is_light():
    assert len(coach.__all__) <= 12 and {"load_exercise", "PoseSeries", "count", "Counter"} <= set(coach.__all__)
    code = "import sys, coach; assert 'numpy' not in sys.modules and 'cv2' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "ok", out.stderr
    with pytest.raises(AttributeError):
        coach.no_such_name  # noqa: B018


def test_the_readme_library_example_runs_as_written(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- library-example[^>]*-->\s*```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 5
    clip = synthesize("squat", reps=4, view="side", seed=5)
    clip.series.save(tmp_path / "clip.npz")
    monkeypatch.chdir(tmp_path)
    printed: list = []
    exec(compile(block, "README.md", "exec"), {"keypoints": coco17_of(clip.series), "print": printed.append})
    assert printed[0] == clip.reps == 4
    assert len(printed[1]) == 4 and all(60 <= rom <= 150 for rom in printed[1])


def test_coco17_keypoints_count_like_the_33_landmarks():
    for exercise, view in (("squat", "side"), ("push_up", "side"), ("lateral_raise", "front")):
        clip = synthesize(exercise, reps=5, view=view, seed=7, noise_px=1.0)
        coco = PoseSeries.from_coco17(coco17_of(clip.series), fps=clip.series.fps, width_px=1280, height_px=720)
        assert not coco.has_world and coco.n_slots == 1
        assert np.isnan(coco.xy_px[:, 0, landmark_index("left_heel")]).all()  # not a COCO keypoint: missing
        assert count(load_exercise(exercise), coco).reps == clip.reps, exercise


def test_from_coco17_checks_its_input_and_keeps_people_apart():
    kp = np.full((3, 2, 17, 3), np.nan)
    kp[:, 1] = 1.0  # only the second slot holds a person: it becomes slot 0
    s = PoseSeries.from_coco17(kp, fps=10, width_px=64, height_px=48)
    assert s.n_people.tolist() == [1, 1, 1] and not np.isnan(s.xy_px[:, 0, 0]).any()
    assert np.isnan(s.xy_px[:, 1]).all() and (s.visibility[:, 1] == 0).all()
    with pytest.raises(ValueError, match=r"\(T, P, 17, 2\)"):
        PoseSeries.from_coco17(np.zeros((3, 2, 16, 2)), fps=10, width_px=64, height_px=48)


STRICT_3D = """\
id: knee3d
name: Knee in 3-D
measures:
  knee: {angle: [hip, knee, ankle], space: 3d}
movement:
  measure: knee
  phases:
    up:   {when: "knee > 160", until: "knee < 150"}
    down: {when: "knee < 100", until: "knee > 110"}
  rep: [up, down, up]
"""


def test_a_definition_that_needs_3d_is_refused_on_2d_keypoints_with_a_sentence():
    d, problems = parse_definition_text(STRICT_3D)
    assert not problems
    clip = synthesize("squat", reps=2, view="side")
    coco = PoseSeries.from_coco17(coco17_of(clip.series), fps=30, width_px=1280, height_px=720)
    with pytest.raises(CoachError, match=r"measures knee in 3-D world coordinates .* 2-D only"):
        count(d, coco)
    live = Counter(d)
    with pytest.raises(CoachError, match="2-D only"):
        for frame in coco.frames():
            live.update(frame)
    assert count(d, clip.series).reps == 2  # with world landmarks it counts


def test_counter_frame_by_frame_equals_count_on_the_recording():
    clip = synthesize("lunge", reps=4, seed=3, noise_px=1.5, dropouts=[(2.0, 2.4)], second_person="still")
    d = load_exercise("lunge")
    live = Counter(d, fps=clip.series.fps)
    for frame in clip.series.frames():
        live.update(frame)
    live.finish(float(clip.series.timestamps_s[-1]))
    assert live.result().to_dict() == count(d, clip.series).to_dict()


def test_load_exercise_takes_an_id_or_a_file(tmp_path):
    assert load_exercise("squat").id == "squat"
    f = tmp_path / "knee3d.yaml"
    f.write_text(STRICT_3D)
    assert load_exercise(f).id == "knee3d"
    with pytest.raises(CoachError, match="did you mean 'squat'"):
        load_exercise("sqat")
