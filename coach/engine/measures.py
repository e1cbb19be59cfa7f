"""Measures over a keypoint series, vectorised: joint angles, segment inclinations, normalised distances.

Every function takes arrays for one person over T frames — image ``xy`` (T, 33, 2) pixels, ``vis`` (T, 33)
and ``world`` (T, 33, 3) metres — and returns a (T,) float array. A frame where one of the landmarks the
measure needs is below the visibility threshold (or missing) gives NaN: a measure is never made up.

Conventions (image y grows downwards; MediaPipe world y too):

- ``angle [a, b, c]``: the angle at b between b→a and b→c, degrees in [0, 180] (180 = straight limb).
- ``inclination [a, b]`` from ``vertical``: angle between a→b and straight up, degrees in [0, 180]
  (0 = b right above a, 90 = level, 180 = b right below a). From ``horizontal``: elevation of b over a,
  degrees in [-90, 90] (positive = b above a).
- ``height [a]``: how high landmark a is in the picture (minus its y), in body lengths (``per``). It has
  no fixed zero, so use it with a relative range; it is for movements where nothing on the body stays
  still to measure from (a calf raise lifts the whole body) and needs a still camera.
- ``distance [a, b]``: along ``y`` it is the height of b above a (positive when b is higher); along ``x``
  the horizontal gap |b.x - a.x|; ``xy`` the straight-line distance. Divided by a body length (``per``)
  measured in the same frame, so it does not change when the camera zooms or the person comes closer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from coach.pose.landmarks import SIDED_PARTS, landmark_index

SIDES = ("left", "right")

#: Body lengths a distance can be divided by: name -> (landmark pairs, sided?).
NORMALISERS = ("torso", "shoulder_width", "hip_width", "thigh", "shin", "upper_arm", "forearm", "none")


def landmark_name(part: str, side: str) -> str:
    """`part` is either a full landmark name ("nose", "left_knee") or a sided part ("knee")."""
    if part in SIDED_PARTS:
        return f"{side}_{part}"
    return part


def is_sided(parts: list[str] | tuple[str, ...]) -> bool:
    """True when at least one part needs a side."""
    return any(p in SIDED_PARTS for p in parts)


def _vec(pts: np.ndarray, a: int, b: int) -> np.ndarray:
    return pts[:, b] - pts[:, a]


def joint_angle(pts: np.ndarray, a: int, b: int, c: int) -> np.ndarray:
    """Angle at landmark b between b→a and b→c, degrees, for (T, 33, D) points (D = 2 or 3)."""
    u = pts[:, a] - pts[:, b]
    v = pts[:, c] - pts[:, b]
    dot = np.einsum("td,td->t", u, v)
    nu = np.linalg.norm(u, axis=1)
    nv = np.linalg.norm(v, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = dot / (nu * nv)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def inclination(pts: np.ndarray, a: int, b: int, reference: str = "vertical") -> np.ndarray:
    """Angle of segment a→b against the vertical (0..180, 0 = pointing up) or horizontal (-90..90)."""
    d = _vec(pts, a, b)
    up = -d[:, 1]  # y grows downwards
    if d.shape[1] == 3:
        level = np.hypot(d[:, 0], d[:, 2])
    else:
        level = np.abs(d[:, 0])
    from_vertical = np.degrees(np.arctan2(level, up))
    if reference == "vertical":
        return from_vertical
    return 90.0 - from_vertical


def distance(pts: np.ndarray, a: int, b: int, axis: str = "xy") -> np.ndarray:
    """Distance from a to b: `y` = height of b above a (signed), `x` = |horizontal gap|, `xy` = straight line."""
    d = _vec(pts, a, b)
    if axis == "y":
        return -d[:, 1]
    if axis == "x":
        return np.abs(d[:, 0])
    return np.linalg.norm(d, axis=1)


def _mid(pts: np.ndarray, a: str, b: str) -> np.ndarray:
    return 0.5 * (pts[:, landmark_index(a)] + pts[:, landmark_index(b)])


def body_length(pts: np.ndarray, per: str, side: str) -> np.ndarray:
    """A body length in each frame, the unit of normalised distances (NaN when it cannot be measured)."""
    if per == "none":
        return np.ones(pts.shape[0])
    if per == "torso":
        d = _mid(pts, "left_shoulder", "right_shoulder") - _mid(pts, "left_hip", "right_hip")
    elif per == "shoulder_width":
        d = pts[:, landmark_index("left_shoulder")] - pts[:, landmark_index("right_shoulder")]
    elif per == "hip_width":
        d = pts[:, landmark_index("left_hip")] - pts[:, landmark_index("right_hip")]
    else:
        pair = {"thigh": ("hip", "knee"), "shin": ("knee", "ankle"), "upper_arm": ("shoulder", "elbow"),
                "forearm": ("elbow", "wrist")}[per]
        d = pts[:, landmark_index(f"{side}_{pair[0]}")] - pts[:, landmark_index(f"{side}_{pair[1]}")]
    n = np.linalg.norm(d, axis=1)
    n[n <= 1e-9] = np.nan
    return n


@dataclass(frozen=True)
class MeasureGeometry:
    """What to compute (independent of the YAML model, so the calculators can be used on their own)."""

    kind: str  #: angle | inclination | distance | height
    parts: tuple[str, ...]
    space: str = "2d"  #: 2d (image) or 3d (world)
    reference: str = "vertical"  #: for inclination
    axis: str = "xy"  #: for distance
    per: str = "torso"  #: for distance

    @property
    def sided(self) -> bool:
        return is_sided(self.parts) or self.per in ("thigh", "shin", "upper_arm", "forearm")

    def landmarks(self, side: str) -> tuple[str, ...]:
        return tuple(landmark_name(p, side) for p in self.parts)


def compute(geom: MeasureGeometry, xy: np.ndarray, world: np.ndarray, vis: np.ndarray, side: str,
            min_visibility: float) -> np.ndarray:
    """Values of `geom` for one side over all frames; NaN where a needed landmark is not visible.

    xy (T, 33, 2), world (T, 33, 3) or None, vis (T, 33) -> (T,). One frame (T = 1) is computed with
    plain floats (`compute_frame`): the same value, without numpy's per-call cost."""
    if xy.shape[0] == 1:
        return np.array([compute_frame(geom, xy[0], None if world is None else world[0], vis[0], side,
                                       min_visibility)])
    names = geom.landmarks(side)
    idx = [landmark_index(n) for n in names]
    pts = world if geom.space == "3d" else xy
    pts = pts.astype(np.float64, copy=False)
    if geom.kind == "angle":
        out = joint_angle(pts, *idx)
    elif geom.kind == "inclination":
        out = inclination(pts, idx[0], idx[1], geom.reference)
    elif geom.kind == "height":
        out = -pts[:, idx[0], 1]
        if geom.per != "none":
            with np.errstate(invalid="ignore", divide="ignore"):
                out = out / body_length(pts, geom.per, side)
    else:
        out = distance(pts, idx[0], idx[1], geom.axis)
        if geom.per != "none":
            with np.errstate(invalid="ignore", divide="ignore"):
                out = out / body_length(pts, geom.per, side)
    seen = np.all(vis[:, idx] >= min_visibility, axis=1)
    out = np.where(seen, out, np.nan)
    return out


# ---------------------------------------------------------------------------- one frame, plain floats
#
# The live counter measures one frame at a time; numpy's per-call overhead on (1, 33, 2) arrays costs tens of
# microseconds per measure. `compute_frame` gives the very same number with Python floats: the same
# operations in the same order as the vectorised functions above, and numpy's own arccos, arctan2 and
# hypot (called on scalars, they round exactly as on arrays; `math`'s differ in the last bit).

_INF = float("inf")
_NAN = float("nan")
#: landmark pairs of each sided body length (thigh = hip-knee, ...)
_PAIR_OF = {"thigh": ("hip", "knee"), "shin": ("knee", "ankle"), "upper_arm": ("shoulder", "elbow"),
            "forearm": ("elbow", "wrist")}


def _divide(a: float, b: float) -> float:
    """a / b as numpy divides (0/0 = NaN, x/0 = ±inf, NaN/0 = NaN) instead of raising."""
    if b == 0.0:
        if a != a or a == 0.0:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)
    return a / b


@lru_cache(maxsize=None)
def _frame_plan(geom: MeasureGeometry, side: str) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """(landmark indices of the measure, indices of its body length: 4 for torso (l/r shoulder, l/r hip),
    2 for a pair, None when not divided)."""
    idx = tuple(landmark_index(n) for n in geom.landmarks(side))
    per = None
    if geom.kind in ("height", "distance") and geom.per != "none":
        if geom.per == "torso":
            per = tuple(landmark_index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
        elif geom.per == "shoulder_width":
            per = (landmark_index("left_shoulder"), landmark_index("right_shoulder"))
        elif geom.per == "hip_width":
            per = (landmark_index("left_hip"), landmark_index("right_hip"))
        else:
            a, b = _PAIR_OF[geom.per]
            per = (landmark_index(f"{side}_{a}"), landmark_index(f"{side}_{b}"))
    return idx, per


def _norm(d: list[float]) -> float:
    total = 0.0
    for x in d:
        total += x * x
    return math.sqrt(total)


def _body_length(pts: np.ndarray, per: tuple[int, ...]) -> float:
    if len(per) == 4:
        ls, rs, lh, rh = (pts[i].tolist() for i in per)
        d = [0.5 * (ls[k] + rs[k]) - 0.5 * (lh[k] + rh[k]) for k in range(len(ls))]
    else:
        a, b = pts[per[0]].tolist(), pts[per[1]].tolist()
        d = [a[k] - b[k] for k in range(len(a))]
    n = _norm(d)
    return _NAN if n <= 1e-9 else n


def compute_frame(geom: MeasureGeometry, xy: np.ndarray, world: np.ndarray | None, vis: np.ndarray, side: str,
                  min_visibility: float) -> float:
    """The value of `geom` for one side in one frame: exactly (bit for bit) what
    ``compute(geom, xy[None], world[None], vis[None], side, min_visibility)[0]`` gives, about ten times
    faster. xy: (33, 2) pixels; world: (33, 3) metres or None (a 2-D model); vis: (33,) in [0, 1].
    NaN when a needed landmark is below `min_visibility` (or missing)."""
    idx, per = _frame_plan(geom, side)
    threshold = min_visibility
    if vis.dtype != np.float64:  # compared in the array's precision, as numpy compares
        threshold = float(vis.dtype.type(min_visibility))
    for i in idx:
        if not float(vis[i]) >= threshold:
            return _NAN
    pts = world if geom.space == "3d" else xy
    kind = geom.kind
    if kind == "angle":
        a, b, c = (pts[i].tolist() for i in idx)
        u = [a[k] - b[k] for k in range(len(a))]
        v = [c[k] - b[k] for k in range(len(a))]
        if len(u) == 3:  # numpy's einsum adds the three products in this order
            dot = (u[0] * v[0] + u[2] * v[2]) + u[1] * v[1]
        else:
            dot = u[0] * v[0] + u[1] * v[1]
        cos = _divide(dot, _norm(u) * _norm(v))
        if cos < -1.0:
            cos = -1.0
        elif cos > 1.0:
            cos = 1.0
        return math.degrees(float(np.arccos(cos)))
    if kind == "inclination":
        a, b = pts[idx[0]].tolist(), pts[idx[1]].tolist()
        d = [b[k] - a[k] for k in range(len(a))]
        up = -d[1]
        level = float(np.hypot(d[0], d[2])) if len(d) == 3 else abs(d[0])
        from_vertical = math.degrees(float(np.arctan2(level, up)))
        return from_vertical if geom.reference == "vertical" else 90.0 - from_vertical
    if kind == "height":
        out = -float(pts[idx[0], 1])
    else:
        a, b = pts[idx[0]].tolist(), pts[idx[1]].tolist()
        d = [b[k] - a[k] for k in range(len(a))]
        if geom.axis == "y":
            out = -d[1]
        elif geom.axis == "x":
            out = abs(d[0])
        else:
            out = _norm(d)
    if per is not None:
        out = _divide(out, _body_length(pts, per))
    return out


def side_visibility(geom: MeasureGeometry, vis: np.ndarray, side: str) -> np.ndarray:
    """Per-frame visibility of a side for this measure: the least visible of its landmarks, (T,)."""
    idx = [landmark_index(n) for n in geom.landmarks(side)]
    return vis[:, idx].min(axis=1)


def invisible_landmarks(geom: MeasureGeometry, vis_row: np.ndarray, side: str,
                        min_visibility: float) -> list[str]:
    """Names of the landmarks of `geom` below the threshold in one frame (for "not measurable" reasons)."""
    return [n for n in geom.landmarks(side) if not vis_row[landmark_index(n)] >= min_visibility]


def estimate_view(xy: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """Rough camera view per frame from shoulder width / torso length: 'front', 'side' or '' (unknown).

    Front-on, shoulders are about 0.6-0.9 torso lengths apart in the image; side-on, under 0.3.
    """
    sw = np.linalg.norm(xy[:, landmark_index("left_shoulder")] - xy[:, landmark_index("right_shoulder")],
                        axis=1)
    torso = body_length(xy.astype(np.float64), "torso", "left")
    with np.errstate(invalid="ignore", divide="ignore"):
        r = sw / torso
    out = np.full(xy.shape[0], "", dtype=object)
    out[r > 0.5] = "front"
    out[r < 0.3] = "side"
    return out
