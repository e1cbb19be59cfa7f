"""Pose smoke check: detected keypoints against COCO-17 keypoints in a CSV, on still images.

A quick check on a few stills (e.g. `tf_examples_pose_truth`, whose labels were made by another model, not
by people). Accuracy on human labels is measured by `pose_coco` (COCO keypoint AP) and `pose_mpii` (PCKh).

Truth file format (CSV): one row per image, columns `<coco_name>_x`, `<coco_name>_y` in pixels for the
COCO-17 keypoints (e.g. `left_knee_x`). An optional `file` (or `image`) column names the image; without it,
row i belongs to the i-th image of the folder in name order. An empty cell means "not labelled".
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.errors import CoachError
from coach.pose.engine import people_arrays
from coach.pose.landmarks import COCO17_TO_LANDMARK, landmark_index
from coach.app.sources import IMAGE_SUFFIXES


@dataclass(frozen=True)
class KeypointError:
    """Pixel error of one labelled keypoint in one image (NaN when the model found nobody)."""

    image: str
    keypoint: str  #: COCO-17 name
    truth_xy_px: tuple[float, float]
    detected_xy_px: tuple[float, float]
    error_px: float
    visibility: float = float("nan")  #: the model's own visibility of the detected keypoint, [0, 1]


@dataclass(frozen=True)
class PoseEvalResult:
    errors: list[KeypointError]
    threshold_px: float

    def summary(self) -> dict:
        """max/mean pixel error, PCK (share within `threshold_px`; a missed person counts as a miss)."""
        e = np.array([k.error_px for k in self.errors], float)
        found = e[np.isfinite(e)]
        return {
            "n_keypoints": int(e.size),
            "n_missed": int(e.size - found.size),
            "max_error_px": float(np.max(found)) if found.size and found.size == e.size else float("inf")
            if e.size else float("nan"),
            "mean_error_px": float(np.mean(found)) if found.size else float("nan"),
            "pck": float(np.mean(np.where(np.isfinite(e), e, np.inf) <= self.threshold_px)) if e.size else 0.0,
            "threshold_px": self.threshold_px,
        }

    def beyond_threshold(self) -> list[KeypointError]:
        """The keypoints farther than `threshold_px` from their label (or not found), worst first."""
        bad = [k for k in self.errors if not k.error_px <= self.threshold_px]
        return sorted(bad, key=lambda k: -k.error_px if np.isfinite(k.error_px) else -np.inf)

    def per_keypoint(self) -> dict[str, dict]:
        """Mean and max error per COCO keypoint name, over images."""
        out: dict[str, dict] = {}
        for name in COCO17_TO_LANDMARK:
            e = np.array([k.error_px for k in self.errors if k.keypoint == name], float)
            if e.size:
                out[name] = {"mean_error_px": float(np.mean(e)), "max_error_px": float(np.max(e)), "n": int(e.size)}
        return out


def read_truth(csv_path: Path, images_dir: Path) -> list[tuple[Path, dict[str, tuple[float, float]]]]:
    """Pair each truth row with its image; returns [(image path, {coco name: (x, y)})]."""
    if not csv_path.is_file():
        raise CoachError(f"Truth file not found: {csv_path}")
    if not images_dir.is_dir():
        raise CoachError(f"Image folder not found: {images_dir}")
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise CoachError(f"{csv_path} has no rows")
    images = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    pairs = []
    for i, row in enumerate(rows):
        name = row.get("file") or row.get("image")
        if name:
            image = images_dir / name
        elif i < len(images):
            image = images[i]
        else:
            raise CoachError(f"{csv_path} row {i + 2} has no image: {images_dir} holds only {len(images)}")
        points = {}
        for coco in COCO17_TO_LANDMARK:
            x, y = row.get(f"{coco}_x", ""), row.get(f"{coco}_y", "")
            if x not in ("", None) and y not in ("", None):
                try:
                    points[coco] = (float(x), float(y))
                except ValueError:
                    raise CoachError(f"{csv_path} row {i + 2}: {coco} is not a number ({x!r}, {y!r})") from None
        if not points:
            raise CoachError(f"{csv_path} row {i + 2} has no <keypoint>_x/_y columns with values")
        pairs.append((image, points))
    return pairs


def evaluate_pose(engine, pairs, threshold_px: float = 21.0) -> PoseEvalResult:
    """Detect the person in each image (an image-mode `PoseEngine`) and measure the error per keypoint.

    When the model finds several people, the one closest to the labelled keypoints is scored.
    """
    from coach.app.sources import ImageSource

    errors: list[KeypointError] = []
    for image_path, truth in pairs:
        with ImageSource(image_path) as src:
            frame = next(iter(src))
        people = people_arrays(engine.detect(frame.image_bgr))
        names = list(truth)
        t = np.array([truth[n] for n in names], float)
        idx = [landmark_index(COCO17_TO_LANDMARK[n]) for n in names]
        best = None
        for xy, vis in zip(people.xy_px, people.visibility):
            d = np.linalg.norm(xy[idx] - t, axis=1)
            if best is None or np.nanmean(d) < np.nanmean(best[1]):
                best = (xy[idx], d, vis[idx])
        for j, n in enumerate(names):
            det = tuple(best[0][j]) if best else (float("nan"), float("nan"))
            err = float(best[1][j]) if best else float("nan")
            vis = float(best[2][j]) if best else float("nan")
            errors.append(KeypointError(image_path.name, n, tuple(t[j]), det, err, vis))
    return PoseEvalResult(errors, threshold_px)
