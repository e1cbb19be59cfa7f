"""Camera cuts in the picture: edited videos jump between camera angles, and handheld phones zoom from a
close-up to a wide shot, from one frame to the next. The pose model's first fits after such a jump are
poor, and a range learned before it no longer applies, so counting needs to know where they are.

A cut is a sudden change of the whole picture between consecutive frames: on a 64 × 36 thumbnail, the
colour histogram (hue × saturation × value, 8 × 4 × 4 bins) moves by a total variation of at least
`HIST_CUT` together with a mean grey-level change of at least `GREY_WITH_HIST`, or the grey levels alone
change by `GREY_CUT` (a cut between two shots of the same room). A person moving, even fast and close to the
camera, changes a small part of the picture; lighting flicker shifts the histogram without the grey levels.
About 0.1 ms a frame.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Total variation between consecutive colour histograms (0-1) that marks a cut, with...
HIST_CUT = 0.25
#: ...at least this mean absolute grey-level change (fraction of the full scale).
GREY_WITH_HIST = 0.05
#: A mean absolute grey-level change (fraction of the full scale) that marks a cut on its own.
GREY_CUT = 0.12
_THUMB = (64, 36)


class CutDetector:
    """`update(image_bgr)` per frame of one stream -> True when the picture cut since the previous frame."""

    __slots__ = ("_prev",)

    def __init__(self) -> None:
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    @staticmethod
    def features(image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(normalised HSV histogram (128,), grey thumbnail (36, 64) in 0-1) of one BGR image."""
        small = cv2.resize(image_bgr, _THUMB, interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
        hist /= max(float(hist.sum()), 1.0)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
        return hist, grey

    def update(self, image_bgr: np.ndarray) -> bool:
        """True when `image_bgr` (H, W, 3 uint8) is a cut from the previous image given."""
        hist, grey = self.features(image_bgr)
        prev, self._prev = self._prev, (hist, grey)
        if prev is None or prev[1].shape != grey.shape:
            return False
        moved = 0.5 * float(np.abs(hist - prev[0]).sum())
        grey_change = float(np.mean(np.abs(grey - prev[1])))
        return (moved >= HIST_CUT and grey_change >= GREY_WITH_HIST) or grey_change >= GREY_CUT
