"""Finding several people in a still image with a single-person landmarker.

MediaPipe's pose landmarker is built for one person: its detector seldom reports a second one at the
default thresholds, whatever `num_poses` says. A `FinderSetting` says what to try around it: lower
detection/presence thresholds, more passes over the image with the people already found painted out,
the landmarker on overlapping tiles, or on a crop around each person found. `find_people` runs one
setting and merges the duplicates (the same person found twice) by object keypoint similarity.

Each setting is measured by `coach eval pose --coco ... --setting NAME` (AP, people found, false people,
ms per image); `SETTINGS` holds the ones the README reports.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from coach.pose.engine import PeopleArrays, PoseEngine, painted_out, tile_boxes
from coach.pose.landmarks import COCO17_TO_LANDMARK, landmark_index

#: MediaPipe indices of the COCO-17 keypoints, in COCO's order.
COCO17_INDEX = np.array([landmark_index(name) for name in COCO17_TO_LANDMARK.values()])
#: COCO's per-keypoint OKS constants (sigmas), in COCO's keypoint order, as in pycocotools' COCOeval.
COCO17_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89,
                          .89]) / 10.0


@dataclass(frozen=True)
class FinderSetting:
    """How to look for people in a still image (all passes use one image-mode landmarker)."""

    name: str
    num_poses: int = 1  #: people the landmarker reports per pass, at most
    min_detection: float = 0.5  #: the person detector's score threshold, [0, 1]
    min_presence: float = 0.5  #: the landmarker's presence threshold, [0, 1]
    mask_passes: int = 0  #: extra whole-image passes with the people found so far painted out
    tiles: int = 0  #: also run on grid × grid overlapping tiles (0: no tiles)
    tile_overlap: float = 0.25  #: share of a tile overlapping its neighbours
    drop_cut: bool = False  #: drop tile detections reaching past a tile edge inside the image (a cut body)
    refine: bool = False  #: re-run the landmarker on a crop around each person found and keep the better
    drop_parts: float = 0.0  #: drop a person whose box lies this much (share of its area) inside a box at
    #: least twice as large: a tile holding only someone's legs makes the landmarker see a small body there
    duplicate_oks: float = 0.5  #: two detections this similar (OKS) are one person; the better is kept

    def engine_options(self) -> dict:
        """Keyword arguments for `PoseEngine` that this setting needs."""
        return {"num_poses": self.num_poses, "min_detection_confidence": self.min_detection,
                "min_presence_confidence": self.min_presence}

    def to_dict(self) -> dict:
        return asdict(self)


#: The settings measured for the README, from the Tasks API's plain use to the most thorough search.
SETTINGS: dict[str, FinderSetting] = {s.name: s for s in (
    FinderSetting("single"),
    FinderSetting("num_poses", num_poses=8),
    FinderSetting("low_threshold", num_poses=8, min_detection=0.2, min_presence=0.2),
    FinderSetting("masked", mask_passes=5),
    FinderSetting("refined", mask_passes=5, refine=True),
    FinderSetting("tiles", num_poses=2, tiles=2, drop_cut=True, drop_parts=0.8),
    FinderSetting("tiles_masked", mask_passes=5, tiles=2, drop_cut=True, drop_parts=0.8),
)}


def person_score(visibility: np.ndarray) -> np.ndarray:
    """The detection score of each person: mean visibility of its 17 COCO keypoints, shape (P,), [0, 1].

    The Tasks API reports no per-person score; the mean visibility ranks a clearly seen person above a
    guess (a partner's limbs, a poster).
    """
    return visibility[:, COCO17_INDEX].mean(axis=1) if len(visibility) else np.zeros(0)


def keypoint_similarity(a_xy_px: np.ndarray, b_xy_px: np.ndarray) -> float:
    """OKS between two detections' COCO-17 keypoints (17, 2), with the first one's box as the scale."""
    span = a_xy_px.max(axis=0) - a_xy_px.min(axis=0)
    area = max(float(span[0] * span[1]), 1.0)
    d2 = np.sum((a_xy_px - b_xy_px) ** 2, axis=1)
    return float(np.mean(np.exp(-d2 / (2.0 * area * (2.0 * COCO17_SIGMAS) ** 2))))


def merge_duplicates(people: PeopleArrays, duplicate_oks: float) -> PeopleArrays:
    """Keep one detection per person: greedy by score, dropping those with OKS ≥ `duplicate_oks` to a kept one."""
    if len(people.xy_px) < 2:
        return people
    order = np.argsort(-person_score(people.visibility), kind="stable")
    coco = people.xy_px[:, COCO17_INDEX]
    kept: list[int] = []
    for i in order:
        if all(keypoint_similarity(coco[k], coco[i]) < duplicate_oks for k in kept):
            kept.append(int(i))
    return people.take(np.array(kept, int))


def person_box(xy_px: np.ndarray, pad: float = 0.15) -> tuple[float, float, float, float]:
    """A box around one person's 33 landmarks (33, 2), grown by `pad` of its size on each side."""
    lo, hi = xy_px.min(axis=0), xy_px.max(axis=0)
    margin = (hi - lo) * pad
    return (float(lo[0] - margin[0]), float(lo[1] - margin[1]), float(hi[0] + margin[0]),
            float(hi[1] + margin[1]))


def _refined(engine: PoseEngine, image_bgr: np.ndarray, people: PeopleArrays) -> PeopleArrays:
    """Each person replaced by the landmarker's result on a crop around them when that is the same
    person (OKS ≥ 0.5) and better seen (higher score)."""
    xy, vis = people.xy_px.copy(), people.visibility.copy()
    for p in range(len(xy)):
        again = engine.detect_region(image_bgr, person_box(xy[p], pad=0.25))
        for q in range(len(again.xy_px)):
            same = keypoint_similarity(xy[p][COCO17_INDEX], again.xy_px[q][COCO17_INDEX]) >= 0.5
            if same and person_score(again.visibility[q:q + 1])[0] > person_score(vis[p:p + 1])[0]:
                xy[p], vis[p] = again.xy_px[q], again.visibility[q]
                break
    return PeopleArrays(xy, vis)


def _box_area(box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def drop_parts(people: PeopleArrays, inside_share: float) -> PeopleArrays:
    """Without the people whose COCO-17 box lies at least `inside_share` inside the box of someone at least
    twice as large (a body made up over part of another one)."""
    if inside_share <= 0 or len(people.xy_px) < 2:
        return people
    boxes = [person_box(xy[COCO17_INDEX], pad=0.0) for xy in people.xy_px]
    areas = [_box_area(b) for b in boxes]
    keep = np.ones(len(boxes), bool)
    for i, small in enumerate(boxes):
        for j, large in enumerate(boxes):
            if i == j or areas[j] < 2.0 * areas[i] or areas[i] <= 0:
                continue
            overlap = (max(small[0], large[0]), max(small[1], large[1]), min(small[2], large[2]),
                       min(small[3], large[3]))
            if _box_area(overlap) >= inside_share * areas[i]:
                keep[i] = False
                break
    return people.take(keep)


def _cut_by_tile(people: PeopleArrays, box, width_px: int, height_px: int) -> np.ndarray:
    """(P,) bool: the person's COCO-17 keypoints reach past an edge of the tile that is not the image's
    edge, so the tile held only part of them (the rest is the landmarker's guess)."""
    x0, y0, x1, y1 = box
    xy = people.xy_px[:, COCO17_INDEX]
    cut = np.zeros(len(xy), bool)
    if x0 > 0:
        cut |= (xy[:, :, 0] < x0).any(axis=1)
    if y0 > 0:
        cut |= (xy[:, :, 1] < y0).any(axis=1)
    if x1 < width_px:
        cut |= (xy[:, :, 0] > x1).any(axis=1)
    if y1 < height_px:
        cut |= (xy[:, :, 1] > y1).any(axis=1)
    return cut


def find_people(engine: PoseEngine, image_bgr: np.ndarray, setting: FinderSetting) -> PeopleArrays:
    """Everyone `setting` finds in one BGR still (H, W, 3) with an image-mode engine built with
    `setting.engine_options()`; duplicates merged, best-scored first."""
    height, width = image_bgr.shape[:2]
    found = engine.detect_region(image_bgr, (0, 0, width, height))
    image = image_bgr
    for _ in range(setting.mask_passes):
        if not len(found.xy_px):
            break
        image = painted_out(image, found)
        more = engine.detect_region(image, (0, 0, width, height))
        merged = merge_duplicates(PeopleArrays.concat([found, more]), setting.duplicate_oks)
        if len(merged.xy_px) == len(found.xy_px):
            break  # nobody new: a further pass would see the same picture
        found = merged
    if setting.tiles:
        parts = [found]
        for box in tile_boxes(width, height, setting.tiles, setting.tile_overlap):
            in_tile = engine.detect_region(image_bgr, box)
            if setting.drop_cut:
                in_tile = in_tile.take(~_cut_by_tile(in_tile, box, width, height))
            parts.append(in_tile)
        found = merge_duplicates(PeopleArrays.concat(parts), setting.duplicate_oks)
    if setting.refine and len(found.xy_px):
        found = _refined(engine, image_bgr, found)
    found = drop_parts(merge_duplicates(found, setting.duplicate_oks), setting.drop_parts)
    return found.take(np.argsort(-person_score(found.visibility), kind="stable"))


def timed_find_people(engine: PoseEngine, image_bgr: np.ndarray, setting: FinderSetting) -> tuple[PeopleArrays, float]:
    """`find_people` and the wall time it took, milliseconds (approximate on a shared machine)."""
    t0 = time.perf_counter()
    people = find_people(engine, image_bgr, setting)
    return people, (time.perf_counter() - t0) * 1000.0
