"""Does a low visibility mean a large error? Keypoint error binned by the model's own visibility.

Exercise definitions gate measures on `min_visibility` (a landmark seen less than that is "not
measurable"). That rests on visibility telling how far a landmark may be from the truth. This table shows
it on human-labelled keypoints: for each visibility bin, how many keypoints, the share that is right (by the
sample's own yardstick: COCO keypoint similarity ≥ 0.5, or MPII within half the head segment) and the median
pixel error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Bin edges, [0, 1]: they fall on the `min_visibility` values the exercise library uses (0.05, 0.2, 0.5).
VISIBILITY_BINS: tuple[float, ...] = (0.0, 0.05, 0.2, 0.5, 0.8, 0.95, 1.0)


@dataclass(frozen=True)
class CalibrationRow:
    """Keypoints whose visibility lies in [low, high) (the last bin includes 1.0)."""

    low: float
    high: float
    n: int
    right_share: float | None  #: share judged right by the sample's yardstick (None when n = 0)
    median_error_px: float | None
    hidden_share: float | None  #: share labelled as hidden by the annotator (COCO v=1); None where unknown

    def to_dict(self) -> dict:
        return {"visibility": f"{self.low:g}-{self.high:g}", "n": self.n, "right_share": self.right_share,
                "median_error_px": self.median_error_px, "labelled_hidden_share": self.hidden_share}


def calibration_table(visibility: np.ndarray, error_px: np.ndarray, right: np.ndarray,
                      hidden: np.ndarray | None = None,
                      bins: tuple[float, ...] = VISIBILITY_BINS) -> list[CalibrationRow]:
    """Keypoints grouped by the model's visibility.

    visibility (N,) in [0, 1]; error_px (N,) pixels; right (N,) bool by the sample's yardstick;
    hidden (N,) bool where the labels say the keypoint was hidden (None when the labels do not say).
    """
    visibility, error_px, right = (np.asarray(a) for a in (visibility, error_px, right))
    if not (visibility.shape == error_px.shape == right.shape):
        raise ValueError("visibility, error_px and right must have the same shape")
    rows = []
    for i, (low, high) in enumerate(zip(bins[:-1], bins[1:])):
        last = i == len(bins) - 2
        sel = (visibility >= low) & ((visibility <= high) if last else (visibility < high))
        n = int(sel.sum())
        rows.append(CalibrationRow(
            low, high, n,
            round(float(right[sel].mean()), 3) if n else None,
            round(float(np.median(error_px[sel])), 1) if n else None,
            round(float(np.asarray(hidden)[sel].mean()), 3) if n and hidden is not None else None))
    return rows
