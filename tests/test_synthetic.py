"""The synthetic skeleton generator: its geometry and its answers must be right, or every counting test built
on it is wrong. Angles here are computed independently from the rendered landmarks with plain numpy."""

from __future__ import annotations

import numpy as np
import pytest

from coach.pose.landmarks import landmark_index
from coach.pose.recording import load_recording, save_recording
from coach.devtools.synthetic import EXERCISES, SyntheticClip, synthesize

REQUIRED = ("squat", "sit_to_stand", "lunge", "bicep_curl", "elbow_flexion", "push_up", "lateral_raise",
            "front_raise", "shoulder_press", "heel_slide", "plank", "wall_sit", "glute_bridge", "calf_raise",
            "jumping_jack")


def angle_at(points: np.ndarray, a: str, b: str, c: str) -> np.ndarray:
    """Angle at landmark b (degrees) from arrays (T, 33, k), k = 2 or 3."""
    pa, pb, pc = (points[:, landmark_index(n)].astype(np.float64) for n in (a, b, c))
    u, v = pa - pb, pc - pb
    cos = np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def local_minima(x: np.ndarray) -> np.ndarray:
    """Indices of local minima; a flat bottom of equal samples counts once."""
    idx = []
    i = 1
    while i < len(x) - 1:
        if x[i] < x[i - 1]:
            j = i
            while j + 1 < len(x) and x[j + 1] == x[i]:
                j += 1
            if j + 1 < len(x) and x[j + 1] > x[i]:
                idx.append(i)
            i = j + 1
        else:
            i += 1
    return np.array(idx, int)


def xy(clip: SyntheticClip, name: str) -> np.ndarray:
    return clip.series.xy_px[:, 0, landmark_index(name)].astype(np.float64)


def test_exercises_cover_the_required_ids():
    assert set(REQUIRED) <= set(EXERCISES)


@pytest.mark.parametrize("exercise, joint", [
    ("squat", ("left_hip", "left_knee", "left_ankle")),
    ("sit_to_stand", ("left_hip", "left_knee", "left_ankle")),
    ("lunge", ("left_hip", "left_knee", "left_ankle")),
    ("wall_sit", ("left_hip", "left_knee", "left_ankle")),
    ("bicep_curl", ("left_shoulder", "left_elbow", "left_wrist")),
    ("elbow_flexion", ("left_shoulder", "left_elbow", "left_wrist")),
    ("push_up", ("left_shoulder", "left_elbow", "left_wrist")),
    ("heel_slide", ("left_hip", "left_knee", "left_ankle")),
])
def test_side_view_image_angle_equals_the_true_angle(exercise, joint):
    clip = synthesize(exercise, reps=3, view="side", side="left")
    image = clip.series.xy_px[:, 0]
    measured = angle_at(image, *joint)
    truth = clip.angle_trace_deg[f"left_{joint[1].split('_', 1)[1]}"]
    assert np.max(np.abs(measured - truth)) < 0.5


def test_right_side_view_measures_the_right_knee():
    clip = synthesize("squat", reps=2, view="side", side="right")
    measured = angle_at(clip.series.xy_px[:, 0], "right_hip", "right_knee", "right_ankle")
    assert np.max(np.abs(measured - clip.angle_trace_deg["right_knee"])) < 0.5
    assert clip.primary == "right_knee"


@pytest.mark.parametrize("exercise", EXERCISES)
@pytest.mark.parametrize("view", ["side", "front", "oblique"])
def test_world_angles_equal_the_traces_in_every_view(exercise, view):
    clip = synthesize(exercise, reps=2, view=view, hold_s=3.0 if exercise in ("plank", "wall_sit") else None)
    world = clip.series.world_m[:, 0]
    for side in ("left", "right"):
        for joint, (a, b, c) in {"knee": ("hip", "knee", "ankle"), "elbow": ("shoulder", "elbow", "wrist"),
                                 "hip": ("shoulder", "hip", "knee"), "shoulder": ("elbow", "shoulder", "hip"),
                                 "ankle": ("knee", "ankle", "foot_index")}.items():
            got = angle_at(world, f"{side}_{a}", f"{side}_{b}", f"{side}_{c}")
            assert np.max(np.abs(got - clip.angle_trace_deg[f"{side}_{joint}"])) < 0.1, (side, joint)


@pytest.mark.parametrize("exercise", EXERCISES)
@pytest.mark.parametrize("view, size", [("side", (1280, 720)), ("front", (1280, 720)), ("oblique", (1280, 720)),
                                        ("side", (720, 1280))])
def test_every_exercise_renders_a_whole_person_in_frame(exercise, view, size):
    clip = synthesize(exercise, reps=2, view=view, size_px=size,
                      hold_s=3.0 if exercise in ("plank", "wall_sit") else None)
    s = clip.series
    assert (s.width_px, s.height_px) == size
    assert s.xy_px.shape == (len(s), 1, 33, 2) and s.world_m.shape == (len(s), 1, 33, 3)
    assert np.all(np.isfinite(s.xy_px)) and np.all(np.isfinite(s.world_m))
    assert np.all((s.xy_px[..., 0] > 0) & (s.xy_px[..., 0] < size[0]))
    assert np.all((s.xy_px[..., 1] > 0) & (s.xy_px[..., 1] < size[1]))
    assert np.all((s.visibility >= 0) & (s.visibility <= 1))
    # world origin is between the hips
    mid_hip = (s.world_m[:, 0, landmark_index("left_hip")] + s.world_m[:, 0, landmark_index("right_hip")]) / 2
    assert np.max(np.abs(mid_hip)) < 1e-5
    assert s.meta["source"] == f"synthetic:{exercise}" and s.meta["model_variant"] == ""
    assert clip.exercise == exercise


def test_standing_person_is_about_60_percent_of_the_frame_and_upright():
    clip = synthesize("squat", reps=1, view="front")
    first = clip.series.xy_px[0, 0]
    height = first[:, 1].max() - first[:, 1].min()  # heel to eyes: a little under the stature
    assert 0.5 * 720 < height < 0.6 * 720
    y = {name: first[landmark_index(name), 1] for name in ("nose", "left_hip", "left_ankle")}
    assert y["nose"] < y["left_hip"] < y["left_ankle"]
    # front view: the person's left is on image right; world y is down
    assert first[landmark_index("left_shoulder"), 0] > first[landmark_index("right_shoulder"), 0]
    w = clip.series.world_m[0, 0]
    assert w[landmark_index("nose"), 1] < 0 < w[landmark_index("left_ankle"), 1]


@pytest.mark.parametrize("exercise, reps", [("squat", 5), ("sit_to_stand", 3), ("push_up", 7), ("bicep_curl", 4),
                                            ("heel_slide", 2), ("calf_raise", 6), ("jumping_jack", 10),
                                            ("glute_bridge", 3), ("lateral_raise", 4)])
def test_the_primary_trace_has_one_turning_point_per_rep_at_the_stated_times(exercise, reps):
    clip = synthesize(exercise, reps=reps, rep_s=1.5)
    trace = clip.angle_trace_deg[clip.primary]
    start = trace[0]
    # the turning point is the far end of the movement: a minimum for flexions, a maximum for raises
    sign = 1.0 if trace.min() < start - 1 else -1.0
    minima = local_minima(sign * trace)
    assert len(minima) == reps == clip.reps == len(clip.turning_points_s)
    t = clip.series.timestamps_s
    assert np.allclose(t[minima], clip.turning_points_s, atol=1.0 / 30 + 1e-9)


def test_oblique_view_foreshortens_the_knee_angle():
    clip = synthesize("squat", reps=1, view="oblique")
    image = angle_at(clip.series.xy_px[:, 0], "left_hip", "left_knee", "left_ankle")
    truth = clip.angle_trace_deg["left_knee"]
    deepest = np.argmin(truth)
    assert image[deepest] > truth[deepest] + 10  # why the engine needs world angles on oblique views
    world = angle_at(clip.series.world_m[:, 0], "left_hip", "left_knee", "left_ankle")
    assert np.max(np.abs(world - truth)) < 0.1


def test_squat_knee_range_follows_depth():
    full = synthesize("squat", reps=1)
    half = synthesize("squat", reps=1, depth=0.5)
    assert 80 <= full.angle_trace_deg["left_knee"].min() <= 90
    assert 125 <= half.angle_trace_deg["left_knee"].min() <= 135
    assert full.angle_trace_deg["left_knee"].max() > 170


def test_rep_speed_sets_the_time_between_turning_points():
    clip = synthesize("squat", reps=4, rep_s=3.0)
    assert np.allclose(np.diff(clip.turning_points_s), 3.0)
    assert clip.turning_points_s[0] > 1.5  # after the lead-in


def test_timestamps_strictly_increase_at_one_over_fps():
    for fps in (30.0, 25.0, 60.0):
        s = synthesize("bicep_curl", reps=2, fps=fps).series
        assert np.all(np.diff(s.timestamps_s) > 0)
        assert np.allclose(np.diff(s.timestamps_s), 1.0 / fps)
        assert np.array_equal(s.frame_index, np.arange(len(s)))
        assert s.fps == fps


def test_dropouts_empty_exactly_those_frames():
    dropouts = [(2.0, 2.5), (4.1, 4.4)]
    clip = synthesize("squat", reps=3, dropouts=dropouts)
    s = clip.series
    t = s.timestamps_s
    expected_empty = np.zeros(len(t), bool)
    for a, b in dropouts:
        expected_empty |= (t >= a - 1e-9) & (t < b - 1e-9)
    assert expected_empty.sum() == 15 + 9
    assert np.array_equal(s.n_people == 0, expected_empty)
    assert np.all(np.isnan(s.xy_px[expected_empty])) and np.all(s.visibility[expected_empty] == 0)
    assert np.all(np.isfinite(s.xy_px[~expected_empty]))
    assert np.all(clip.main_slot[expected_empty] == -1) and np.all(clip.main_slot[~expected_empty] == 0)
    assert clip.reps == 3  # nothing is lost underneath


def test_same_seed_same_arrays_and_other_seed_other_noise():
    kw = dict(reps=3, noise_px=2.0, second_person="still", jitter_at_deg=150.0)
    a, b = synthesize("squat", seed=7, **kw), synthesize("squat", seed=7, **kw)
    c = synthesize("squat", seed=8, **kw)
    for name in ("xy_px", "world_m", "visibility", "n_people", "timestamps_s"):
        assert np.array_equal(getattr(a.series, name), getattr(b.series, name), equal_nan=True), name
    for key in a.angle_trace_deg:
        assert np.array_equal(a.angle_trace_deg[key], b.angle_trace_deg[key])
    assert not np.array_equal(a.series.xy_px, c.series.xy_px, equal_nan=True)


def test_noise_has_the_requested_size_and_leaves_the_truth_alone():
    clean = synthesize("squat", reps=2)
    noisy = synthesize("squat", reps=2, noise_px=3.0, seed=1)
    diff = (noisy.series.xy_px - clean.series.xy_px).ravel()
    assert 2.8 < np.std(diff) < 3.2
    wdiff = (noisy.series.world_m - clean.series.world_m).ravel()
    assert 0.005 < np.std(wdiff) < 0.02  # same noise in metres (~250 px per metre)
    assert np.array_equal(clean.angle_trace_deg["left_knee"], noisy.angle_trace_deg["left_knee"])


@pytest.mark.parametrize("second", [None, "still", "crossing"])
def test_round_trip_through_a_recording_file(tmp_path, second):
    clip = synthesize("lunge", reps=2, noise_px=1.0, dropouts=[(1.0, 1.2)], second_person=second)
    path = save_recording(tmp_path / "clip", clip.series)
    back = load_recording(path)
    for name in ("timestamps_s", "frame_index", "n_people", "xy_px", "visibility", "world_m"):
        assert np.array_equal(getattr(back, name), getattr(clip.series, name), equal_nan=True), name
    assert back.meta["source"] == "synthetic:lunge" and back.fps == 30.0
    assert back.width_px == 1280 and back.height_px == 720
    assert back.meta["synthetic"]["reps"] == 2


def test_side_view_hides_the_far_side():
    clip = synthesize("squat", reps=1, view="side", side="left")
    vis = clip.series.visibility[:, 0]
    for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "ear"):
        assert np.all(vis[:, landmark_index(f"left_{part}")] > 0.9)
        far = vis[:, landmark_index(f"right_{part}")]
        assert np.all((far > 0.25) & (far < 0.55))
    front = synthesize("squat", reps=1, view="front").series.visibility[:, 0]
    assert np.all(front > 0.85)
    oblique = synthesize("squat", reps=1, view="oblique", side="right").series.visibility[:, 0]
    assert np.all(oblique[:, landmark_index("right_knee")] > 0.9)
    assert np.all((oblique[:, landmark_index("left_knee")] > 0.55) & (oblique[:, landmark_index("left_knee")] < 0.85))
    # depth: with the left side towards the camera, left landmarks are nearer (smaller z)
    w = clip.series.world_m[0, 0]
    assert w[landmark_index("left_hip"), 2] < w[landmark_index("right_hip"), 2]


@pytest.mark.parametrize("exercise, planted", [
    ("squat", ("left_foot_index", "left_heel")),
    ("calf_raise", ("left_foot_index",)),
    ("push_up", ("left_wrist", "left_foot_index")),
    ("plank", ("left_wrist", "left_foot_index")),
    ("glute_bridge", ("left_shoulder", "left_ankle")),
    ("heel_slide", ("left_hip", "left_shoulder")),
])
def test_planted_points_stay_put(exercise, planted):
    clip = synthesize(exercise, reps=2, hold_s=2.0 if exercise == "plank" else None)
    for name in planted:
        p = xy(clip, name)
        assert np.max(np.ptp(p, axis=0)) < 0.5, name


def test_calf_raise_lifts_the_heel_and_heel_slide_keeps_the_heel_on_the_floor():
    calf = synthesize("calf_raise", reps=1)
    heel_y = xy(calf, "left_heel")[:, 1]
    assert heel_y.min() < heel_y[0] - 30  # image y up = smaller
    slide = synthesize("heel_slide", reps=1, side="left")
    ankle = xy(slide, "left_ankle")
    assert np.ptp(ankle[:, 1]) < 0.5 and np.ptp(ankle[:, 0]) > 50  # slides along the floor


def test_lunge_alternates_legs_and_counts_each_side():
    clip = synthesize("lunge", reps=5, side="left")
    assert (clip.reps, clip.reps_left, clip.reps_right) == (5, 3, 2)
    assert clip.rep_sides == ["left", "right", "left", "right", "left"]
    t = clip.series.timestamps_s
    facing_x = -1.0  # left side towards the camera: the person faces image-left
    for side, other in (("left", "right"), ("right", "left")):
        trace = clip.angle_trace_deg[f"{side}_knee"]
        # both knees bend in every lunge (front and rear); the front one reaches 90
        assert np.allclose(t[local_minima(trace)], clip.turning_points_s, atol=1 / 30 + 1e-9)
        for tp, who in zip(clip.turning_points_s, clip.rep_sides):
            f = int(round(tp * 30))
            ahead = facing_x * (xy(clip, f"{side}_knee")[f, 0] - xy(clip, f"{other}_knee")[f, 0]) > 0
            assert ahead == (who == side)
            if who == side:
                assert trace[f] == pytest.approx(90.0, abs=1.0)
    right_first = synthesize("lunge", reps=3, side="right")
    assert (right_first.reps_left, right_first.reps_right) == (1, 2)


def test_one_sided_and_bilateral_curls():
    both = synthesize("bicep_curl", reps=3)
    assert (both.reps_left, both.reps_right) == (0, 0)
    assert both.angle_trace_deg["left_elbow"].min() < 50 and both.angle_trace_deg["right_elbow"].min() < 50
    one = synthesize("bicep_curl", reps=3, limbs="right", view="front")
    assert (one.reps_left, one.reps_right) == (0, 3) and one.primary == "right_elbow"
    assert one.angle_trace_deg["left_elbow"].min() > 160
    alt = synthesize("bicep_curl", reps=4, limbs="alternate")
    assert (alt.reps_left, alt.reps_right) == (2, 2)
    assert synthesize("elbow_flexion", reps=2, side="right").reps_right == 2
    with pytest.raises(ValueError, match="limbs"):
        synthesize("squat", limbs="left")


@pytest.mark.parametrize("exercise, primary_hold", [("plank", "left_hip"), ("wall_sit", "left_knee")])
def test_holds_report_the_seconds_actually_held(exercise, primary_hold):
    clip = synthesize(exercise, hold_s=8.0, lead_in_s=1.0)
    assert clip.hold_s == 8.0 and clip.reps == 0 and clip.turning_points_s == []
    a, b = clip.hold_span_s
    assert a == pytest.approx(1.0 + 1.5) and b - a == pytest.approx(8.0)
    t = clip.series.timestamps_s
    trace = clip.angle_trace_deg[primary_hold]
    inside = (t >= a) & (t < b)
    assert np.ptp(trace[inside]) < 1e-6  # exactly the hold pose
    assert abs(trace[np.flatnonzero(inside)[0] - 6] - trace[inside][0]) > 0.01  # still getting in
    assert abs(trace[np.flatnonzero(inside)[-1] + 6] - trace[inside][0]) > 0.01  # already getting out
    assert np.ptp(trace[t < a - 1.5 - 1e-9]) < 1e-6 and abs(trace[0] - trace[inside][0]) > 20  # got into position
    assert synthesize(exercise).hold_s == 10.0
    with pytest.raises(ValueError, match="hold"):
        synthesize("squat", hold_s=5.0)


def test_pause_holds_the_start_position_and_shifts_later_reps():
    plain = synthesize("squat", reps=4, rep_s=2.0)
    paused = synthesize("squat", reps=4, rep_s=2.0, pause=(5.0, 3.0))
    assert paused.reps == 4
    a, b = paused.pause_span_s
    assert a == pytest.approx(5.5) and b == pytest.approx(8.5)  # first rep boundary at or after 5 s
    t = paused.series.timestamps_s
    knee = paused.angle_trace_deg["left_knee"]
    inside = (t >= a) & (t < b)
    assert np.ptp(knee[inside]) < 1e-9 and knee[inside][0] > 170
    assert paused.turning_points_s[:2] == plain.turning_points_s[:2]
    assert np.allclose(np.array(paused.turning_points_s[2:]) - plain.turning_points_s[2:], 3.0)
    assert len(local_minima(knee)) == 4


def test_jitter_hovers_around_the_value_and_adds_no_rep():
    clip = synthesize("squat", reps=2, jitter_at_deg=150.0, seed=3)
    assert clip.reps == 2 and len(clip.turning_points_s) == 2
    a, b = clip.jitter_span_s
    assert a == pytest.approx(1.5 + 2 * 2.0)
    t = clip.series.timestamps_s
    knee = clip.angle_trace_deg["left_knee"]
    hover = (t >= a + 1.0) & (t < b - 1.0)
    assert np.all(np.abs(knee[hover] - 150.0) <= 3.0 + 1e-6)
    crossings = np.sum(np.diff(np.sign(knee[hover] - 150.0)) != 0)
    assert crossings >= 6  # a trap for counters without hysteresis
    stretch = (t >= a) & (t < b)
    assert knee[stretch].min() >= 147.0 - 1e-6 and knee[stretch].max() <= knee[0] + 1e-6
    only = synthesize("squat", reps=0, jitter_at_deg=120.0)
    assert only.reps == 0 and only.turning_points_s == []
    with pytest.raises(ValueError, match="outside"):
        synthesize("squat", jitter_at_deg=40.0)


def test_still_bystander_fills_slot_order_that_swaps():
    alone = synthesize("squat", reps=3)
    clip = synthesize("squat", reps=3, second_person="still", seed=2)
    s = clip.series
    assert s.n_slots == 2 and np.all(s.n_people == 2) and s.meta["num_poses"] == 2
    assert set(np.unique(clip.main_slot)) == {0, 1}  # the detector's order is not stable
    rows = np.arange(len(s))
    main = s.xy_px[rows, clip.main_slot]
    assert np.array_equal(main, alone.series.xy_px[:, 0])
    other = s.xy_px[rows, 1 - clip.main_slot]
    assert np.ptp(other[:, landmark_index("left_hip"), 0]) < 5  # standing still
    assert np.min(np.abs(other[:, landmark_index("left_hip"), 0] - main[:, landmark_index("left_hip"), 0])) > 200


def test_crossing_person_enters_and_leaves():
    clip = synthesize("squat", reps=6, second_person="crossing", view="front")
    s = clip.series
    assert s.n_people.min() == 1 and s.n_people.max() == 2
    both = s.n_people == 2
    rows = np.flatnonzero(both)
    other_slot = 1 - clip.main_slot[rows]
    x = s.xy_px[rows, other_slot, landmark_index("left_hip"), 0]
    assert np.all(np.diff(x) > 0)  # walks across, left to right
    assert len(set(clip.main_slot[rows])) == 2  # slots swap as they pass
    # while they pass in front, the exerciser is hidden
    assert s.visibility[rows, clip.main_slot[rows]].min() < 0.5


def test_bad_arguments_name_what_was_expected():
    with pytest.raises(ValueError, match="squat"):
        synthesize("squats")
    with pytest.raises(ValueError, match="view"):
        synthesize("squat", view="top")
    with pytest.raises(ValueError, match="second_person"):
        synthesize("squat", second_person="many")
    with pytest.raises(ValueError, match="depth"):
        synthesize("squat", depth=1.3)


def test_numpy_arguments_still_give_a_saveable_recording(tmp_path):
    clip = synthesize("squat", reps=np.int64(2), rep_s=np.float32(1.5), seed=np.int64(4))
    assert load_recording(save_recording(tmp_path / "np", clip.series)).meta["synthetic"]["reps"] == 2


def test_single_leg_calf_raise_stands_on_one_foot():
    clip = synthesize("calf_raise", reps=4, limbs="right", view="front")
    assert (clip.reps_left, clip.reps_right) == (0, 4) and clip.primary == "right_ankle"
    toe = xy(clip, "right_foot_index")
    assert np.max(np.ptp(toe, axis=0)) < 1.0  # the slightly abducted foot turns a hair as it points
    free = xy(clip, "left_foot_index")[:, 1]
    assert np.all(free < toe[:, 1] - 20)  # the other foot is off the floor (image y is down)
    assert len(local_minima(-clip.angle_trace_deg["right_ankle"])) == 4


def test_progress_is_zero_at_rest_and_one_at_each_turning_point():
    clip = synthesize("push_up", reps=3)
    t = clip.series.timestamps_s
    assert clip.progress[0] == 0.0 and clip.progress[-1] == 0.0
    for tp in clip.turning_points_s:
        assert clip.progress[int(np.argmin(np.abs(t - tp)))] > 0.99


def test_a_broken_hold_counts_only_the_time_in_the_pose():
    clip = synthesize("wall_sit", hold_s=12.0, lead_in_s=1.0, pause=(6.5, 2.0))
    assert clip.hold_s == 12.0
    (a1, b1), (a2, b2) = clip.hold_spans_s
    assert (a1, b1) == pytest.approx((2.5, 6.5)) and b2 - a2 == pytest.approx(8.0)
    assert clip.pause_span_s == pytest.approx((8.0, 10.0)) and a2 == pytest.approx(11.5)
    t = clip.series.timestamps_s
    knee = clip.angle_trace_deg["left_knee"]
    assert knee[(t >= 8.0) & (t < 10.0)].min() > 170  # stood up
    with pytest.raises(ValueError, match="inside the hold"):
        synthesize("plank", hold_s=5.0, pause=(30.0, 1.0))


@pytest.mark.parametrize("exercise", [e for e in EXERCISES if e not in ("plank", "wall_sit")])
def test_jitter_works_for_every_repetition_exercise(exercise):
    probe = synthesize(exercise, reps=1)
    trace = probe.angle_trace_deg[probe.primary]
    middle = float((trace.min() + trace.max()) / 2)
    clip = synthesize(exercise, reps=1, jitter_at_deg=middle)
    a, b = clip.jitter_span_s
    t = clip.series.timestamps_s
    hover = (t >= a + 1.0) & (t < b - 1.0)
    assert np.all(np.abs(clip.angle_trace_deg[clip.primary][hover] - middle) <= 3.0 + 1e-6)
    assert clip.reps == 1
