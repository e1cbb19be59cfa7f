"""Closed chains: poses whose planted points must really stay put, solved by two-link inverse kinematics.

Hands or forearms on the floor (push-up, plank: `prone_chain`, `prone_hands`), feet flat in crook lying
(crunch, sit-up: `crook_lying_legs`), and the helpers the glute bridge uses directly (`two_link`,
`sagittal_angle`, `wrap_deg`). All 2-D, in the sagittal H-V plane.
"""

from __future__ import annotations

import math

import numpy as np

from coach.pose.landmarks import landmark_index as _i
from coach.devtools.synthetic.skeleton import (
    FOREARM_M,
    SHANK_M,
    SIDES,
    THIGH_M,
    TRUNK_M,
    UPPER_ARM_M,
    Pose,
    sagittal_dir,
    set_legs,
    skeleton_from_pose,
)

# --------------------------------------------------------------------------------------------------------
# Small geometry helpers for closed chains (2-D, in the sagittal H-V plane)
# --------------------------------------------------------------------------------------------------------


def sagittal_angle(v: np.ndarray) -> np.ndarray:
    """Sagittal angle (from up, towards H) of 2-D vectors (..., 2) = (H, V), degrees."""
    return np.degrees(np.arctan2(v[..., 0], v[..., 1]))


def wrap_deg(a: np.ndarray) -> np.ndarray:
    return (a + 180.0) % 360.0 - 180.0


def two_link(root: np.ndarray, target: np.ndarray, l1: float, l2: float, bend: float) -> np.ndarray:
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


def crook_lying_legs() -> tuple[float, float, float]:
    """Sagittal angles (thigh, shank, foot) of crook lying: shoulders at 0, hips at (0.5, 0), ankles at
    (1.0, 0), knees up, feet flat. Used by the glute bridge, the crunch and the sit-up."""
    hip, ankle = np.array([[TRUNK_M, 0.0]]), np.array([[2 * TRUNK_M, 0.0]])
    knee = two_link(hip, ankle, THIGH_M, SHANK_M, bend=+1.0)
    return float(sagittal_angle(knee - hip)[0]), float(sagittal_angle(ankle - knee)[0]), 90.0


def prone_chain(hip_flex: np.ndarray, elbow_deg: np.ndarray, wrist_hv: np.ndarray, ankle: float):
    """Trunk inclination and upper-arm elevation for a prone body pivoting on the toes (at the origin) with
    the hands at `wrist_hv`, given hip flexion and the elbow's inner angle (all (T,))."""
    n = len(hip_flex)
    ref = Pose(n)
    ref.trunk = np.full(n, 90.0)
    for side, _ in SIDES:
        set_legs(ref, side, hip=hip_flex, knee=0.0, ankle=ankle, abd=0.0)
    pts = skeleton_from_pose(ref)
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
    score = np.where(heights > 0, np.abs(wrap_deg(np.degrees(cand))), 1e9)
    phi = cand[np.arange(n), np.argmin(score, axis=-1)]
    trunk = 90.0 - np.degrees(phi)
    shoulder = v0 * np.exp(1j * phi)
    s_hv = np.stack([shoulder.real, shoulder.imag], -1)
    elbow = two_link(s_hv, np.broadcast_to(wrist_hv, s_hv.shape), UPPER_ARM_M, FOREARM_M, bend=-1.0)
    a = elbow - s_hv  # upper arm
    up, fwd = sagittal_dir(trunk)[:, :2], sagittal_dir(trunk + 90.0)[:, :2]
    elev = np.degrees(np.arctan2(np.sum(a * fwd, -1), -np.sum(a * up, -1)))
    return trunk, elev, s_hv


def prone_hands(hip_flex: float, elbow_deg: float, ankle: float, forearm_flat: bool) -> np.ndarray:
    """Where the wrists are planted: straight below the shoulders at the top of a push-up (arms at
    `elbow_deg`), or, for a forearm plank, elbows below the shoulders and forearms flat towards the head."""
    n = 1
    ref = Pose(n)
    ref.trunk = np.full(n, 90.0)
    for side, _ in SIDES:
        set_legs(ref, side, hip=hip_flex, knee=0.0, ankle=ankle, abd=0.0)
    pts = skeleton_from_pose(ref)
    toe = (_hv(pts, "left_foot_index") + _hv(pts, "right_foot_index")) / 2
    sh = (_hv(pts, "left_shoulder") + _hv(pts, "right_shoulder")) / 2
    v0 = complex(*(sh - toe)[0])
    wrist_v = 0.04
    drop = UPPER_ARM_M if forearm_flat else math.sqrt(
        UPPER_ARM_M ** 2 + FOREARM_M ** 2 - 2 * UPPER_ARM_M * FOREARM_M * math.cos(math.radians(elbow_deg)))
    phi = math.asin((drop + wrist_v) / abs(v0)) - np.angle(v0)
    s = v0 * complex(math.cos(phi), math.sin(phi))
    return np.array([s.real + (FOREARM_M if forearm_flat else 0.0), wrist_v])
