"""Synthetic skeletons performing exercises, with known answers.

`synthesize("squat", reps=5)` returns a `SyntheticClip`: a `KeypointSeries` shaped exactly like a pose-engine
recording (33 MediaPipe landmarks, image pixels, world metres, visibility, presence) plus the truth the
counting engine should find: the number of repetitions (per side for alternating or one-sided exercises),
the time of each turning point, the seconds actually held, and the joint angles used, frame by frame.

How it is built
---------------
A body model with realistic segment lengths (stature about 1.72 m) is posed frame by frame from joint angles
(trunk inclination, hip flexion/abduction, knee flexion, ankle plantarflexion, shoulder elevation and its
plane, elbow flexion) by forward kinematics. Closed chains (hands or forearms on the floor in push-ups and
planks, feet and shoulders on the floor in glute bridges, heel on the floor in heel slides) are solved by
two-link inverse kinematics first, so the planted points really stay put. The whole body is then placed so
that what touches the ground stays still (toes, the standing foot, hips, shoulders...).

Coordinates follow `coach.keypoints`: world metres with the origin between the hips, y down, z away from the
camera (MediaPipe's world landmarks); image pixels from an orthographic camera, with the person about 60% of
the frame height. Views:

- ``"side"``: the camera looks at the person's sagittal plane with `side` ("left" or "right") towards it.
  With the left side towards the camera the person faces image-left. Joint angles in the sagittal plane
  (knee, hip, elbow in a curl...) are therefore exact in image coordinates. Far-side landmarks get a
  visibility of 0.3-0.5, near-side and midline ones 0.93-0.99, as MediaPipe does.
- ``"front"``: the camera faces the person standing upright (their left on image-right); all landmarks
  visible (0.9-0.99).
- ``"oblique"``: halfway (45°) between the two, `side` towards the camera; far-side visibility 0.6-0.8.
  Image angles are foreshortened here; world angles are not.

The camera is orthographic and fixed; a person lying down in a narrow (portrait) frame is framed smaller so
that they fit.

Timeline (seconds)
------------------
``lead_in_s`` still at the start position, then `reps` repetitions of ``rep_s`` each, then ``tail_s``
still. A repetition is a cosine from the start position to the turning point and back taking
``rep_s - rest`` (rest = min(0.4, 0.15 * rep_s)), followed by the rest at the start position; the turning
point is in the middle of the movement. ``depth`` in (0, 1] scales every joint's excursion (1 = textbook range,
the most the model allows: deeper would pass anatomical limits and make traces non-monotonic).

- ``pause=(at_s, duration_s)``: the person stands still at the start position for `duration_s`, inserted
  before the first repetition that would begin at or after `at_s` (after the last one if none does).
  Later repetitions shift by `duration_s`. It adds no repetition.
- ``jitter_at_deg``: after the repetitions, a stretch in which the primary angle (`SyntheticClip.primary`)
  moves smoothly from the start position to `jitter_at_deg` (1 s), hovers there for max(4 s, 2*rep_s)
  within ±3° (smooth wander plus noise, crossing the value many times), and returns to the start (1 s).
  It is not a repetition: **the true count is `reps`; the stretch adds 0** (with ``reps=0`` the clip
  contains the stretch only). That is the intended trap when `jitter_at_deg` is a threshold that does not,
  on its own, complete the rep cycle (e.g. the threshold at which the start phase is left). If you place it
  beyond the definition's turning threshold, a hysteresis engine may legitimately count the excursion once;
  `jitter_span_s` gives the stretch's time span so a test can tell.
- Holds (`plank`, `wall_sit`): lead-in in the start position, 1.5 s getting into the hold pose, `hold_s`
  (default 10 s) in it, 1.5 s getting out, tail. `reps` is ignored and the true count is 0. The true hold is
  the time in exactly the hold pose (`hold_spans_s`), to within one frame. With ``pause=(at_s, duration_s)``
  the hold is broken at `at_s` (which must fall inside it): 1.5 s out of the pose, `duration_s` at rest,
  1.5 s back in, then the rest of the hold; `hold_s` is still the time in the pose, in two stretches.
- ``dropouts``: frames with ``a <= t < b`` have nobody detected (n_people = 0, NaN coordinates); the
  movement goes on underneath, so the truth (reps, turning points, angle traces) is unchanged.
- ``noise_px``: independent Gaussian noise of that standard deviation on every image coordinate, and the
  same in metres (noise_px / pixels-per-metre) on every world coordinate. Angle traces are noise-free.
- ``second_person``: "still" (a bystander standing beside the exerciser, slightly further away),
  "crossing" (someone walks across in front of the exerciser, hiding what they pass) or "crossing_behind".
  Slot order is not stable (the still bystander swaps with the exerciser now and then; the crosser is
  ordered left to right in the image), like a real detector; `main_slot` says where the exerciser is.

Which limbs move: ``limbs`` = "both", "left", "right" or "alternate" for exercises that can be done one side
at a time (curls, raises, presses, elbow flexion, heel slides, lunges, single-leg calf raises). Alternating
starts with `side`. `reps` always counts movements (an alternating set of 5 lunges is 5 reps: 3 left and
2 right when starting left).

Besides the counts, a clip carries what a counting test may need: `primary` (the key of the angle
trace the movement is about, on the side that moves or faces the camera), `rep_spans_s` and `rep_sides`,
`hold_span_s`, `pause_span_s`, `jitter_span_s`, `progress` (0 at the start position, 1 at the turning point)
and `main_slot`.

Approximations: the trunk is one rigid segment (a crunch tilts it rather than curling the spine); hands and
face are rigid offsets; feet point straight ahead and slide a few centimetres sideways when a flexed hip
abducts; the rear foot of a lunge may hover a few centimetres above the floor; the crossing walker's feet
slide. The camera is orthographic. None of this touches the angles of the moving joints, which are exact.

Everything is deterministic for a given `seed`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from coach.landmarks import LANDMARK_NAMES, N_LANDMARKS, landmark_index
from coach.recording import KeypointSeries, RecordingMeta

# --------------------------------------------------------------------------------------------------------
# Body model (metres). Proportions after Winter's anthropometric tables for a stature of about 1.72 m.
# --------------------------------------------------------------------------------------------------------
STATURE_M = 1.72
TRUNK_M = 0.50  #: hip-joint centre to shoulder-joint centre
THIGH_M = 0.43
SHANK_M = 0.43
UPPER_ARM_M = 0.32
FOREARM_M = 0.26
HIP_HALF_M = 0.12  #: half the distance between the hip landmarks
SHOULDER_HALF_M = 0.19
ANKLE_HEIGHT_M = 0.07  #: ankle centre above the sole
HEEL_BACK_M = 0.05
TOE_FORWARD_M = 0.16
#: Fraction of the frame height the standing person occupies.
PERSON_FRAME_FRACTION = 0.6

_SIDES = (("left", 1.0), ("right", -1.0))
_E_H = np.array([1.0, 0.0, 0.0])  # horizontal, the way a standing person faces
_E_V = np.array([0.0, 1.0, 0.0])  # up
_E_L = np.array([0.0, 0.0, 1.0])  # the person's left (when standing facing _E_H)

#: Camera yaw per view: the direction from the person to the camera, in degrees from the person's front
#: towards the `side` that faces the camera (0 = front, 90 = that side, 45 = oblique).
_VIEW_YAW_DEG = {"front": 0.0, "oblique": 45.0, "side": 90.0}


def _view_matrix(view: str, side: str) -> np.ndarray:
    """Rows: camera axes (image x right, image y down, depth away from the camera) in the (H, V, L) frame."""
    yaw = math.radians(_VIEW_YAW_DEG[view]) * (1.0 if side == "left" else -1.0)
    towards_camera = math.cos(yaw) * _E_H + math.sin(yaw) * _E_L
    z = -towards_camera
    y = -_E_V
    return np.stack([np.cross(z, y), y, z])


_TRANSITION_S = 1.5  # getting into / out of a hold
_JITTER_RAMP_S = 1.0
_JITTER_AMPLITUDE_DEG = 3.0


@dataclass
class SyntheticClip:
    """A generated recording and the answers the counting engine should find in it."""

    series: KeypointSeries  #: meta.source = "synthetic:<exercise>", model_variant = ""
    exercise: str
    reps: int  #: the true count
    reps_left: int  #: per side, for alternating or one-sided movements (0 otherwise)
    reps_right: int
    turning_points_s: list[float]  #: time of each repetition's turning point, seconds
    hold_s: float | None  #: true seconds held, for holds (None otherwise)
    #: True 3-D joint angles per frame, degrees, from the noise-free skeleton: "<side>_knee" (hip-knee-ankle),
    #: "<side>_hip" (shoulder-hip-knee), "<side>_ankle" (knee-ankle-foot_index), "<side>_elbow"
    #: (shoulder-elbow-wrist), "<side>_shoulder" (elbow-shoulder-hip), and "trunk_incl" (mid-hip to
    #: mid-shoulder against vertical: 0 upright, 90 lying). 180 = straight joint.
    angle_trace_deg: dict[str, np.ndarray]
    primary: str = ""  #: key of angle_trace_deg that the movement is about (e.g. "left_knee")
    rep_spans_s: list[tuple[float, float]] = field(default_factory=list)  #: (start, back at start) per rep
    rep_sides: list[str] = field(default_factory=list)  #: "left"/"right"/"both" per rep
    hold_span_s: tuple[float, float] | None = None  #: (start, end) of the hold (first start, last end)
    hold_spans_s: list[tuple[float, float]] = field(default_factory=list)  #: each stretch in the hold pose
    jitter_span_s: tuple[float, float] | None = None  #: (start, end) of the jitter stretch, ramps included
    pause_span_s: tuple[float, float] | None = None
    main_slot: np.ndarray | None = None  #: (T,) slot of the exerciser per frame, -1 when nobody detected
    #: (T,) how far into the movement the exerciser is: 0 = start position, 1 = turning point / hold pose
    #: (the larger of the two sides for one-sided movements)
    progress: np.ndarray | None = None


# --------------------------------------------------------------------------------------------------------
# Pose parameters and forward kinematics
# --------------------------------------------------------------------------------------------------------


class _Pose:
    """Joint angles per frame (degrees), all arrays of shape (T,).

    trunk: inclination of hip->shoulder from vertical, forward positive (0 standing, 90 prone, -90 supine).
    Per side, legs: hip flexion, hip abduction, knee flexion, ankle plantarflexion; arms: shoulder
    elevation (angle of the upper arm from the trunk's downward line), plane of elevation (0 = abduction in
    the frontal plane, 90 = flexion forward), elbow flexion, and the direction the forearm bends towards
    ("front" or "up", in the body's frame). lift: the whole body raised (metres), e.g. a hop.
    """

    def __init__(self, n: int) -> None:
        z = np.zeros(n)
        self.n = n
        self.trunk = z.copy()
        self.head = z.copy()
        self.lift = z.copy()
        self.leg = {s: {"hip": z + 2.0, "abd": z + 2.0, "knee": z + 4.0, "ankle": z - 2.0} for s, _ in _SIDES}
        self.arm = {s: {"elev": z + 6.0, "plane": z + 0.0, "elbow": z + 12.0} for s, _ in _SIDES}
        self.bend = {s: "front" for s, _ in _SIDES}


def _d(psi_deg: np.ndarray) -> np.ndarray:
    """Unit vector in the sagittal plane at angle psi from up, towards the front (H). Shape (T, 3)."""
    r = np.radians(psi_deg)
    return np.stack([np.sin(r), np.cos(r), np.zeros_like(r)], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1, keepdims=True)


def _skeleton(p: _Pose) -> np.ndarray:
    """All 33 landmarks, (T, 33, 3), metres in the (H, V, L) frame, origin at mid-hip."""
    n = p.n
    out = np.zeros((n, N_LANDMARKS, 3))
    put = lambda name, v: out.__setitem__((slice(None), landmark_index(name)), v)  # noqa: E731
    up = _d(p.trunk)  # body up
    fwd = _d(p.trunk + 90.0)  # body front (chest)
    lat = np.broadcast_to(_E_L, (n, 3))
    mid_sh = TRUNK_M * up
    for side, s in _SIDES:
        leg = p.leg[side]
        cos_a = np.cos(np.radians(leg["abd"]))[:, None]
        sin_a = np.sin(np.radians(leg["abd"]))[:, None]

        def abduct(v: np.ndarray) -> np.ndarray:
            # rotation in the (up, left/right) plane: the sagittal vector's down part swings sideways
            return _dot(v, fwd) * fwd + _dot(v, up) * (cos_a * up - sin_a * s * lat)

        psi_th = p.trunk + 180.0 - leg["hip"]
        psi_sh = psi_th + leg["knee"]
        psi_ft = psi_sh - 90.0 + leg["ankle"]
        hip = s * HIP_HALF_M * lat
        knee = hip + THIGH_M * abduct(_d(psi_th))
        ankle = knee + SHANK_M * abduct(_d(psi_sh))
        f, nrm = abduct(_d(psi_ft)), abduct(_d(psi_ft - 90.0))
        base = ankle - ANKLE_HEIGHT_M * nrm
        put(f"{side}_hip", hip)
        put(f"{side}_knee", knee)
        put(f"{side}_ankle", ankle)
        put(f"{side}_heel", base - HEEL_BACK_M * f)
        put(f"{side}_foot_index", base + TOE_FORWARD_M * f)

        arm = p.arm[side]
        el, pl = np.radians(arm["elev"])[:, None], np.radians(arm["plane"])[:, None]
        a = np.cos(el) * -up + np.sin(el) * (np.cos(pl) * s * lat + np.sin(pl) * fwd)
        b = fwd if p.bend[side] == "front" else up
        b_perp = _unit(b - _dot(b, a) * a)
        fl = np.radians(arm["elbow"])[:, None]
        fore = np.cos(fl) * a + np.sin(fl) * b_perp
        shoulder = mid_sh + s * SHOULDER_HALF_M * lat
        elbow = shoulder + UPPER_ARM_M * a
        wrist = elbow + FOREARM_M * fore
        ref = np.where(np.abs(_dot(fore, fwd)) < 0.85, fwd, up)
        k = _unit(ref - _dot(ref, fore) * fore)  # across the hand, thumb side
        put(f"{side}_shoulder", shoulder)
        put(f"{side}_elbow", elbow)
        put(f"{side}_wrist", wrist)
        put(f"{side}_index", wrist + 0.085 * fore + 0.015 * k)
        put(f"{side}_pinky", wrist + 0.075 * fore - 0.03 * k + 0.01 * s * lat)
        put(f"{side}_thumb", wrist + 0.04 * fore + 0.04 * k)

    h_up, h_fwd = _d(p.trunk + p.head), _d(p.trunk + p.head + 90.0)
    head = mid_sh + 0.17 * h_up + 0.01 * h_fwd
    put("nose", head + 0.10 * h_fwd - 0.01 * h_up)
    for side, s in _SIDES:
        eye = head + 0.075 * h_fwd + 0.025 * h_up
        put(f"{side}_eye_inner", eye + s * 0.015 * lat)
        put(f"{side}_eye", eye + s * 0.032 * lat)
        put(f"{side}_eye_outer", eye + s * 0.048 * lat)
        put(f"{side}_ear", head + s * 0.075 * lat)
        put(f"mouth_{side}", head + 0.085 * h_fwd - 0.05 * h_up + s * 0.025 * lat)
    return out


def _i(name: str) -> int:
    return landmark_index(name)


def _angle(pts: np.ndarray, a: str, b: str, c: str) -> np.ndarray:
    """3-D angle at `b` between b->a and b->c, degrees, (T,)."""
    u = pts[:, _i(a)] - pts[:, _i(b)]
    v = pts[:, _i(c)] - pts[:, _i(b)]
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), np.sum(u * v, axis=-1)))


def _angle_traces(pts: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for side, _ in _SIDES:
        out[f"{side}_knee"] = _angle(pts, f"{side}_hip", f"{side}_knee", f"{side}_ankle")
        out[f"{side}_hip"] = _angle(pts, f"{side}_shoulder", f"{side}_hip", f"{side}_knee")
        out[f"{side}_ankle"] = _angle(pts, f"{side}_knee", f"{side}_ankle", f"{side}_foot_index")
        out[f"{side}_elbow"] = _angle(pts, f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist")
        out[f"{side}_shoulder"] = _angle(pts, f"{side}_elbow", f"{side}_shoulder", f"{side}_hip")
    trunk = (pts[:, _i("left_shoulder")] + pts[:, _i("right_shoulder")]) / 2 - (
        pts[:, _i("left_hip")] + pts[:, _i("right_hip")]) / 2
    out["trunk_incl"] = np.degrees(np.arctan2(np.linalg.norm(trunk[:, [0, 2]], axis=-1), trunk[:, 1]))
    return out


# --------------------------------------------------------------------------------------------------------
# Small geometry helpers for closed chains (2-D, in the sagittal H-V plane)
# --------------------------------------------------------------------------------------------------------


def _psi(v: np.ndarray) -> np.ndarray:
    """Sagittal angle (from up, towards H) of 2-D vectors (..., 2) = (H, V), degrees."""
    return np.degrees(np.arctan2(v[..., 0], v[..., 1]))


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + 180.0) % 360.0 - 180.0


def _two_link(root: np.ndarray, target: np.ndarray, l1: float, l2: float, bend: float) -> np.ndarray:
    """Middle joint of a two-link chain from `root` to `target` (..., 2); `bend` +1/-1 picks the side
    (rotating root->target by +90° in the H-V plane is the +1 side)."""
    d_vec = target - root
    d = np.clip(np.linalg.norm(d_vec, axis=-1, keepdims=True), abs(l1 - l2) + 1e-9, l1 + l2 - 1e-9)
    u = d_vec / np.linalg.norm(d_vec, axis=-1, keepdims=True)
    a = (l1 ** 2 - l2 ** 2 + d ** 2) / (2 * d)
    h = np.sqrt(np.maximum(l1 ** 2 - a ** 2, 0.0))
    perp = np.stack([-u[..., 1], u[..., 0]], axis=-1)
    return root + a * u + bend * h * perp


def _hv(pts: np.ndarray, name: str) -> np.ndarray:
    return pts[:, _i(name), :2]


# --------------------------------------------------------------------------------------------------------
# Exercises: each maps per-side progress q (0 = start position, 1 = turning point / hold pose) to a pose
# --------------------------------------------------------------------------------------------------------


def _lerp(a: float, b: float, q: np.ndarray, depth: float) -> np.ndarray:
    return a + (b - a) * depth * q


def _mover_q(q_l: np.ndarray, q_r: np.ndarray) -> np.ndarray:
    return np.maximum(q_l, q_r)


def _set_legs(p: _Pose, side: str, **vals: np.ndarray | float) -> None:
    for k, v in vals.items():
        p.leg[side][k] = np.broadcast_to(np.asarray(v, float), (p.n,)).copy()


def _set_arms(p: _Pose, side: str, **vals: np.ndarray | float) -> None:
    for k, v in vals.items():
        p.arm[side][k] = np.broadcast_to(np.asarray(v, float), (p.n,)).copy()


def _pose_squat(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    p = _Pose(len(q))
    # turning point: knee 85° (flexion 95), shank 30° forward, trunk 40° forward, feet flat; linear blends
    # of start and turn keep the feet flat because every segment angle is linear in the joint angles.
    p.trunk = _lerp(0, 40, q, depth)
    for side, _ in _SIDES:
        _set_legs(p, side, hip=_lerp(2, 105, q, depth), knee=_lerp(4, 95, q, depth),
                  ankle=_lerp(-2, -30, q, depth))
        _set_arms(p, side, elev=_lerp(6, 80, q, depth), plane=90.0)  # arms forward for balance
    return p


def _pose_deadlift(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    p = _Pose(len(q))
    p.trunk = _lerp(0, 75, q, depth)
    for side, _ in _SIDES:
        _set_legs(p, side, hip=_lerp(2, 90, q, depth), knee=_lerp(4, 25, q, depth),
                  ankle=_lerp(-2, -10, q, depth))
        _set_arms(p, side, elev=p.trunk, plane=90.0, elbow=5.0)  # arms hang vertically
    return p


def _pose_sit_to_stand(q_l, q_r, depth, limbs):
    # start seated (knee 90, thigh horizontal, trunk 10° forward); turning point standing. The trunk leans
    # forward an extra 25° mid-movement; hip flexion takes the same amount so the thighs are unaffected.
    q = _mover_q(q_l, q_r)
    p = _Pose(len(q))
    bump = 25.0 * np.sin(np.pi * np.clip(q * depth, 0, 1))
    p.trunk = _lerp(10, 0, q, depth) + bump
    for side, _ in _SIDES:
        _set_legs(p, side, hip=_lerp(100, 2, q, depth) + bump, knee=_lerp(90, 4, q, depth),
                  ankle=_lerp(0, -2, q, depth), abd=4.0)
        _set_arms(p, side, elev=_lerp(10, 6, q, depth), plane=60.0, elbow=_lerp(30, 12, q, depth))
    return p


def _pose_wall_sit(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    p = _Pose(len(q))
    for side, _ in _SIDES:
        _set_legs(p, side, hip=_lerp(2, 90, q, depth), knee=_lerp(4, 90, q, depth), ankle=_lerp(-2, 0, q, depth),
                  abd=5.0)
        _set_arms(p, side, elev=10.0, plane=20.0, elbow=15.0)
    return p


_LUNGE_FRONT = {"hip": 90.0, "knee": 90.0, "ankle": 0.0}
_LUNGE_REAR = {"hip": -15.0, "knee": 87.0, "ankle": -12.0}  # rear knee a few cm off the floor, on the toes


def _pose_lunge(q_l, q_r, depth, limbs):
    p = _Pose(len(q_l))
    for side, other in (("left", q_r), ("right", q_l)):
        own = q_l if side == "left" else q_r
        vals = {}
        for k, start in (("hip", 2.0), ("knee", 4.0), ("ankle", -2.0)):
            vals[k] = (start + (_LUNGE_FRONT[k] - start) * depth * own
                       + (_LUNGE_REAR[k] - start) * depth * other)
        _set_legs(p, side, **vals)
        _set_arms(p, side, elev=8.0, plane=0.0, elbow=15.0)
    return p


def _pose_curl(q_l, q_r, depth, limbs):
    p = _Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        _set_arms(p, side, elev=_lerp(4, 14, q, depth), plane=90.0, elbow=_lerp(10, 145, q, depth))
    return p


def _pose_elbow_flexion(q_l, q_r, depth, limbs):
    p = _Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        _set_arms(p, side, elev=3.0, plane=90.0, elbow=_lerp(5, 140, q, depth))
    return p


def _pose_lateral_raise(q_l, q_r, depth, limbs):
    p = _Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        _set_arms(p, side, elev=_lerp(10, 90, q, depth), plane=0.0, elbow=12.0)
    return p


def _pose_front_raise(q_l, q_r, depth, limbs):
    p = _Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        _set_arms(p, side, elev=_lerp(6, 90, q, depth), plane=90.0, elbow=8.0)
    return p


def _pose_shoulder_press(q_l, q_r, depth, limbs):
    p = _Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        _set_arms(p, side, elev=_lerp(85, 165, q, depth), plane=15.0, elbow=_lerp(95, 10, q, depth))
        p.bend[side] = "up"
    return p


def _pose_jumping_jack(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    p = _Pose(len(q))
    p.lift = 2.0 * 0.06 * np.sqrt(np.clip(q * (1 - q), 0, None)) * min(depth, 1.0)  # hop out, hop back in
    for side, _ in _SIDES:
        _set_legs(p, side, abd=_lerp(2, 20, q, depth), knee=_lerp(4, 8, q, depth))
        _set_arms(p, side, elev=_lerp(10, 165, q, depth), plane=0.0, elbow=_lerp(12, 8, q, depth))
    return p


def _pose_calf_raise(q_l, q_r, depth, limbs):
    p = _Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        if limbs in ("left", "right") and side != limbs:  # single-leg: the free leg bent behind, off the floor
            _set_legs(p, side, hip=10.0, knee=75.0, ankle=20.0)
        else:
            _set_legs(p, side, ankle=_lerp(-2, 33, q, depth))
    return p


def _supine(n: int) -> _Pose:
    p = _Pose(n)
    p.trunk = np.full(n, -90.0)
    for side, _ in _SIDES:
        _set_legs(p, side, hip=0.0, knee=3.0, ankle=10.0, abd=3.0)
        _set_arms(p, side, elev=15.0, plane=0.0, elbow=5.0)
    return p


def _pose_heel_slide(q_l, q_r, depth, limbs):
    # supine, the heel slides towards the buttock along the floor: the ankle stays at hip height (IK)
    p = _supine(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        flex = _lerp(3, 110, q, depth)
        e = np.radians(180.0 - flex)
        d = np.sqrt(THIGH_M ** 2 + SHANK_M ** 2 - 2 * THIGH_M * SHANK_M * np.cos(e))
        gamma = np.degrees(np.arccos((THIGH_M ** 2 + d ** 2 - SHANK_M ** 2) / (2 * THIGH_M * d)))
        _set_legs(p, side, hip=gamma, knee=flex)
    return p


def _crook_lying_legs() -> tuple[float, float, float]:
    """Sagittal angles (thigh, shank, foot) of crook lying: shoulders at 0, hips at (0.5, 0), ankles at
    (1.0, 0), knees up, feet flat. Used by the glute bridge, the crunch and the sit-up."""
    hip, ankle = np.array([[TRUNK_M, 0.0]]), np.array([[2 * TRUNK_M, 0.0]])
    knee = _two_link(hip, ankle, THIGH_M, SHANK_M, bend=+1.0)
    return float(_psi(knee - hip)[0]), float(_psi(ankle - knee)[0]), 90.0


def _pose_glute_bridge(q_l, q_r, depth, limbs):
    # shoulders and feet planted; the hips rise as the trunk tilts up by delta (IK for the knees)
    q = _mover_q(q_l, q_r)
    n = len(q)
    p = _Pose(n)
    delta = _lerp(0, 24, q, depth)  # top: hips almost in line with shoulders and knees, never past it
    p.trunk = -90.0 - delta
    hip = TRUNK_M * np.stack([np.cos(np.radians(delta)), np.sin(np.radians(delta))], -1)
    ankle = np.broadcast_to([2 * TRUNK_M, 0.0], (n, 2))
    knee = _two_link(hip, ankle, THIGH_M, SHANK_M, bend=+1.0)
    psi_th, psi_sh = _psi(knee - hip), _psi(ankle - knee)
    for side, _ in _SIDES:
        _set_legs(p, side, hip=_wrap(p.trunk + 180 - psi_th), knee=_wrap(psi_sh - psi_th),
                  ankle=_wrap(90.0 - psi_sh + 90.0), abd=3.0)
        _set_arms(p, side, elev=20.0, plane=0.0, elbow=5.0)
    return p


def _pose_trunk_curl(q_l, q_r, depth, limbs, top_deg):
    q = _mover_q(q_l, q_r)
    p = _Pose(len(q))
    psi_th, psi_sh, psi_ft = _crook_lying_legs()
    p.trunk = _lerp(-90, -90 + top_deg, q, depth)
    for side, _ in _SIDES:
        _set_legs(p, side, hip=p.trunk + 180 - psi_th, knee=psi_sh - psi_th, ankle=psi_ft - psi_sh + 90, abd=3.0)
        _set_arms(p, side, elev=45.0, plane=90.0, elbow=5.0)  # reaching towards the knees
    return p


def _pose_crunch(q_l, q_r, depth, limbs):
    return _pose_trunk_curl(q_l, q_r, depth, limbs, 30.0)


def _pose_sit_up(q_l, q_r, depth, limbs):
    return _pose_trunk_curl(q_l, q_r, depth, limbs, 80.0)


def _prone_chain(hip_flex: np.ndarray, elbow_deg: np.ndarray, wrist_hv: np.ndarray, ankle: float):
    """Trunk inclination and upper-arm elevation for a prone body pivoting on the toes (at the origin) with
    the hands at `wrist_hv`, given hip flexion and the elbow's inner angle (all (T,))."""
    n = len(hip_flex)
    ref = _Pose(n)
    ref.trunk = np.full(n, 90.0)
    for side, _ in _SIDES:
        _set_legs(ref, side, hip=hip_flex, knee=0.0, ankle=ankle, abd=0.0)
    pts = _skeleton(ref)
    toe = (_hv(pts, "left_foot_index") + _hv(pts, "right_foot_index")) / 2
    sh = (_hv(pts, "left_shoulder") + _hv(pts, "right_shoulder")) / 2
    v0 = (sh - toe)[:, 0] + 1j * (sh - toe)[:, 1]
    w = wrist_hv[..., 0] + 1j * wrist_hv[..., 1]
    e = np.radians(elbow_deg)
    reach = np.sqrt(UPPER_ARM_M ** 2 + FOREARM_M ** 2 - 2 * UPPER_ARM_M * FOREARM_M * np.cos(e))
    # |v0 e^{i phi} - w| = reach  =>  Re(v0 conj(w) e^{i phi}) = c   (rotating the body by phi about the toes)
    c = (np.abs(v0) ** 2 + np.abs(w) ** 2 - reach ** 2) / 2
    z = v0 * np.conj(w)
    base = np.arccos(np.clip(c / np.abs(z), -1, 1))
    # choose the root that keeps the shoulders above the floor and closest to horizontal
    cand = np.stack([base - np.angle(z), -base - np.angle(z)], -1)
    heights = np.imag(v0[:, None] * np.exp(1j * cand))
    score = np.where(heights > 0, np.abs(_wrap(np.degrees(cand))), 1e9)
    phi = cand[np.arange(n), np.argmin(score, axis=-1)]
    trunk = 90.0 - np.degrees(phi)
    shoulder = v0 * np.exp(1j * phi)
    s_hv = np.stack([shoulder.real, shoulder.imag], -1)
    elbow = _two_link(s_hv, np.broadcast_to(wrist_hv, s_hv.shape), UPPER_ARM_M, FOREARM_M, bend=-1.0)
    a = elbow - s_hv  # upper arm
    up, fwd = _d(trunk)[:, :2], _d(trunk + 90.0)[:, :2]
    elev = np.degrees(np.arctan2(np.sum(a * fwd, -1), -np.sum(a * up, -1)))
    return trunk, elev, s_hv


def _prone_hands(hip_flex: float, elbow_deg: float, ankle: float, forearm_flat: bool) -> np.ndarray:
    """Where the wrists are planted: straight below the shoulders at the top of a push-up (arms at
    `elbow_deg`), or, for a forearm plank, elbows below the shoulders and forearms flat towards the head."""
    n = 1
    ref = _Pose(n)
    ref.trunk = np.full(n, 90.0)
    for side, _ in _SIDES:
        _set_legs(ref, side, hip=hip_flex, knee=0.0, ankle=ankle, abd=0.0)
    pts = _skeleton(ref)
    toe = (_hv(pts, "left_foot_index") + _hv(pts, "right_foot_index")) / 2
    sh = (_hv(pts, "left_shoulder") + _hv(pts, "right_shoulder")) / 2
    v0 = complex(*(sh - toe)[0])
    wrist_v = 0.04
    drop = UPPER_ARM_M if forearm_flat else math.sqrt(
        UPPER_ARM_M ** 2 + FOREARM_M ** 2 - 2 * UPPER_ARM_M * FOREARM_M * math.cos(math.radians(elbow_deg)))
    phi = math.asin((drop + wrist_v) / abs(v0)) - np.angle(v0)
    s = v0 * complex(math.cos(phi), math.sin(phi))
    return np.array([s.real + (FOREARM_M if forearm_flat else 0.0), wrist_v])


def _pose_push_up(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    n = len(q)
    p = _Pose(n)
    wrist = _prone_hands(0.0, 175.0, 10.0, forearm_flat=False)
    elbow_deg = _lerp(175, 85, q, depth)
    trunk, elev, _ = _prone_chain(np.zeros(n), elbow_deg, wrist, 10.0)
    p.trunk = trunk
    for side, _ in _SIDES:
        _set_legs(p, side, hip=0.0, knee=0.0, ankle=10.0, abd=2.0)
        _set_arms(p, side, elev=elev, plane=90.0, elbow=180.0 - elbow_deg)
        p.bend[side] = "up"
    return p


def _pose_plank(q_l, q_r, depth, limbs):
    # forearm plank; getting in = the hips rise from the floor (hip extension 35° -> straight line)
    q = _mover_q(q_l, q_r)
    n = len(q)
    p = _Pose(n)
    wrist = _prone_hands(0.0, 90.0, 10.0, forearm_flat=True)
    hip_flex = _lerp(-35, 0, q, depth)
    elbow_deg = np.full(n, 90.0)
    trunk, elev, _ = _prone_chain(hip_flex, elbow_deg, wrist, 10.0)
    p.trunk = trunk
    for side, _ in _SIDES:
        _set_legs(p, side, hip=hip_flex, knee=0.0, ankle=10.0, abd=2.0)
        _set_arms(p, side, elev=elev, plane=90.0, elbow=90.0)
        p.bend[side] = "up"
    return p


@dataclass(frozen=True)
class _Spec:
    pose: Callable[..., _Pose]
    primary: str  #: joint whose angle the movement is about (without side)
    anchor: str  #: what stays put: feet | lunge | toes | hips | shoulders
    hold: bool = False
    limbs: tuple[str, ...] = ("both",)  #: allowed limb modes, the first is the default ("side" = `side`)


_SPECS: dict[str, _Spec] = {
    "squat": _Spec(_pose_squat, "knee", "feet"),
    "sit_to_stand": _Spec(_pose_sit_to_stand, "knee", "feet"),
    "lunge": _Spec(_pose_lunge, "knee", "lunge", limbs=("alternate", "left", "right")),
    "deadlift": _Spec(_pose_deadlift, "hip", "feet"),
    "bicep_curl": _Spec(_pose_curl, "elbow", "feet", limbs=("both", "left", "right", "alternate")),
    "elbow_flexion": _Spec(_pose_elbow_flexion, "elbow", "feet", limbs=("side", "left", "right", "both",
                                                                         "alternate")),
    "push_up": _Spec(_pose_push_up, "elbow", "toes"),
    "lateral_raise": _Spec(_pose_lateral_raise, "shoulder", "feet", limbs=("both", "left", "right", "alternate")),
    "front_raise": _Spec(_pose_front_raise, "shoulder", "feet", limbs=("both", "left", "right", "alternate")),
    "shoulder_press": _Spec(_pose_shoulder_press, "elbow", "feet", limbs=("both", "left", "right", "alternate")),
    "heel_slide": _Spec(_pose_heel_slide, "knee", "hips", limbs=("side", "left", "right", "alternate", "both")),
    "plank": _Spec(_pose_plank, "hip", "toes", hold=True),
    "wall_sit": _Spec(_pose_wall_sit, "knee", "feet", hold=True),
    "glute_bridge": _Spec(_pose_glute_bridge, "hip", "shoulders"),
    "calf_raise": _Spec(_pose_calf_raise, "ankle", "feet", limbs=("both", "left", "right")),
    "jumping_jack": _Spec(_pose_jumping_jack, "shoulder", "feet"),
    "crunch": _Spec(_pose_crunch, "hip", "hips"),
    "sit_up": _Spec(_pose_sit_up, "hip", "hips"),
}

#: Exercise ids `synthesize` can generate (the library's ids).
EXERCISES: tuple[str, ...] = tuple(_SPECS)


# --------------------------------------------------------------------------------------------------------
# Placement: what touches the ground stays put
# --------------------------------------------------------------------------------------------------------


def _place(pts: np.ndarray, spec: _Spec, q_l: np.ndarray, q_r: np.ndarray, limbs: str, lift: np.ndarray):
    """Translate the hip-centred skeleton (T, 33, 3) so the planted points stay still. Returns a copy."""
    n = len(pts)
    hv = lambda name: pts[:, _i(name), :2]  # noqa: E731
    feet = ("heel", "foot_index")
    if spec.anchor in ("feet", "lunge"):
        if spec.anchor == "lunge":
            # the foot that does not step stays put; both toes coincide when standing
            stance = np.where((q_l > 0)[:, None], hv("right_foot_index"), hv("left_foot_index"))
            ground_sides = ("left", "right")
        elif limbs in ("left", "right") and spec.pose is _pose_calf_raise:
            stance = hv(f"{limbs}_foot_index")
            ground_sides = (limbs,)
        else:
            stance = (hv("left_foot_index") + hv("right_foot_index")) / 2
            ground_sides = ("left", "right")
        lowest = np.min(np.stack([hv(f"{s}_{f}")[:, 1] for s in ground_sides for f in feet], -1), -1)
        shift_h, shift_v = -stance[:, 0], -lowest + lift
    elif spec.anchor == "toes":
        toe = (hv("left_foot_index") + hv("right_foot_index")) / 2
        shift_h, shift_v = -toe[:, 0], -toe[:, 1]
    elif spec.anchor == "hips":
        shift_h, shift_v = np.zeros(n), np.full(n, 0.10)
    elif spec.anchor == "shoulders":
        sh = (hv("left_shoulder") + hv("right_shoulder")) / 2
        shift_h, shift_v = -sh[:, 0], -sh[:, 1] + 0.07
    else:  # pragma: no cover - specs are fixed above
        raise AssertionError(spec.anchor)
    shift = np.stack([shift_h, shift_v, np.zeros(n)], -1)
    return pts + shift[:, None, :]


# --------------------------------------------------------------------------------------------------------
# Timeline: per-frame progress of each side
# --------------------------------------------------------------------------------------------------------


@dataclass
class _Timeline:
    q_l: np.ndarray
    q_r: np.ndarray
    turning_points_s: list[float]
    rep_spans_s: list[tuple[float, float]]
    rep_sides: list[str]
    hold_span_s: tuple[float, float] | None
    jitter_span_s: tuple[float, float] | None
    pause_span_s: tuple[float, float] | None


def _rep_sides(reps: int, mode: str, side: str) -> list[str]:
    if mode == "alternate":
        other = "right" if side == "left" else "left"
        return [side if i % 2 == 0 else other for i in range(reps)]
    return [mode] * reps


def _assign(q_l: np.ndarray, q_r: np.ndarray, frames: slice, q: np.ndarray, who: str) -> None:
    if who in ("both", "left"):
        q_l[frames] = q
    if who in ("both", "right"):
        q_r[frames] = q


# --------------------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------------------


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def synthesize(
    exercise: str,
    *,
    reps: int = 5,
    rep_s: float = 2.0,
    depth: float = 1.0,
    fps: float = 30.0,
    view: str = "side",
    side: str = "left",
    lead_in_s: float = 1.5,
    tail_s: float = 1.5,
    noise_px: float = 0.0,
    dropouts: Sequence[tuple[float, float]] = (),
    pause: tuple[float, float] | None = None,
    jitter_at_deg: float | None = None,
    hold_s: float | None = None,
    seed: int = 0,
    size_px: tuple[int, int] = (1280, 720),
    second_person: str | None = None,
    limbs: str | None = None,
) -> SyntheticClip:
    """Generate a person performing `exercise` (see the module docstring for every option's meaning).

    `limbs` picks which limbs move for one-sided-capable exercises: "both", "left", "right" or "alternate"
    (default: the exercise's usual mode — both arms for curls and raises, alternating legs for lunges, the
    `side` limb for elbow_flexion and heel_slide). Per-side counts are reported for every mode but "both".
    """
    reps, rep_s, depth, fps = int(reps), float(rep_s), float(depth), float(fps)  # numpy scalars too, for JSON
    noise_px, seed = float(noise_px), int(seed)
    _check(exercise in _SPECS, f"unknown exercise '{exercise}'; expected one of: {', '.join(EXERCISES)}")
    spec = _SPECS[exercise]
    _check(view in _VIEW_YAW_DEG, f"view must be one of {', '.join(map(repr, _VIEW_YAW_DEG))}, got {view!r}")
    _check(side in ("left", "right"), f"side must be 'left' or 'right', got {side!r}")
    _check(fps > 0 and rep_s > 0, f"fps and rep_s must be positive, got fps={fps}, rep_s={rep_s}")
    _check(reps >= 0, f"reps must be >= 0, got {reps}")
    _check(0.0 < depth <= 1.0, f"depth must be in (0, 1] (1 = the full textbook range), got {depth}")
    _check(second_person in (None, "still", "crossing", "crossing_behind"),
           f"second_person must be None, 'still', 'crossing' or 'crossing_behind', got {second_person!r}")
    mode = limbs if limbs is not None else spec.limbs[0]
    if mode == "side":
        mode = side
    allowed = tuple(side if m == "side" else m for m in spec.limbs)
    _check(mode in allowed, f"{exercise} can move limbs {sorted(set(allowed))}, got limbs={limbs!r}")
    if spec.hold:
        _check(jitter_at_deg is None, f"{exercise} is a hold; jitter_at_deg applies to repetitions only")
        hold = 10.0 if hold_s is None else float(hold_s)
        _check(hold > 0, f"hold_s must be positive, got {hold_s}")
        reps = 0
    else:
        _check(hold_s is None, f"{exercise} is not a hold; hold_s applies to plank and wall_sit")
        hold = 0.0
    rng = np.random.default_rng(seed)
    primary_side = mode if mode in ("left", "right") else side
    primary = f"{primary_side}_{spec.primary}"

    # ---- timeline ------------------------------------------------------------------------------------
    rest_s = min(0.4, 0.15 * rep_s)
    move_s = rep_s - rest_s
    segments: list[tuple[str, float, object]] = [("still", lead_in_s, None)]
    pause_span = None
    jitter_span = None
    hold_spans: list[tuple[float, float]] = []
    sides = _rep_sides(reps, mode, side)
    if spec.hold:
        segments.append(("in", _TRANSITION_S, None))
        if pause is None:
            segments.append(("hold", hold, None))
        else:  # a broken hold: out of the pose, a rest, back in; only the time in the pose counts
            first = float(pause[0]) - lead_in_s - _TRANSITION_S
            _check(0 < first < hold, f"pause at {pause[0]} s must fall inside the hold "
                                     f"({lead_in_s + _TRANSITION_S:g}..{lead_in_s + _TRANSITION_S + hold:g} s)")
            segments += [("hold", first, None), ("out", _TRANSITION_S, None), ("still", float(pause[1]), "pause"),
                         ("in", _TRANSITION_S, None), ("hold", hold - first, None)]
        segments.append(("out", _TRANSITION_S, None))
    else:
        t = lead_in_s
        for who in sides:
            if pause is not None and pause_span is None and t >= pause[0] - 1e-9:
                segments.append(("still", float(pause[1]), None))
                pause_span = (t, t + float(pause[1]))
                t += float(pause[1])
            segments.append(("rep", rep_s, who))
            t += rep_s
        if pause is not None and pause_span is None:
            segments.append(("still", float(pause[1]), None))
            pause_span = (t, t + float(pause[1]))
        if jitter_at_deg is not None:
            segments.append(("jitter", 2 * _JITTER_RAMP_S + max(4.0, 2 * rep_s), primary_side))
    segments.append(("still", tail_s, None))
    total_s = sum(d for _, d, _ in segments)
    n = int(round(total_s * fps))
    _check(n >= 2, f"the clip would have {n} frames; give longer lead_in_s/tail_s or more reps")
    t_s = np.arange(n) / fps
    q_l, q_r = np.zeros(n), np.zeros(n)
    turning: list[float] = []
    spans: list[tuple[float, float]] = []
    t0 = 0.0
    for kind, dur, arg in segments:
        mask = slice(int(np.searchsorted(t_s, t0 - 1e-9)), int(np.searchsorted(t_s, t0 + dur - 1e-9)))
        tau = t_s[mask] - t0
        if kind == "rep":
            q = np.where(tau < move_s, (1 - np.cos(2 * np.pi * np.clip(tau, 0, move_s) / move_s)) / 2, 0.0)
            _assign(q_l, q_r, mask, q, arg)
            turning.append(t0 + move_s / 2)
            spans.append((t0, t0 + move_s))
        elif kind == "in":
            _assign(q_l, q_r, mask, (1 - np.cos(np.pi * np.clip(tau / dur, 0, 1))) / 2, "both")
        elif kind == "hold":
            _assign(q_l, q_r, mask, np.ones(len(tau)), "both")
            hold_spans.append((t0, t0 + dur))
        elif kind == "still" and arg == "pause":
            pause_span = (t0, t0 + dur)
        elif kind == "out":
            _assign(q_l, q_r, mask, (1 + np.cos(np.pi * np.clip(tau / dur, 0, 1))) / 2, "both")
        elif kind == "jitter":
            who = "both" if mode == "both" else str(arg)
            q = _jitter_progress(spec, mode, depth, who, float(jitter_at_deg), primary, tau, dur, rng)
            _assign(q_l, q_r, mask, q, who)
            jitter_span = (t0, t0 + dur)
        t0 += dur

    # ---- the exerciser ---------------------------------------------------------------------------------
    pose = spec.pose(q_l, q_r, depth, mode)
    body = _skeleton(pose)
    traces = _angle_traces(body)
    placed = _place(body, spec, q_l, q_r, mode, pose.lift)
    w_px, h_px = int(size_px[0]), int(size_px[1])
    cam = _view_matrix(view, side)
    cam_pts = placed @ cam.T  # (T, 33, 3), metres, camera axes
    lo, hi = np.nanmin(cam_pts[..., :2], axis=(0, 1)), np.nanmax(cam_pts[..., :2], axis=(0, 1))
    # a standing person fills 60% of the frame height; someone lying in a portrait frame is framed smaller
    px_per_m = min(PERSON_FRAME_FRACTION * h_px / STATURE_M, 0.9 * w_px / max(hi[0] - lo[0], 1e-6),
                   0.9 * h_px / max(hi[1] - lo[1], 1e-6))
    centre_m = (lo + hi) / 2
    origin_px = np.array([w_px / 2, h_px / 2]) - px_per_m * centre_m
    img = origin_px + px_per_m * cam_pts[..., :2]
    mid_hip = (body[:, _i("left_hip")] + body[:, _i("right_hip")]) / 2
    world = (body - mid_hip[:, None, :]) @ cam.T
    vis, pres = _visibility(view, side, n, rng)

    people = [(img, vis, pres, world)]
    present = [np.ones(n, bool)]
    if second_person is not None:
        other, other_present = _second_person(second_person, n, t_s, img, px_per_m, w_px, h_px, rng)
        if second_person == "crossing":  # walking in front hides what it passes
            occluded = np.abs(img[..., 0] - other[0][:, _i("left_hip"), 0][:, None]) < 0.22 * px_per_m
            vis = np.where(occluded & other_present[:, None], vis * 0.25, vis)
            people[0] = (img, vis, pres, world)
        people.append(other)
        present.append(other_present)

    # ---- noise -------------------------------------------------------------------------------------------
    if noise_px > 0:
        people = [(xy + rng.normal(0, noise_px, xy.shape), v, pr,
                   wd + rng.normal(0, noise_px / px_per_m, wd.shape)) for xy, v, pr, wd in people]

    # out-of-frame landmarks are barely visible, as MediaPipe reports them
    people = [(xy, np.where((xy[..., 0] < 0) | (xy[..., 0] >= w_px) | (xy[..., 1] < 0) | (xy[..., 1] >= h_px),
                            np.minimum(v, 0.05), v), pr, wd) for xy, v, pr, wd in people]

    # ---- pack into slots ---------------------------------------------------------------------------------
    detected = np.ones(n, bool)
    for a, b in dropouts:
        detected &= ~((t_s >= a - 1e-9) & (t_s < b - 1e-9))
    n_slots = len(people)
    xy_out = np.full((n, n_slots, N_LANDMARKS, 2), np.nan, np.float32)
    world_out = np.full((n, n_slots, N_LANDMARKS, 3), np.nan, np.float32)
    vis_out = np.zeros((n, n_slots, N_LANDMARKS), np.float32)
    pres_out = np.zeros((n, n_slots, N_LANDMARKS), np.float32)
    main_slot = np.full(n, -1, np.int64)
    order = _slot_order(second_person, n, people, present, t_s, rng)  # (T, people): person id per rank
    shown = np.stack(present, axis=-1) & detected[:, None]  # (T, people)
    rows = np.arange(n)
    shown_by_rank = shown[rows[:, None], order]
    for who, (xy, v, pr, wd) in enumerate(people):
        rank = np.argmax(order == who, axis=1)
        slot = np.sum(shown_by_rank & (np.arange(n_slots)[None, :] < rank[:, None]), axis=1)
        f = np.flatnonzero(shown[:, who])
        xy_out[f, slot[f]], vis_out[f, slot[f]], pres_out[f, slot[f]], world_out[f, slot[f]] = (
            xy[f], v[f], pr[f], wd[f])
        if who == 0:
            main_slot[f] = slot[f]
    n_people = shown.sum(axis=1).astype(np.int16)

    meta = RecordingMeta(
        source=f"synthetic:{exercise}", fps=float(fps), width_px=w_px, height_px=h_px, model_variant="",
        num_poses=n_slots,
        extra={"synthetic": {
            "exercise": exercise, "reps": reps, "rep_s": rep_s, "depth": depth, "view": view, "side": side,
            "limbs": mode, "noise_px": noise_px, "dropouts": [list(map(float, d)) for d in dropouts],
            "pause": list(map(float, pause)) if pause else None, "jitter_at_deg": jitter_at_deg,
            "hold_s": hold if spec.hold else None, "seed": seed, "second_person": second_person,
        }},
    )
    series = KeypointSeries(
        timestamps_s=t_s.astype(np.float64), frame_index=np.arange(n, dtype=np.int64), n_people=n_people,
        image_xy_px=xy_out, visibility=vis_out, presence=pres_out, world_xyz_m=world_out, meta=meta,
    )
    per_side = mode != "both"
    return SyntheticClip(
        series=series, exercise=exercise, reps=reps,
        reps_left=sides.count("left") if per_side else 0, reps_right=sides.count("right") if per_side else 0,
        turning_points_s=turning, hold_s=hold if spec.hold else None, angle_trace_deg=traces, primary=primary,
        rep_spans_s=spans, rep_sides=sides, hold_span_s=(hold_spans[0][0], hold_spans[-1][1]) if hold_spans else None,
        hold_spans_s=hold_spans, jitter_span_s=jitter_span,
        pause_span_s=pause_span, main_slot=main_slot, progress=np.maximum(q_l, q_r),
    )


def _primary_curve(spec: _Spec, mode: str, depth: float, who: str, primary: str):
    """Primary angle as a function of progress q for the moving side: (q grid, angle grid)."""
    qs = np.linspace(0.0, 1.0, 1001)
    zero = np.zeros_like(qs)
    q_l = qs if who in ("both", "left") else zero
    q_r = qs if who in ("both", "right") else zero
    return qs, _angle_traces(_skeleton(spec.pose(q_l, q_r, depth, mode)))[primary]


def _jitter_progress(spec, mode, depth, who, at_deg, primary, tau, dur, rng) -> np.ndarray:
    """Progress q over a jitter segment: ramp to `at_deg`, hover ±3°, ramp back."""
    qs, ang = _primary_curve(spec, mode, depth, who, primary)
    steps = np.diff(ang)
    _check(bool(np.all(steps <= 1e-9) or np.all(steps >= -1e-9)),
           f"the primary angle {primary} is not monotonic in this movement; jitter_at_deg is unsupported")
    lo, hi = float(ang.min()), float(ang.max())
    _check(lo <= at_deg <= hi, f"jitter_at_deg={at_deg} is outside the movement's range of {primary} "
                               f"({lo:.1f}..{hi:.1f} deg at depth {depth})")
    xp, fp = (ang, qs) if ang[-1] > ang[0] else (ang[::-1], qs[::-1])
    to_q = lambda a: np.interp(a, xp, fp)  # noqa: E731
    q_at = float(to_q(at_deg))
    hover = dur - 2 * _JITTER_RAMP_S
    # smooth wander: three sinusoids of random phase, 0.6-1.6 Hz, plus white noise, tapered at both ends
    freqs, phases = rng.uniform(0.6, 1.6, 3), rng.uniform(0, 2 * np.pi, 3)
    grid = np.linspace(0, hover, 2000)
    wander = sum(np.sin(2 * np.pi * f * grid + ph) for f, ph in zip(freqs, phases))
    wander = wander / np.max(np.abs(wander))
    h = tau - _JITTER_RAMP_S
    dev = 0.8 * np.interp(h, grid, wander) + 0.2 * np.clip(rng.normal(0, 1, tau.shape), -1, 1)
    taper = np.clip(np.minimum(h, hover - h) / 0.3, 0, 1)
    hover_q = to_q(at_deg + _JITTER_AMPLITUDE_DEG * np.clip(dev, -1, 1) * taper)
    ramp_in = q_at * (1 - np.cos(np.pi * np.clip(tau / _JITTER_RAMP_S, 0, 1))) / 2
    ramp_out = q_at * (1 + np.cos(np.pi * np.clip((tau - _JITTER_RAMP_S - hover) / _JITTER_RAMP_S, 0, 1))) / 2
    return np.where(tau < _JITTER_RAMP_S, ramp_in, np.where(h < hover, hover_q, ramp_out))


def _visibility(view: str, side: str, n: int, rng: np.random.Generator):
    """Visibility and presence (T, 33): the far side of a side view is poorly seen, as MediaPipe says."""
    base = np.empty(N_LANDMARKS)
    for k, name in enumerate(LANDMARK_NAMES):
        far = view != "front" and (("left" in name and side == "right") or ("right" in name and side == "left"))
        if not far:
            base[k] = rng.uniform(0.93, 0.99)
        else:
            base[k] = rng.uniform(0.3, 0.5) if view == "side" else rng.uniform(0.6, 0.8)
    vis = np.clip(base + rng.normal(0, 0.01, (n, N_LANDMARKS)), 0, 1)
    pres = np.clip(rng.uniform(0.97, 0.999, N_LANDMARKS) + rng.normal(0, 0.002, (n, N_LANDMARKS)), 0, 1)
    return vis, pres


def _walking_pose(t_s: np.ndarray) -> _Pose:
    n = len(t_s)
    p = _Pose(n)
    w = 2 * np.pi * 0.9 * t_s  # stride frequency 0.9 Hz
    for side, s in _SIDES:
        ph = w if s > 0 else w + np.pi
        _set_legs(p, side, hip=5 + 22 * np.sin(ph), knee=8 + 45 * np.clip(np.cos(ph + 0.3), 0, None) ** 2,
                  ankle=-2 + 8 * np.sin(ph - 0.8))
        _set_arms(p, side, elev=-18 * np.sin(ph), plane=90.0, elbow=20.0)
    return p


def _second_person(kind, n, t_s, main_img, px_per_m, w_px, h_px, rng):
    """Image, visibility, presence and world arrays of a second person, and the frames they are seen in."""
    if kind == "still":
        p = _Pose(n)
        sway = 1.5 * np.sin(2 * np.pi * 0.2 * t_s + rng.uniform(0, 6.28))
        p.trunk = sway
        for side, _ in _SIDES:
            _set_legs(p, side, hip=2 - sway, abd=4.0)
        view, side, scale, x_px = ("front", "left", 0.85, None)
    else:
        p = _walking_pose(t_s)
        view, side = "side", "right"  # walks towards image-right
        scale = 1.1 if kind == "crossing" else 0.75
    body = _skeleton(p)
    spec = _Spec(_pose_squat, "knee", "feet")
    placed = _place(body, spec, np.zeros(n), np.zeros(n), "both", np.zeros(n))
    cam = _view_matrix(view, side)
    cam_pts = placed @ cam.T
    ppm = px_per_m * scale
    main_feet = float(np.nanmax(main_img[..., 1]))
    ground_px = main_feet + (0.06 * h_px if kind == "crossing" else -0.05 * h_px)
    if kind == "still":
        main_cx = float(np.nanmean(main_img[..., 0]))
        x_px = np.full(n, main_cx + (0.3 * w_px if main_cx < w_px / 2 + 1 else -0.3 * w_px))
    else:
        speed_px = 1.3 * ppm  # 1.3 m/s
        cross_s = (1.3 * w_px) / speed_px
        start = max(0.0, t_s[-1] / 2 - cross_s / 2)
        x_px = -0.15 * w_px + speed_px * (t_s - start)
    img = np.empty(cam_pts.shape[:2] + (2,))
    img[..., 0] = x_px[:, None] + ppm * cam_pts[..., 0]
    img[..., 1] = ground_px + ppm * cam_pts[..., 1]
    mid_hip = (body[:, _i("left_hip")] + body[:, _i("right_hip")]) / 2
    world = (body - mid_hip[:, None, :]) @ cam.T
    vis, pres = _visibility(view, side, n, rng)
    vis = vis * 0.95
    hip_x = img[:, _i("left_hip"), 0]
    present = (hip_x > 0) & (hip_x < w_px)
    return (img, vis, pres, world), present


def _slot_order(kind, n, people, present, t_s, rng) -> np.ndarray:
    """(T, people): which person is reported first, second... in each frame (a detector's order is unstable)."""
    if kind is None:
        return np.zeros((n, 1), np.int64)
    if kind == "still":
        swapped = np.zeros(n, bool)
        t, state = 0, False
        while t < n:
            run = int(rng.integers(15, 120))
            swapped[t:t + run] = state
            state = bool(rng.random() < 0.4)
            t += run
    else:
        hips = [xy[:, _i("left_hip"), 0] for xy, *_ in people]
        swapped = hips[0] > hips[1]
    return np.where(swapped[:, None], np.array([[1, 0]]), np.array([[0, 1]]))


# --------------------------------------------------------------------------------------------------------
# Several people in one picture
# --------------------------------------------------------------------------------------------------------


@dataclass
class GroupScene:
    """Several synthetic people in one recording (see `group_scene`)."""

    series: KeypointSeries
    clips: list[SyntheticClip]  #: each person's own clip (their truth: reps, turning points...)
    slots: np.ndarray  #: (T, people) slot of each person per frame, -1 when not detected


def group_scene(clips: Sequence[SyntheticClip], *, x_frac: Sequence[float] | None = None,
                scale: Sequence[float] | None = None, absent: Sequence[tuple[int, float, float]] = (),
                seed: int = 0) -> GroupScene:
    """Put the people of several clips (same size and frame rate) side by side in one recording.

    Person k is scaled by `scale[k]` about the middle of the picture (feet kept on the same floor line) and
    moved so that their middle is at `x_frac[k]` of the frame width (default: spread evenly). `absent`
    lists (person, start_s, end_s) spans where that person is not detected (they left the picture; their
    movement goes on, so only what they do in view can be counted). The slot order changes at random now
    and then, like a detector's; `slots` says where everyone is. The recording is as long as the shortest
    clip.
    """
    _check(len(clips) >= 1, "group_scene needs at least one clip")
    n = min(len(c.series) for c in clips)
    m = len(clips)
    w_px, h_px = clips[0].series.meta.width_px, clips[0].series.meta.height_px
    x_frac = list(x_frac) if x_frac is not None else [(k + 1) / (m + 1) for k in range(m)]
    scale = list(scale) if scale is not None else [min(1.0, 1.6 / m)] * m
    _check(len(x_frac) == m and len(scale) == m, "x_frac and scale need one value per clip")
    rng = np.random.default_rng(seed)
    t_s = clips[0].series.timestamps_s[:n]
    xy_p, vis_p, pres_p, world_p, shown = [], [], [], [], []
    for k, c in enumerate(clips):
        s = c.series
        rows = np.arange(n)
        slot = np.maximum(c.main_slot[:n], 0) if c.main_slot is not None else np.zeros(n, np.int64)
        here = (c.main_slot[:n] >= 0) if c.main_slot is not None else s.n_people[:n] > 0
        xy = s.image_xy_px[rows, slot].astype(np.float64)
        feet = float(np.nanmax(xy[..., 1]))
        xy = (xy - np.array([w_px / 2, feet])) * scale[k] + np.array([x_frac[k] * w_px, feet])
        for who, a, b in absent:
            if who == k:
                here &= ~((t_s >= a - 1e-9) & (t_s < b - 1e-9))
        xy_p.append(xy)
        vis_p.append(s.visibility[rows, slot])
        pres_p.append(s.presence[rows, slot])
        world_p.append(s.world_xyz_m[rows, slot])
        shown.append(here)
    shown_a = np.stack(shown, axis=1)  # (T, m)
    # detector order: a random permutation, kept for runs of 0.5-4 s
    order = np.empty((n, m), np.int64)
    t = 0
    while t < n:
        run = int(rng.integers(15, 120))
        order[t:t + run] = rng.permutation(m)
        t += run
    xy_out = np.full((n, m, N_LANDMARKS, 2), np.nan, np.float32)
    world_out = np.full((n, m, N_LANDMARKS, 3), np.nan, np.float32)
    vis_out = np.zeros((n, m, N_LANDMARKS), np.float32)
    pres_out = np.zeros((n, m, N_LANDMARKS), np.float32)
    slots = np.full((n, m), -1, np.int64)
    for i in range(n):
        p = 0
        for who in order[i]:
            if shown_a[i, who]:
                xy_out[i, p], vis_out[i, p] = xy_p[who][i], vis_p[who][i]
                pres_out[i, p], world_out[i, p] = pres_p[who][i], world_p[who][i]
                slots[i, who] = p
                p += 1
    meta = RecordingMeta(source="synthetic:group", fps=clips[0].series.meta.fps, width_px=w_px, height_px=h_px,
                         num_poses=m, extra={"synthetic": {"group": [c.series.meta.extra.get("synthetic")
                                                                    for c in clips],
                                                           "x_frac": x_frac, "scale": scale,
                                                           "absent": [list(a) for a in absent], "seed": seed}})
    series = KeypointSeries(
        timestamps_s=t_s.astype(np.float64), frame_index=np.arange(n, dtype=np.int64),
        n_people=shown_a.sum(axis=1).astype(np.int16), image_xy_px=xy_out, visibility=vis_out,
        presence=pres_out, world_xyz_m=world_out, meta=meta)
    return GroupScene(series, list(clips), slots)
