"""Measures: hand-checked geometry, visibility gating, expressions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coach.exercise.expressions import RANGE_HI, RANGE_LO, ExpressionError, parse_condition
from coach.pose.landmarks import N_LANDMARKS, landmark_index
from coach.engine.measures import MeasureGeometry, body_length, compute, inclination, joint_angle


def frame(points: dict[str, tuple], vis: float = 1.0):
    """One frame (T=1) with the named landmarks placed; everything else at the origin, visible."""
    xy = np.zeros((1, N_LANDMARKS, 2))
    world = np.zeros((1, N_LANDMARKS, 3))
    v = np.full((1, N_LANDMARKS), vis)
    for name, p in points.items():
        if len(p) == 2:
            xy[0, landmark_index(name)] = p
        else:
            world[0, landmark_index(name)] = p
    return xy, world, v


# (a, b, c) image points -> angle at b, degrees
ANGLES = [
    ((0, 0), (0, 10), (0, 20), 180.0),
    ((0, 0), (0, 10), (10, 10), 90.0),
    ((10, 0), (0, 0), (10, 10), 45.0),
    ((1, 0), (0, 0), (-1, math.sqrt(3)), 120.0),
    ((0, 0), (0, 10), (0, 0), 0.0),
]


@pytest.mark.parametrize("a,b,c,expected", ANGLES)
def test_joint_angle_table(a, b, c, expected):
    xy, world, vis = frame({"left_hip": a, "left_knee": b, "left_ankle": c})
    g = MeasureGeometry("angle", ("hip", "knee", "ankle"))
    assert compute(g, xy, world, vis, "left", 0.5)[0] == pytest.approx(expected, abs=1e-6)


def test_joint_angle_3d_uses_world_coordinates():
    xy, world, vis = frame({"right_shoulder": (0, 0, 0), "right_elbow": (0, 0.3, 0), "right_wrist": (0, 0.3, 0.25)})
    g = MeasureGeometry("angle", ("shoulder", "elbow", "wrist"), space="3d")
    assert compute(g, xy, world, vis, "right", 0.5)[0] == pytest.approx(90.0)


# segment a -> b in image coordinates (y down) -> inclination from vertical / horizontal
INCLINATIONS = [
    ((0, 10), (0, 0), 0.0, 90.0),     # b straight above a
    ((0, 0), (10, 0), 90.0, 0.0),     # level
    ((0, 0), (0, 10), 180.0, -90.0),  # b straight below a
    ((0, 10), (10, 0), 45.0, 45.0),   # up and to the right
    ((0, 10), (-10, 0), 45.0, 45.0),  # up and to the left: same inclination
]


@pytest.mark.parametrize("a,b,vert,horiz", INCLINATIONS)
def test_inclination_table(a, b, vert, horiz):
    xy, world, vis = frame({"left_hip": a, "left_shoulder": b})
    gv = MeasureGeometry("inclination", ("hip", "shoulder"), reference="vertical")
    gh = MeasureGeometry("inclination", ("hip", "shoulder"), reference="horizontal")
    assert compute(gv, xy, world, vis, "left", 0.5)[0] == pytest.approx(vert, abs=1e-6)
    assert compute(gh, xy, world, vis, "left", 0.5)[0] == pytest.approx(horiz, abs=1e-6)


def test_normalised_distance_is_in_torso_lengths_and_signed_up():
    pts = {"left_shoulder": (100, 100), "right_shoulder": (140, 100), "left_hip": (100, 200),
           "right_hip": (140, 200), "left_wrist": (100, 50)}
    xy, world, vis = frame(pts)
    g = MeasureGeometry("distance", ("shoulder", "wrist"), axis="y", per="torso")
    assert compute(g, xy, world, vis, "left", 0.5)[0] == pytest.approx(0.5)  # 50 px above, torso 100 px
    g2 = MeasureGeometry("distance", ("wrist", "shoulder"), axis="y", per="torso")
    assert compute(g2, xy, world, vis, "left", 0.5)[0] == pytest.approx(-0.5)
    assert body_length(xy, "shoulder_width", "left")[0] == pytest.approx(40)
    # the same pose twice as big (camera zoom) gives the same value
    xy2 = xy * 2
    assert compute(g, xy2, world, vis, "left", 0.5)[0] == pytest.approx(0.5)


def test_height_measure_rises_with_the_landmark():
    pts = {"left_shoulder": (100, 100), "right_shoulder": (140, 100), "left_hip": (100, 200),
           "right_hip": (140, 200), "nose": (120, 60)}
    xy, world, vis = frame(pts)
    g = MeasureGeometry("height", ("nose",), per="torso")
    h0 = compute(g, xy, world, vis, "left", 0.5)[0]
    xy[0, :, 1] -= 10  # everything 10 px higher
    assert compute(g, xy, world, vis, "left", 0.5)[0] - h0 == pytest.approx(0.1)


def test_low_visibility_gives_nan_never_a_value():
    xy, world, vis = frame({"left_hip": (0, 0), "left_knee": (0, 10), "left_ankle": (10, 10)})
    vis[0, landmark_index("left_ankle")] = 0.2
    g = MeasureGeometry("angle", ("hip", "knee", "ankle"))
    assert np.isnan(compute(g, xy, world, vis, "left", 0.5)[0])
    assert compute(g, xy, world, vis, "left", 0.1)[0] == pytest.approx(90)


def test_vectorised_over_frames():
    t = np.linspace(0, 1, 50)
    xy = np.zeros((50, N_LANDMARKS, 2))
    xy[:, landmark_index("left_knee")] = (0, 10)
    xy[:, landmark_index("left_ankle")] = np.stack([10 * np.sin(t), 10 + 10 * np.cos(t)], axis=1)
    vis = np.ones((50, N_LANDMARKS))
    got = joint_angle(xy, landmark_index("left_hip"), landmark_index("left_knee"), landmark_index("left_ankle"))
    assert np.allclose(got, 180 - np.degrees(t), atol=1e-6)
    assert inclination(xy, landmark_index("left_knee"), landmark_index("left_hip")).shape == (50,)
    del vis


# -------------------------------------------------------------------------- expressions


def test_conditions_evaluate_vectorised_and_nan_is_false():
    c = parse_condition("knee > 160 and not (trunk_lean > 45 or abs(a - b) >= 10)", ["knee", "trunk_lean", "a", "b"])
    env = {"knee": np.array([170, 170, 170, np.nan]), "trunk_lean": np.array([10, 50, 10, 10]),
           "a": np.array([0, 0, 0, 0]), "b": np.array([5, 5, -20, 5])}
    assert c.evaluate(env).tolist() == [True, False, False, False]
    f = c.compile()
    assert f({k: float(v[0]) for k, v in env.items()}) is True
    assert f({k: float(v[3]) for k, v in env.items()}) is False


def test_percent_is_relative_to_the_range():
    c = parse_condition("knee < 25%", ["knee"])
    env = {"knee": np.array([100.0, 130.0]), RANGE_LO: 90.0, RANGE_HI: 170.0}
    assert c.evaluate(env).tolist() == [True, False]  # 25% of 90..170 is 110
    assert c.uses_percent


@pytest.mark.parametrize("text,words", [
    ("knee >", "ends too early"),
    ("knee = 3", "write <, >, <= or >="),
    ("knee == 3", "never exactly equal"),
    ("knee", "expected a condition"),
    ("kne > 3", "did you mean 'knee'"),
    ("knee > 3 and", "ends too early"),
    ("(knee > 3", "missing ')'"),
    ("__import__('os') > 1", "unexpected character"),
    ("__import__ > 1", "unknown measure '__import__'"),
    ("knee > 3 knee", "unexpected 'knee'"),
])
def test_bad_conditions_are_rejected_with_a_reason(text, words):
    with pytest.raises(ExpressionError) as exc:
        parse_condition(text, ["knee"])
    assert words in str(exc.value)


# ----------------------------------------------------------------------------- one frame with plain floats

def _all_channels():
    """(geometry, side, min_visibility) of every channel of every built-in definition, 3-D and 2-D."""
    from coach.engine.compiled import compile_definition
    from coach.exercise.library import list_definitions

    found = {}
    for definition in list_definitions():
        for has_world in (True, False):
            try:
                comp = compile_definition(definition, has_world=has_world)
            except Exception:  # a definition that insists on 3-D
                continue
            for c in comp.channels:
                found[(c.geometry, c.side, c.min_visibility)] = None
    return list(found)


def _same(one: float, many: float) -> bool:
    return one == many or (math.isnan(one) and math.isnan(many))


@pytest.fixture(scope="module")
def real_keypoints(shared_data, pose_model):
    """45 frames (from the 3rd second) of three real clips (side, front and floor views), as the pose engine
    gives them."""
    import cv2

    from coach.pose.engine import PoseEngine

    out = []
    for name in ("squat_bw_mti_mrpose.mp4", "jumping_jacks_fitnessblender_mrpose.mp4", "pushup_side_gym_omartarek.mp4"):
        cap = cv2.VideoCapture(str(shared_data / "videos" / name))
        cap.set(cv2.CAP_PROP_POS_FRAMES, 60)
        frames = []
        with PoseEngine(pose_model) as engine:
            for i in range(45):
                ok, image = cap.read()
                if not ok:
                    break
                pose = engine.detect(image, i / 30.0, i)
                if pose.n_people:
                    frames.append((pose.xy_px[0], pose.world_m[0], pose.visibility[0]))
        cap.release()
        assert len(frames) > 30, name
        out.append(tuple(np.stack(a) for a in zip(*frames)))
    return out


def test_one_frame_with_plain_floats_equals_the_vectorised_measure_on_real_keypoints(real_keypoints):
    from coach.engine.measures import compute_frame

    channels = _all_channels()
    assert len(channels) > 30
    compared = 0
    for xy32, world32, vis32 in real_keypoints:
        # float64 as the counter passes them, and float32 straight from a recording
        for xy, world, vis in ((xy32.astype(np.float64), world32.astype(np.float64), vis32.astype(np.float64)),
                               (xy32, world32, vis32)):
            for geom, side, min_vis in channels:
                many = compute(geom, xy, world, vis, side, min_vis)
                for t in range(len(xy)):
                    one = compute_frame(geom, xy[t], world[t], vis[t], side, min_vis)
                    assert _same(one, many[t]), (geom, side, t, one, many[t])
                    compared += 1
                    # and compute itself on one frame
                    assert _same(float(compute(geom, xy[t:t + 1], world[t:t + 1], vis[t:t + 1], side,
                                               min_vis)[0]), many[t])
    assert compared > 10_000


def test_one_frame_with_plain_floats_handles_degenerate_bodies_as_numpy_does():
    from coach.engine.measures import compute_frame

    rng = np.random.default_rng(3)
    base_xy = rng.uniform(0, 500, (N_LANDMARKS, 2))
    base_world = rng.uniform(-1, 1, (N_LANDMARKS, 3))
    frames = []
    for case in range(6):
        xy, world, vis = base_xy.copy(), base_world.copy(), np.ones(N_LANDMARKS)
        if case == 1:  # everything on one point: zero-length limbs and body lengths
            xy[:], world[:] = 7.0, 0.25
        elif case == 2:  # coordinates missing while the visibility says seen
            xy[:] = np.nan
            world[:] = np.nan
        elif case == 3:  # shoulders on the hips: no torso length
            for s in ("left", "right"):
                xy[landmark_index(f"{s}_shoulder")] = xy[landmark_index(f"{s}_hip")]
                world[landmark_index(f"{s}_shoulder")] = world[landmark_index(f"{s}_hip")]
        elif case == 4:  # visibility exactly at and just under the usual thresholds
            vis[:] = np.where(np.arange(N_LANDMARKS) % 2, 0.5, np.nextafter(0.5, 0))
        elif case == 5:  # collinear points: the cosine rounds past ±1
            xy[:, 1] = 3.0 * xy[:, 0] + 1.0
        frames.append((xy, world, vis))
    xy, world, vis = (np.stack(a) for a in zip(*frames))
    for geom, side, min_vis in _all_channels() + [(MeasureGeometry("angle", ("hip", "knee", "ankle"), "3d"), "left",
                                                   0.5)]:
        many = compute(geom, xy, world, vis, side, min_vis)
        for t in range(len(frames)):
            assert _same(compute_frame(geom, xy[t], world[t], vis[t], side, min_vis), many[t]), (geom, t)
