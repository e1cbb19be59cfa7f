"""Keypoint-level perturbations of a recording, to see how much a count depends on accidents of the footage.

The labelled clips are few; the footage a definition will meet differs from them in ways a recording can
imitate without running the pose model again:

- `mirrored`: the scene seen in a mirror — the person faces the other way and their left is the
  camera's right. A definition that is general counts the same (what it picks by side name, or by
  "left first" on a tie, shows up here).
- `decimated`: a camera that delivers fewer frames per second (every k-th frame kept).
- `jittered`: shakier keypoints (Gaussian noise on image and world coordinates).

`eval reps --perturb NAME` runs the labelled clips through one of these (see `PERTURBATIONS`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from coach.pose.landmarks import LANDMARK_NAMES, landmark_index
from coach.pose.recording import KeypointSeries

#: Image-coordinate noise of `jittered`, as a fraction of the frame's longer side (standard deviation).
JITTER_IMAGE_FRACTION = 0.004
#: World-coordinate noise of `jittered`, metres (standard deviation).
JITTER_WORLD_M = 0.01


def _mirror_order() -> np.ndarray:
    """Landmark order that swaps every left_* with its right_* (nose and the like stay)."""
    def swap(name: str) -> str:
        if name.startswith("left_"):
            return "right_" + name[len("left_"):]
        if name.startswith("right_"):
            return "left_" + name[len("right_"):]
        return name

    return np.array([landmark_index(swap(n)) for n in LANDMARK_NAMES])


_MIRROR = _mirror_order()


def mirrored(series: KeypointSeries) -> KeypointSeries:
    """The recording seen in a mirror: x flipped about the frame's centre (image) and the body's origin
    (world), and each left landmark exchanged with its right one. Mirroring twice gives the original."""
    xy = series.image_xy_px[:, :, _MIRROR].copy()
    xy[..., 0] = series.meta.width_px - xy[..., 0]
    world = series.world_xyz_m[:, :, _MIRROR].copy()
    world[..., 0] = -world[..., 0]
    return dataclasses.replace(series, image_xy_px=xy, world_xyz_m=world,
                               visibility=series.visibility[:, :, _MIRROR].copy(),
                               presence=series.presence[:, :, _MIRROR].copy())


def decimated(series: KeypointSeries, keep_every: int = 2) -> KeypointSeries:
    """Every `keep_every`-th frame (from the first), timestamps unchanged; the nominal fps is divided."""
    if keep_every < 1:
        raise ValueError("keep_every must be at least 1")
    idx = np.arange(0, len(series), keep_every)
    meta = dataclasses.replace(series.meta, fps=series.meta.fps / keep_every)
    return KeypointSeries(series.timestamps_s[idx], series.frame_index[idx], series.n_people[idx],
                          series.image_xy_px[idx], series.visibility[idx], series.presence[idx],
                          series.world_xyz_m[idx], meta)


def jittered(series: KeypointSeries, seed: int = 0) -> KeypointSeries:
    """Gaussian noise on every keypoint: `JITTER_IMAGE_FRACTION` of the frame's longer side in the image,
    `JITTER_WORLD_M` in the world. Reproducible for a given `seed`."""
    rng = np.random.default_rng(seed)
    scale = JITTER_IMAGE_FRACTION * max(series.meta.width_px, series.meta.height_px)
    xy = series.image_xy_px + rng.normal(0.0, scale, series.image_xy_px.shape).astype(series.image_xy_px.dtype)
    world = series.world_xyz_m + rng.normal(0.0, JITTER_WORLD_M, series.world_xyz_m.shape).astype(
        series.world_xyz_m.dtype)
    return dataclasses.replace(series, image_xy_px=xy, world_xyz_m=world)


#: Name (for `eval reps --perturb`) → what it does to a recording.
PERTURBATIONS = {
    "mirror": mirrored,
    "half-fps": decimated,
    "jitter": jittered,
}
