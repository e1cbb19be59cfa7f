"""One pose function per exercise, the table of what each exercise is about (`SPECS`), and placement.

A pose function maps per-side progress q (0 = start position, 1 = turning point / hold pose), the depth and
the limb mode to a `Pose`. Its `Spec` names the joint the movement is about, whether it is a hold, which
limb modes it allows, and what stays on the ground, which `place_on_ground` keeps still.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from coach.pose.landmarks import landmark_index as _i
from coach.devtools.synthetic.closed_chains import (
    crook_lying_legs,
    prone_chain,
    prone_hands,
    sagittal_angle,
    two_link,
    wrap_deg,
)
from coach.devtools.synthetic.skeleton import (
    SHANK_M,
    SIDES,
    THIGH_M,
    TRUNK_M,
    Pose,
    set_arms,
    set_legs,
)

# --------------------------------------------------------------------------------------------------------
# Exercises: each maps per-side progress q (0 = start position, 1 = turning point / hold pose) to a pose
# --------------------------------------------------------------------------------------------------------


def _lerp(a: float, b: float, q: np.ndarray, depth: float) -> np.ndarray:
    return a + (b - a) * depth * q


def _mover_q(q_l: np.ndarray, q_r: np.ndarray) -> np.ndarray:
    return np.maximum(q_l, q_r)


def _pose_squat(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    p = Pose(len(q))
    # turning point: knee 85° (flexion 95), shank 30° forward, trunk 40° forward, feet flat; linear blends
    # of start and turn keep the feet flat because every segment angle is linear in the joint angles.
    p.trunk = _lerp(0, 40, q, depth)
    for side, _ in SIDES:
        set_legs(p, side, hip=_lerp(2, 105, q, depth), knee=_lerp(4, 95, q, depth),
                 ankle=_lerp(-2, -30, q, depth))
        set_arms(p, side, elev=_lerp(6, 80, q, depth), plane=90.0)  # arms forward for balance
    return p


def _pose_deadlift(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    p = Pose(len(q))
    p.trunk = _lerp(0, 75, q, depth)
    for side, _ in SIDES:
        set_legs(p, side, hip=_lerp(2, 90, q, depth), knee=_lerp(4, 25, q, depth),
                 ankle=_lerp(-2, -10, q, depth))
        set_arms(p, side, elev=p.trunk, plane=90.0, elbow=5.0)  # arms hang vertically
    return p


def _pose_sit_to_stand(q_l, q_r, depth, limbs):
    # start seated (knee 90, thigh horizontal, trunk 10° forward); turning point standing. The trunk leans
    # forward an extra 25° mid-movement; hip flexion takes the same amount so the thighs are unaffected.
    q = _mover_q(q_l, q_r)
    p = Pose(len(q))
    bump = 25.0 * np.sin(np.pi * np.clip(q * depth, 0, 1))
    p.trunk = _lerp(10, 0, q, depth) + bump
    for side, _ in SIDES:
        set_legs(p, side, hip=_lerp(100, 2, q, depth) + bump, knee=_lerp(90, 4, q, depth),
                 ankle=_lerp(0, -2, q, depth), abd=4.0)
        set_arms(p, side, elev=_lerp(10, 6, q, depth), plane=60.0, elbow=_lerp(30, 12, q, depth))
    return p


def _pose_wall_sit(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    p = Pose(len(q))
    for side, _ in SIDES:
        set_legs(p, side, hip=_lerp(2, 90, q, depth), knee=_lerp(4, 90, q, depth), ankle=_lerp(-2, 0, q, depth),
                 abd=5.0)
        set_arms(p, side, elev=10.0, plane=20.0, elbow=15.0)
    return p


_LUNGE_FRONT = {"hip": 90.0, "knee": 90.0, "ankle": 0.0}
_LUNGE_REAR = {"hip": -15.0, "knee": 87.0, "ankle": -12.0}  # rear knee a few cm off the floor, on the toes


def _pose_lunge(q_l, q_r, depth, limbs):
    p = Pose(len(q_l))
    for side, other in (("left", q_r), ("right", q_l)):
        own = q_l if side == "left" else q_r
        vals = {}
        for k, start in (("hip", 2.0), ("knee", 4.0), ("ankle", -2.0)):
            vals[k] = (start + (_LUNGE_FRONT[k] - start) * depth * own
                       + (_LUNGE_REAR[k] - start) * depth * other)
        set_legs(p, side, **vals)
        set_arms(p, side, elev=8.0, plane=0.0, elbow=15.0)
    return p


def _pose_curl(q_l, q_r, depth, limbs):
    p = Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        set_arms(p, side, elev=_lerp(4, 14, q, depth), plane=90.0, elbow=_lerp(10, 145, q, depth))
    return p


def _pose_elbow_flexion(q_l, q_r, depth, limbs):
    p = Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        set_arms(p, side, elev=3.0, plane=90.0, elbow=_lerp(5, 140, q, depth))
    return p


def _pose_lateral_raise(q_l, q_r, depth, limbs):
    p = Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        set_arms(p, side, elev=_lerp(10, 90, q, depth), plane=0.0, elbow=12.0)
    return p


def _pose_front_raise(q_l, q_r, depth, limbs):
    p = Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        set_arms(p, side, elev=_lerp(6, 90, q, depth), plane=90.0, elbow=8.0)
    return p


def _pose_shoulder_press(q_l, q_r, depth, limbs):
    p = Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        set_arms(p, side, elev=_lerp(85, 165, q, depth), plane=15.0, elbow=_lerp(95, 10, q, depth))
        p.bend[side] = "up"
    return p


def _pose_jumping_jack(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    p = Pose(len(q))
    p.lift = 2.0 * 0.06 * np.sqrt(np.clip(q * (1 - q), 0, None)) * min(depth, 1.0)  # hop out, hop back in
    for side, _ in SIDES:
        set_legs(p, side, abd=_lerp(2, 20, q, depth), knee=_lerp(4, 8, q, depth))
        set_arms(p, side, elev=_lerp(10, 165, q, depth), plane=0.0, elbow=_lerp(12, 8, q, depth))
    return p


def _pose_calf_raise(q_l, q_r, depth, limbs):
    p = Pose(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        if limbs in ("left", "right") and side != limbs:  # single-leg: the free leg bent behind, off the floor
            set_legs(p, side, hip=10.0, knee=75.0, ankle=20.0)
        else:
            set_legs(p, side, ankle=_lerp(-2, 33, q, depth))
    return p


def _supine(n: int) -> Pose:
    p = Pose(n)
    p.trunk = np.full(n, -90.0)
    for side, _ in SIDES:
        set_legs(p, side, hip=0.0, knee=3.0, ankle=10.0, abd=3.0)
        set_arms(p, side, elev=15.0, plane=0.0, elbow=5.0)
    return p


def _pose_heel_slide(q_l, q_r, depth, limbs):
    # supine, the heel slides towards the buttock along the floor: the ankle stays at hip height (IK)
    p = _supine(len(q_l))
    for side, q in (("left", q_l), ("right", q_r)):
        flex = _lerp(3, 110, q, depth)
        e = np.radians(180.0 - flex)
        d = np.sqrt(THIGH_M ** 2 + SHANK_M ** 2 - 2 * THIGH_M * SHANK_M * np.cos(e))
        gamma = np.degrees(np.arccos((THIGH_M ** 2 + d ** 2 - SHANK_M ** 2) / (2 * THIGH_M * d)))
        set_legs(p, side, hip=gamma, knee=flex)
    return p


def _pose_glute_bridge(q_l, q_r, depth, limbs):
    # shoulders and feet planted; the hips rise as the trunk tilts up by delta (IK for the knees)
    q = _mover_q(q_l, q_r)
    n = len(q)
    p = Pose(n)
    delta = _lerp(0, 24, q, depth)  # top: hips almost in line with shoulders and knees, never past it
    p.trunk = -90.0 - delta
    hip = TRUNK_M * np.stack([np.cos(np.radians(delta)), np.sin(np.radians(delta))], -1)
    ankle = np.broadcast_to([2 * TRUNK_M, 0.0], (n, 2))
    knee = two_link(hip, ankle, THIGH_M, SHANK_M, bend=+1.0)
    psi_th, psi_sh = sagittal_angle(knee - hip), sagittal_angle(ankle - knee)
    for side, _ in SIDES:
        set_legs(p, side, hip=wrap_deg(p.trunk + 180 - psi_th), knee=wrap_deg(psi_sh - psi_th),
                 ankle=wrap_deg(90.0 - psi_sh + 90.0), abd=3.0)
        set_arms(p, side, elev=20.0, plane=0.0, elbow=5.0)
    return p


def _pose_trunk_curl(q_l, q_r, depth, limbs, top_deg):
    q = _mover_q(q_l, q_r)
    p = Pose(len(q))
    psi_th, psi_sh, psi_ft = crook_lying_legs()
    p.trunk = _lerp(-90, -90 + top_deg, q, depth)
    for side, _ in SIDES:
        set_legs(p, side, hip=p.trunk + 180 - psi_th, knee=psi_sh - psi_th, ankle=psi_ft - psi_sh + 90, abd=3.0)
        set_arms(p, side, elev=45.0, plane=90.0, elbow=5.0)  # reaching towards the knees
    return p


def _pose_crunch(q_l, q_r, depth, limbs):
    return _pose_trunk_curl(q_l, q_r, depth, limbs, 30.0)


def _pose_sit_up(q_l, q_r, depth, limbs):
    return _pose_trunk_curl(q_l, q_r, depth, limbs, 80.0)


def _pose_push_up(q_l, q_r, depth, limbs):
    q = _mover_q(q_l, q_r)
    n = len(q)
    p = Pose(n)
    wrist = prone_hands(0.0, 175.0, 10.0, forearm_flat=False)
    elbow_deg = _lerp(175, 85, q, depth)
    trunk, elev, _ = prone_chain(np.zeros(n), elbow_deg, wrist, 10.0)
    p.trunk = trunk
    for side, _ in SIDES:
        set_legs(p, side, hip=0.0, knee=0.0, ankle=10.0, abd=2.0)
        set_arms(p, side, elev=elev, plane=90.0, elbow=180.0 - elbow_deg)
        p.bend[side] = "up"
    return p


def _pose_plank(q_l, q_r, depth, limbs):
    # forearm plank; getting in = the hips rise from the floor (hip extension 35° -> straight line)
    q = _mover_q(q_l, q_r)
    n = len(q)
    p = Pose(n)
    wrist = prone_hands(0.0, 90.0, 10.0, forearm_flat=True)
    hip_flex = _lerp(-35, 0, q, depth)
    elbow_deg = np.full(n, 90.0)
    trunk, elev, _ = prone_chain(hip_flex, elbow_deg, wrist, 10.0)
    p.trunk = trunk
    for side, _ in SIDES:
        set_legs(p, side, hip=hip_flex, knee=0.0, ankle=10.0, abd=2.0)
        set_arms(p, side, elev=elev, plane=90.0, elbow=90.0)
        p.bend[side] = "up"
    return p


@dataclass(frozen=True)
class Spec:
    pose: Callable[..., Pose]
    primary: str  #: joint whose angle the movement is about (without side)
    anchor: str  #: what stays put: feet | lunge | toes | hips | shoulders
    hold: bool = False
    limbs: tuple[str, ...] = ("both",)  #: allowed limb modes, the first is the default ("side" = `side`)


SPECS: dict[str, Spec] = {
    "squat": Spec(_pose_squat, "knee", "feet"),
    "sit_to_stand": Spec(_pose_sit_to_stand, "knee", "feet"),
    "lunge": Spec(_pose_lunge, "knee", "lunge", limbs=("alternate", "left", "right")),
    "deadlift": Spec(_pose_deadlift, "hip", "feet"),
    "bicep_curl": Spec(_pose_curl, "elbow", "feet", limbs=("both", "left", "right", "alternate")),
    "elbow_flexion": Spec(_pose_elbow_flexion, "elbow", "feet", limbs=("side", "left", "right", "both",
                                                                        "alternate")),
    "push_up": Spec(_pose_push_up, "elbow", "toes"),
    "lateral_raise": Spec(_pose_lateral_raise, "shoulder", "feet", limbs=("both", "left", "right", "alternate")),
    "front_raise": Spec(_pose_front_raise, "shoulder", "feet", limbs=("both", "left", "right", "alternate")),
    "shoulder_press": Spec(_pose_shoulder_press, "elbow", "feet", limbs=("both", "left", "right", "alternate")),
    "heel_slide": Spec(_pose_heel_slide, "knee", "hips", limbs=("side", "left", "right", "alternate", "both")),
    "plank": Spec(_pose_plank, "hip", "toes", hold=True),
    "wall_sit": Spec(_pose_wall_sit, "knee", "feet", hold=True),
    "glute_bridge": Spec(_pose_glute_bridge, "hip", "shoulders"),
    "calf_raise": Spec(_pose_calf_raise, "ankle", "feet", limbs=("both", "left", "right")),
    "jumping_jack": Spec(_pose_jumping_jack, "shoulder", "feet"),
    "crunch": Spec(_pose_crunch, "hip", "hips"),
    "sit_up": Spec(_pose_sit_up, "hip", "hips"),
}

#: Exercise ids `synthesize` can generate (the library's ids).
EXERCISES: tuple[str, ...] = tuple(SPECS)


# --------------------------------------------------------------------------------------------------------
# Placement: what touches the ground stays put
# --------------------------------------------------------------------------------------------------------


def place_on_ground(pts: np.ndarray, spec: Spec, q_l: np.ndarray, q_r: np.ndarray, limbs: str, lift: np.ndarray):
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
