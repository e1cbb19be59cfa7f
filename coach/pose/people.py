"""Each person once: a pose model asked for several people sometimes fits a second skeleton over part of
someone it already found (their legs, their upper body) or over the same person again. Such a skeleton
lies almost wholly inside the other's box, while two real people, even side by side or one helping the
other, overlap far less (measured on the clips of ../shared/data: phantoms 0.67-1.0 of their box inside the
other, real second people 0.0-0.3)."""

from __future__ import annotations

import dataclasses

import numpy as np

from coach.pose.landmarks import COCO17_TO_LANDMARK, landmark_index
from coach.pose.series import PoseFrame

#: A skeleton whose box lies at least this share inside another one's box is that person again.
SAME_PERSON_INSIDE = 0.6

_BODY = [landmark_index(n) for n in COCO17_TO_LANDMARK.values()]


def _box(xy: np.ndarray) -> tuple[float, float, float, float] | None:
    pts = xy[_BODY]
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) < 2:
        return None
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def _area(b) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def distinct_people(frame: PoseFrame) -> PoseFrame:
    """`frame` without the skeletons that lie at least `SAME_PERSON_INSIDE` inside the box (of the COCO-17
    body landmarks) of a person kept before them; people are kept largest first, in their slot order."""
    n = frame.n_people
    if n < 2:
        return frame
    boxes = [_box(frame.xy_px[p].astype(np.float64)) for p in range(n)]
    order = sorted(range(n), key=lambda p: -_area(boxes[p]) if boxes[p] else 0.0)
    kept: list[int] = []
    for p in order:
        b = boxes[p]
        if b is None:
            continue
        inside = False
        for q in kept:
            o = boxes[q]
            inter = (max(b[0], o[0]), max(b[1], o[1]), min(b[2], o[2]), min(b[3], o[3]))
            if _area(b) > 0 and _area(inter) >= SAME_PERSON_INSIDE * _area(b):
                inside = True
                break
        if not inside:
            kept.append(p)
    if len(kept) == n:
        return frame
    keep = sorted(kept)
    return dataclasses.replace(frame, xy_px=frame.xy_px[keep], visibility=frame.visibility[keep],
                               world_m=None if frame.world_m is None else frame.world_m[keep])
