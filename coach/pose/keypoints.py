"""Keypoints: the common currency between the pose engine and everything after it.

`Keypoints` is one person in one frame; `PoseFrame` is one frame with everyone found in it (possibly
nobody, which is a valid frame, not an error). Coordinates:

- image coordinates in pixels, origin top-left, x right, y down;
- world coordinates in metres, origin between the hips (MediaPipe's world landmarks), y down;
- visibility and presence in [0, 1] as reported by the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach.pose.landmarks import N_LANDMARKS, landmark_index


@dataclass(frozen=True)
class Keypoints:
    """One person's 33 landmarks in one frame.

    Arrays are indexed in MediaPipe's landmark order; use `xy(name)` etc. to read by name.
    """

    image_xy_px: np.ndarray  #: (33, 2) float, pixels
    visibility: np.ndarray  #: (33,) float in [0, 1]
    presence: np.ndarray  #: (33,) float in [0, 1]
    world_xyz_m: np.ndarray  #: (33, 3) float, metres
    timestamp_s: float  #: source timestamp of the frame, seconds
    frame_index: int  #: index of the frame in its source
    person_index: int = 0  #: slot of this person in the frame (0 = first found)

    def __post_init__(self) -> None:
        if self.image_xy_px.shape != (N_LANDMARKS, 2):
            raise ValueError(f"image_xy_px must be (33, 2), got {self.image_xy_px.shape}")
        if self.world_xyz_m.shape != (N_LANDMARKS, 3):
            raise ValueError(f"world_xyz_m must be (33, 3), got {self.world_xyz_m.shape}")

    def xy(self, name: str) -> np.ndarray:
        """Image position of landmark `name`, pixels, shape (2,)."""
        return self.image_xy_px[landmark_index(name)]

    def world(self, name: str) -> np.ndarray:
        """World position of landmark `name`, metres, shape (3,)."""
        return self.world_xyz_m[landmark_index(name)]

    def vis(self, name: str) -> float:
        """Visibility of landmark `name` in [0, 1]."""
        return float(self.visibility[landmark_index(name)])


@dataclass(frozen=True)
class PoseFrame:
    """Everything the pose engine found in one frame of a source."""

    frame_index: int  #: index of the frame in its source
    timestamp_s: float  #: source timestamp, seconds
    width_px: int  #: frame width, pixels
    height_px: int  #: frame height, pixels
    people: tuple[Keypoints, ...] = field(default_factory=tuple)

    @property
    def nobody(self) -> bool:
        """True when no person was found in this frame."""
        return len(self.people) == 0
