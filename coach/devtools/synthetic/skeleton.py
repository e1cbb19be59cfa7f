"""The synthetic body: segment lengths, joint angles per frame (`Pose`) and the 33 landmarks they give.

`skeleton_from_pose` poses the body model by forward kinematics; `angle_traces` measures the true 3-D joint
angles of a skeleton. Everything is in metres in the body's (H, V, L) frame: H horizontal, the way a standing
person faces; V up; L the person's left. The origin is between the hips.
"""

from __future__ import annotations

import numpy as np

from coach.pose.landmarks import N_LANDMARKS, landmark_index

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

SIDES = (("left", 1.0), ("right", -1.0))
E_H = np.array([1.0, 0.0, 0.0])  # horizontal, the way a standing person faces
E_V = np.array([0.0, 1.0, 0.0])  # up
E_L = np.array([0.0, 0.0, 1.0])  # the person's left (when standing facing E_H)


# --------------------------------------------------------------------------------------------------------
# Pose parameters and forward kinematics
# --------------------------------------------------------------------------------------------------------


class Pose:
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
        self.leg = {s: {"hip": z + 2.0, "abd": z + 2.0, "knee": z + 4.0, "ankle": z - 2.0} for s, _ in SIDES}
        self.arm = {s: {"elev": z + 6.0, "plane": z + 0.0, "elbow": z + 12.0} for s, _ in SIDES}
        self.bend = {s: "front" for s, _ in SIDES}


def sagittal_dir(psi_deg: np.ndarray) -> np.ndarray:
    """Unit vector in the sagittal plane at angle psi from up, towards the front (H). Shape (T, 3)."""
    r = np.radians(psi_deg)
    return np.stack([np.sin(r), np.cos(r), np.zeros_like(r)], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1, keepdims=True)


def skeleton_from_pose(p: Pose) -> np.ndarray:
    """All 33 landmarks, (T, 33, 3), metres in the (H, V, L) frame, origin at mid-hip."""
    n = p.n
    out = np.zeros((n, N_LANDMARKS, 3))
    put = lambda name, v: out.__setitem__((slice(None), landmark_index(name)), v)  # noqa: E731
    up = sagittal_dir(p.trunk)  # body up
    fwd = sagittal_dir(p.trunk + 90.0)  # body front (chest)
    lat = np.broadcast_to(E_L, (n, 3))
    mid_sh = TRUNK_M * up
    for side, s in SIDES:
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
        knee = hip + THIGH_M * abduct(sagittal_dir(psi_th))
        ankle = knee + SHANK_M * abduct(sagittal_dir(psi_sh))
        f, nrm = abduct(sagittal_dir(psi_ft)), abduct(sagittal_dir(psi_ft - 90.0))
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

    h_up, h_fwd = sagittal_dir(p.trunk + p.head), sagittal_dir(p.trunk + p.head + 90.0)
    head = mid_sh + 0.17 * h_up + 0.01 * h_fwd
    put("nose", head + 0.10 * h_fwd - 0.01 * h_up)
    for side, s in SIDES:
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


def angle_traces(pts: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for side, _ in SIDES:
        out[f"{side}_knee"] = _angle(pts, f"{side}_hip", f"{side}_knee", f"{side}_ankle")
        out[f"{side}_hip"] = _angle(pts, f"{side}_shoulder", f"{side}_hip", f"{side}_knee")
        out[f"{side}_ankle"] = _angle(pts, f"{side}_knee", f"{side}_ankle", f"{side}_foot_index")
        out[f"{side}_elbow"] = _angle(pts, f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist")
        out[f"{side}_shoulder"] = _angle(pts, f"{side}_elbow", f"{side}_shoulder", f"{side}_hip")
    trunk = (pts[:, _i("left_shoulder")] + pts[:, _i("right_shoulder")]) / 2 - (
        pts[:, _i("left_hip")] + pts[:, _i("right_hip")]) / 2
    out["trunk_incl"] = np.degrees(np.arctan2(np.linalg.norm(trunk[:, [0, 2]], axis=-1), trunk[:, 1]))
    return out


def set_legs(p: Pose, side: str, **vals: np.ndarray | float) -> None:
    for k, v in vals.items():
        p.leg[side][k] = np.broadcast_to(np.asarray(v, float), (p.n,)).copy()


def set_arms(p: Pose, side: str, **vals: np.ndarray | float) -> None:
    for k, v in vals.items():
        p.arm[side][k] = np.broadcast_to(np.asarray(v, float), (p.n,)).copy()
