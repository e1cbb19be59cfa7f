"""COCO keypoint accuracy: the landmarker's people against human-labelled COCO person annotations.

The figures are pycocotools' own: `COCOeval(..., "keypoints")` computes AP (OKS 0.50:0.95), AP50, AP75
and AR from the labels and the detections; nothing of it is re-implemented here. MediaPipe's 33 landmarks
become COCO's 17 keypoints by name (`COCO17_TO_LANDMARK`), and each detected person's score is the mean
visibility of those 17 keypoints (`person_finder.person_score`): COCOeval ranks detections by it.

Beyond COCOeval's summary: which labelled people were found (matched at OKS ≥ 0.5, as COCOeval matches
them), how many detections match nobody ("false people"; COCO leaves some real people unlabelled, so a few
may be right), and per keypoint the pixel error of the matched people.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from coach.devtools.person_finder import COCO17_INDEX, COCO17_SIGMAS, FinderSetting, person_score, timed_find_people
from coach.errors import CoachError
from coach.pose.engine import PeopleArrays, PoseEngine
from coach.pose.landmarks import COCO17_TO_LANDMARK

COCO17_NAMES: tuple[str, ...] = tuple(COCO17_TO_LANDMARK)


@dataclass(frozen=True)
class CocoTruth:
    """A COCO keypoint annotation file and the folder holding its images."""

    coco: object  #: pycocotools.coco.COCO of the labels
    images: list[tuple[int, Path]]  #: (image id, file) in the file's order
    path: Path

    @property
    def people_labelled(self) -> int:
        """Person annotations with at least one labelled keypoint (the ones COCOeval scores)."""
        return sum(1 for a in self.coco.dataset["annotations"] if a.get("num_keypoints", 0) > 0
                   and not a.get("iscrowd", 0))


def load_coco_truth(ann_path: Path, images_dir: Path) -> CocoTruth:
    """Read a COCO keypoint annotation file and check its images are in `images_dir`."""
    from pycocotools.coco import COCO

    if not ann_path.is_file():
        raise CoachError(f"COCO annotation file not found: {ann_path}")
    if not images_dir.is_dir():
        raise CoachError(f"Image folder not found: {images_dir}")
    try:
        data = json.loads(ann_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CoachError(f"{ann_path} is not JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations")):
        raise CoachError(f"{ann_path} is not a COCO annotation file: it needs 'images' and 'annotations' lists")
    for a in data["annotations"]:
        if not isinstance(a, dict) or len(a.get("keypoints") or []) != 51 or "area" not in a or "bbox" not in a:
            raise CoachError(f"{ann_path}: annotation {a.get('id') if isinstance(a, dict) else a!r} has no 17 "
                             f"COCO keypoints (51 numbers), area and bbox")
    data.setdefault("categories", [{"id": 1, "name": "person"}])
    data.setdefault("info", {})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = data
        coco.createIndex()
    images = []
    for img in data["images"]:
        path = images_dir / str(img.get("file_name", ""))
        if not path.is_file():
            raise CoachError(f"{ann_path} names image {img.get('file_name')!r}, which is not in {images_dir}")
        images.append((int(img["id"]), path))
    if not images:
        raise CoachError(f"{ann_path} lists no images")
    return CocoTruth(coco, images, ann_path)


def coco_results(image_id: int, people: PeopleArrays) -> list[dict]:
    """COCO results-format detections (category 1, 17 keypoints x, y, v=1, score) for one image."""
    out = []
    scores = person_score(people.visibility)
    for xy, score in zip(people.xy_px[:, COCO17_INDEX], scores):
        keypoints = np.column_stack([xy, np.ones(len(COCO17_INDEX))]).ravel()
        out.append({"image_id": int(image_id), "category_id": 1,
                    "keypoints": [round(float(v), 2) for v in keypoints], "score": round(float(score), 5)})
    return out


@dataclass(frozen=True)
class CocoScores:
    """COCOeval's summary and its matching at OKS 0.5 ("all" areas)."""

    ap: float  #: AP at OKS 0.50:0.95, maxDets 20 (COCOeval stats[0])
    ap50: float  #: stats[1]
    ap75: float  #: stats[2]
    ar: float  #: AR at OKS 0.50:0.95 (stats[5])
    matches: list[tuple[int, int, float]]  #: (gt annotation id, result index, OKS) matched at OKS ≥ 0.5
    people_labelled: int  #: gt annotations COCOeval scores (not ignored)
    false_people: int  #: detections matched to no labelled person at OKS 0.5 (and not ignored)


def coco_keypoint_scores(coco_gt, results: list[dict]) -> CocoScores:
    """Run pycocotools' COCOeval on `results` (COCO results format); its printing is kept off stdout."""
    from pycocotools.cocoeval import COCOeval

    labelled = sum(1 for a in coco_gt.dataset["annotations"] if a.get("num_keypoints", 0) > 0
                   and not a.get("iscrowd", 0))
    if not results:  # COCOeval cannot load an empty result list; nothing found scores zero
        return CocoScores(0.0, 0.0, 0.0, 0.0, [], labelled, 0)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes([dict(r) for r in results])
        ev = COCOeval(coco_gt, coco_dt, "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    matches, false_people = [], 0
    all_areas = list(ev.params.areaRng[0])
    for e in ev.evalImgs:
        if e is None or list(e["aRng"]) != all_areas:
            continue
        dt_matches, dt_ignore = e["dtMatches"][0], e["dtIgnore"][0]
        false_people += int(np.sum((dt_matches == 0) & ~dt_ignore.astype(bool)))
        for gt_id, dt_id in zip(e["gtIds"], e["gtMatches"][0]):
            if dt_id > 0:
                matches.append((int(gt_id), int(dt_id) - 1, _oks(ev, e, int(gt_id), int(dt_id))))
    stats = [max(0.0, float(s)) for s in ev.stats]  # COCOeval writes -1 where nothing is scorable
    return CocoScores(stats[0], stats[1], stats[2], stats[5], matches, labelled, false_people)


def _oks(ev, e: dict, gt_id: int, dt_id: int) -> float:
    """The OKS COCOeval computed between one gt and one detection of an image."""
    ious = ev.ious[e["image_id"], e["category_id"]]
    gts = ev._gts[e["image_id"], e["category_id"]]
    dts = sorted(ev._dts[e["image_id"], e["category_id"]], key=lambda d: -d["score"])
    dt_row = next(i for i, d in enumerate(dts) if d["id"] == dt_id)
    gt_col = next(j for j, g in enumerate(gts) if g["id"] == gt_id)
    return float(ious[dt_row, gt_col])


@dataclass(frozen=True)
class MatchedKeypoint:
    """One labelled keypoint of a labelled person the model found."""

    image: str
    annotation_id: int
    keypoint: str  #: COCO-17 name
    labelled_visible: bool  #: COCO v=2 (visible) rather than v=1 (labelled but hidden)
    error_px: float
    similarity: float  #: COCO's keypoint similarity exp(-d²/(2 s² k²)), s² the person's area; ≥ 0.5 is "right"
    visibility: float  #: the model's visibility of the keypoint, [0, 1]


@dataclass
class CocoEvalResult:
    """Everything `eval pose --coco` reports."""

    scores: CocoScores
    results: list[dict]  #: the detections, COCO results format (what COCOeval scored)
    matched: list[MatchedKeypoint]
    ms_per_image: float  #: mean wall time of finding the people in one image (shared CPU: approximate)
    setting: FinderSetting
    per_image: list[dict] = field(default_factory=list)

    @property
    def people_found(self) -> int:
        return len(self.scores.matches)

    def summary(self) -> dict:
        s = self.scores
        return {"coco_ap": s.ap, "coco_ap50": s.ap50, "coco_ap75": s.ap75, "coco_ar": s.ar,
                "people_found": self.people_found, "people_labelled": s.people_labelled,
                "false_people": s.false_people, "detections": len(self.results),
                "ms_per_image": round(self.ms_per_image, 1), "setting": self.setting.name,
                "score": "mean visibility of the 17 COCO keypoints"}

    def per_keypoint(self) -> list[dict]:
        """Per COCO keypoint over the matched people: labelled count, mean/median pixel error, share right."""
        rows = []
        for name in COCO17_NAMES:
            ks = [k for k in self.matched if k.keypoint == name]
            if not ks:
                rows.append({"keypoint": name, "n": 0, "mean_error_px": None, "median_error_px": None,
                             "right_share": None})
                continue
            e = np.array([k.error_px for k in ks])
            rows.append({"keypoint": name, "n": len(ks), "mean_error_px": round(float(e.mean()), 2),
                         "median_error_px": round(float(np.median(e)), 2),
                         "right_share": round(float(np.mean([k.similarity >= 0.5 for k in ks])), 3)})
        return rows


def matched_keypoints(truth: CocoTruth, results: list[dict], visibilities: list[np.ndarray],
                      scores: CocoScores) -> list[MatchedKeypoint]:
    """The labelled keypoints of each matched person, with the detection's error and visibility."""
    names = {img_id: path.name for img_id, path in truth.images}
    out = []
    for gt_id, result_index, _ in scores.matches:
        gt = truth.coco.anns[gt_id]
        g = np.array(gt["keypoints"], float).reshape(17, 3)
        d = np.array(results[result_index]["keypoints"], float).reshape(17, 3)
        vis = visibilities[result_index]
        for k, name in enumerate(COCO17_NAMES):
            if g[k, 2] <= 0:
                continue
            err = float(np.hypot(*(d[k, :2] - g[k, :2])))
            sim = float(np.exp(-err ** 2 / (2.0 * max(gt["area"], 1e-9) * (2.0 * COCO17_SIGMAS[k]) ** 2)))
            out.append(MatchedKeypoint(names[gt["image_id"]], gt_id, name, bool(g[k, 2] == 2), err, sim,
                                       float(vis[k])))
    return out


def evaluate_coco(engine: PoseEngine, truth: CocoTruth, setting: FinderSetting,
                  on_image: Callable[[str], None] | None = None) -> CocoEvalResult:
    """Find the people in every image of `truth` with `setting` and score them with COCOeval."""
    results: list[dict] = []
    visibilities: list[np.ndarray] = []
    times_ms, per_image = [], []
    for image_id, path in truth.images:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise CoachError(f"{path} is not an image this program can read")
        people, ms = timed_find_people(engine, image, setting)
        times_ms.append(ms)
        results.extend(coco_results(image_id, people))
        visibilities.extend(people.visibility[:, COCO17_INDEX])
        per_image.append({"image": path.name, "detections": len(people.xy_px), "ms": round(ms, 1)})
        if on_image is not None:
            on_image(path.name)
    scores = coco_keypoint_scores(truth.coco, results)
    matched = matched_keypoints(truth, results, visibilities, scores)
    return CocoEvalResult(scores, results, matched, float(np.mean(times_ms)), setting, per_image)
