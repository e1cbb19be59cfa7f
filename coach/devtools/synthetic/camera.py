"""The fixed orthographic camera: the three views, how big the person is, and what MediaPipe would see.

`view_matrix` turns body coordinates (H, V, L) into camera axes (image x right, image y down, depth away from
the camera); `visibility_and_presence` gives the per-landmark confidences a pose model reports for a view.
"""

from __future__ import annotations

import math

import numpy as np

from coach.pose.landmarks import LANDMARK_NAMES, N_LANDMARKS
from coach.devtools.synthetic.skeleton import E_H, E_L, E_V

#: Fraction of the frame height the standing person occupies.
PERSON_FRAME_FRACTION = 0.6

#: Camera yaw per view: the direction from the person to the camera, in degrees from the person's front
#: towards the `side` that faces the camera (0 = front, 90 = that side, 45 = oblique).
VIEW_YAW_DEG = {"front": 0.0, "oblique": 45.0, "side": 90.0}


def view_matrix(view: str, side: str) -> np.ndarray:
    """Rows: camera axes (image x right, image y down, depth away from the camera) in the (H, V, L) frame."""
    yaw = math.radians(VIEW_YAW_DEG[view]) * (1.0 if side == "left" else -1.0)
    towards_camera = math.cos(yaw) * E_H + math.sin(yaw) * E_L
    z = -towards_camera
    y = -E_V
    return np.stack([np.cross(z, y), y, z])


def visibility_and_presence(view: str, side: str, n: int, rng: np.random.Generator):
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
