"""A second person in the picture (a still bystander or someone walking across) and the detector's slot order."""

from __future__ import annotations

import numpy as np

from coach.pose.landmarks import landmark_index as _i
from coach.devtools.synthetic.camera import view_matrix, visibility_and_presence
from coach.devtools.synthetic.exercise_poses import SPECS, place_on_ground
from coach.devtools.synthetic.skeleton import SIDES, Pose, set_arms, set_legs, skeleton_from_pose


def _walking_pose(t_s: np.ndarray) -> Pose:
    n = len(t_s)
    p = Pose(n)
    w = 2 * np.pi * 0.9 * t_s  # stride frequency 0.9 Hz
    for side, s in SIDES:
        ph = w if s > 0 else w + np.pi
        set_legs(p, side, hip=5 + 22 * np.sin(ph), knee=8 + 45 * np.clip(np.cos(ph + 0.3), 0, None) ** 2,
                 ankle=-2 + 8 * np.sin(ph - 0.8))
        set_arms(p, side, elev=-18 * np.sin(ph), plane=90.0, elbow=20.0)
    return p


def bystander(kind, n, t_s, main_img, px_per_m, w_px, h_px, rng):
    """Image, visibility, presence and world arrays of a second person, and the frames they are seen in."""
    if kind == "still":
        p = Pose(n)
        sway = 1.5 * np.sin(2 * np.pi * 0.2 * t_s + rng.uniform(0, 6.28))
        p.trunk = sway
        for side, _ in SIDES:
            set_legs(p, side, hip=2 - sway, abd=4.0)
        view, side, scale, x_px = ("front", "left", 0.85, None)
    else:
        p = _walking_pose(t_s)
        view, side = "side", "right"  # walks towards image-right
        scale = 1.1 if kind == "crossing" else 0.75
    body = skeleton_from_pose(p)
    placed = place_on_ground(body, SPECS["squat"], np.zeros(n), np.zeros(n), "both", np.zeros(n))  # on both feet
    cam = view_matrix(view, side)
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
    vis, pres = visibility_and_presence(view, side, n, rng)
    vis = vis * 0.95
    hip_x = img[:, _i("left_hip"), 0]
    present = (hip_x > 0) & (hip_x < w_px)
    return (img, vis, pres, world), present


def slot_order(kind, n, people, present, t_s, rng) -> np.ndarray:
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
