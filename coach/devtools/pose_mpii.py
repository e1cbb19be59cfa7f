"""MPII PCKh@0.5: the landmarker's joints against human-labelled MPII single-person annotations.

A joint is right when it lies within half the head segment of its label. These files carry no head boxes,
so the head segment is the labelled upper neck – head top distance (said in every output). The person is
located from the annotation's `center` and `scale` (scale × 200 px = person height), as the MPII
single-person protocol gives it: the people are searched for in a square of 1.25 × that height around the
centre, and the one nearest the centre is scored. Nobody found there makes every joint of that person wrong.

MediaPipe has 12 of MPII's 16 joints (shoulders, elbows, wrists, hips, knees, ankles), mapped by name;
MPII's pelvis, thorax, upper neck and head top have no landmark and are not scored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from coach.devtools.person_finder import FinderSetting, timed_find_people
from coach.errors import CoachError
from coach.pose.engine import PeopleArrays, PoseEngine
from coach.pose.landmarks import landmark_index

#: MPII's 16 joints in the annotation order.
MPII_JOINTS: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
    "left_wrist")
#: MPII joint → MediaPipe landmark, by name (the 12 joints both have).
MPII_TO_LANDMARK: dict[str, str] = {j: j for j in MPII_JOINTS
                                    if j not in ("pelvis", "thorax", "upper_neck", "head_top")}
PCKH_THRESHOLD = 0.5  #: a joint is right within this fraction of the head segment
HEAD_SEGMENT = "upper neck – head top distance of the labels (no head boxes in this file)"
CROP_FACTOR = 1.25  #: the search square's side, in person heights (scale × 200 px)


@dataclass(frozen=True)
class MpiiPerson:
    """One annotated person."""

    image: Path
    joints_px: np.ndarray  #: (16, 2) pixels, MPII order
    labelled: np.ndarray  #: (16,) bool, joints_vis
    center_px: tuple[float, float]
    height_px: float  #: scale × 200


def load_mpii_truth(ann_path: Path, images_dir: Path) -> list[MpiiPerson]:
    """Read an MPII annotation list (`image`, `joints` 16×(x, y), `joints_vis`, `center`, `scale`)."""
    if not ann_path.is_file():
        raise CoachError(f"MPII annotation file not found: {ann_path}")
    if not images_dir.is_dir():
        raise CoachError(f"Image folder not found: {images_dir}")
    try:
        data = json.loads(ann_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CoachError(f"{ann_path} is not JSON ({exc})") from None
    if not isinstance(data, list) or not data:
        raise CoachError(f"{ann_path} is not an MPII annotation list (a JSON list of people)")
    people = []
    for i, item in enumerate(data):
        try:
            joints = np.array(item["joints"], float)
            labelled = np.array(item["joints_vis"], float) > 0
            center = (float(item["center"][0]), float(item["center"][1]))
            height = float(item["scale"]) * 200.0
            image = images_dir / str(item["image"])
        except (KeyError, TypeError, ValueError, IndexError):
            raise CoachError(f"{ann_path} entry {i} needs image, joints, joints_vis, center and scale") from None
        if joints.shape != (16, 2) or labelled.shape != (16,):
            raise CoachError(f"{ann_path} entry {i}: joints must be 16 (x, y) pairs and joints_vis 16 flags")
        if not image.is_file():
            raise CoachError(f"{ann_path} entry {i} names image {item['image']!r}, which is not in {images_dir}")
        people.append(MpiiPerson(image, joints, labelled, center, height))
    return people


@dataclass(frozen=True)
class JointResult:
    image: str
    joint: str  #: MPII joint name (one of MPII_TO_LANDMARK)
    error_px: float  #: inf when nobody was found
    head_px: float  #: the head segment of that person, pixels
    visibility: float  #: the model's visibility (NaN when nobody was found)

    @property
    def right(self) -> bool:
        return bool(self.error_px <= PCKH_THRESHOLD * self.head_px)


@dataclass
class MpiiEvalResult:
    joints: list[JointResult]
    people_found: int
    people_labelled: int
    ms_per_image: float
    setting: FinderSetting

    def per_joint(self) -> list[dict]:
        """PCKh@0.5 and median error per mapped joint."""
        rows = []
        for name in MPII_TO_LANDMARK:
            js = [j for j in self.joints if j.joint == name]
            err = np.array([j.error_px for j in js])
            rows.append({"joint": name, "n": len(js),
                         "pckh_0_5": round(float(np.mean([j.right for j in js])), 3) if js else None,
                         "median_error_px": round(float(np.median(err)), 1) if js else None})
        return rows

    def summary(self) -> dict:
        return {"pckh_0_5": round(float(np.mean([j.right for j in self.joints])), 4) if self.joints else 0.0,
                "joints": len(self.joints), "people_found": self.people_found,
                "people_labelled": self.people_labelled, "head_segment": HEAD_SEGMENT,
                "joints_scored": list(MPII_TO_LANDMARK), "ms_per_image": round(self.ms_per_image, 1),
                "setting": self.setting.name}


def score_person(person: MpiiPerson, candidates: PeopleArrays) -> list[JointResult]:
    """PCKh of one annotated person against the people found near them (whole-image pixels).

    The candidate whose landmark box is centred nearest the annotation's `center` is scored; with no
    candidate every labelled joint is wrong (error inf).
    """
    head = float(np.hypot(*(person.joints_px[MPII_JOINTS.index("upper_neck")]
                            - person.joints_px[MPII_JOINTS.index("head_top")])))
    chosen = None
    if len(candidates.xy_px):
        middle = (candidates.xy_px.min(axis=1) + candidates.xy_px.max(axis=1)) / 2.0
        chosen = int(np.argmin(np.hypot(middle[:, 0] - person.center_px[0], middle[:, 1] - person.center_px[1])))
    out = []
    for name, landmark in MPII_TO_LANDMARK.items():
        j = MPII_JOINTS.index(name)
        if not person.labelled[j]:
            continue
        if chosen is None:
            out.append(JointResult(person.image.name, name, float("inf"), head, float("nan")))
            continue
        k = landmark_index(landmark)
        err = float(np.hypot(*(candidates.xy_px[chosen, k] - person.joints_px[j])))
        out.append(JointResult(person.image.name, name, err, head, float(candidates.visibility[chosen, k])))
    return out


def evaluate_mpii(engine: PoseEngine, people: list[MpiiPerson], setting: FinderSetting,
                  on_image: Callable[[str], None] | None = None) -> MpiiEvalResult:
    """Find each annotated person near its centre with `setting` and score PCKh@0.5 on the mapped joints."""
    results, found, times_ms = [], 0, []
    for person in people:
        image = cv2.imread(str(person.image), cv2.IMREAD_COLOR)
        if image is None:
            raise CoachError(f"{person.image} is not an image this program can read")
        cx, cy = person.center_px
        half = CROP_FACTOR * person.height_px / 2.0
        x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
        x1, y1 = int(min(image.shape[1], cx + half)), int(min(image.shape[0], cy + half))
        candidates, ms = timed_find_people(engine, np.ascontiguousarray(image[y0:y1, x0:x1]), setting)
        times_ms.append(ms)
        found += int(len(candidates.xy_px) > 0)
        results.extend(score_person(person, candidates.shifted(x0, y0)))
        if on_image is not None:
            on_image(person.image.name)
    return MpiiEvalResult(results, found, len(people), float(np.mean(times_ms)) if times_ms else 0.0, setting)
