"""Annotators: draw keypoints (and later the workout overlay) onto images. Drawing never counts.

Each function takes a BGR image, draws on a copy or in place as documented, and returns the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from coach.pose.series import PoseFrame
from coach.pose.landmarks import SKELETON_EDGES, landmark_index

_EDGE_IDX = tuple((landmark_index(a), landmark_index(b)) for a, b in SKELETON_EDGES)
#: BGR colours per person slot, so several people are told apart.
PERSON_COLOURS: tuple[tuple[int, int, int], ...] = (
    (80, 220, 80), (255, 160, 40), (60, 180, 255), (200, 80, 220),
)


def _scale(image: np.ndarray) -> float:
    """Line/marker scale so drawings read the same on 360p and 4K frames."""
    return max(1.0, min(image.shape[:2]) / 480.0)


def draw_skeleton(image: np.ndarray, xy: np.ndarray, vis: np.ndarray,
                  colour: tuple[int, int, int] = PERSON_COLOURS[0], min_visibility: float = 0.5) -> np.ndarray:
    """Draw one person's skeleton in place; landmarks below `min_visibility` are drawn faint or skipped.

    image: (H, W, 3) uint8 BGR; xy: (33, 2) px; vis: (33,) in [0, 1]. Returns the same image.
    """
    s = _scale(image)
    thick = int(round(2 * s))
    radius = int(round(3 * s))
    # plain floats: numpy's per-call cost on single landmarks was most of the drawing time
    if vis.dtype != np.float64:  # compared in the array's precision, as numpy compares
        min_visibility = float(vis.dtype.type(min_visibility))
    v = vis.tolist()
    points = [(int(round(x)), int(round(y))) if math.isfinite(x) and math.isfinite(y) else None
              for x, y in xy.tolist()]
    faint = tuple(int(c * 0.45) for c in colour)
    for a, b in _EDGE_IDX:
        pa, pb = points[a], points[b]
        if pa is None or pb is None:
            continue
        seen = min(v[a], v[b]) >= min_visibility
        cv2.line(image, pa, pb, colour if seen else faint, thick if seen else max(1, thick // 2), cv2.LINE_AA)
    for p, seen in zip(points, v):
        if p is None or seen < min_visibility:
            continue
        cv2.circle(image, p, radius, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(image, p, radius, colour, max(1, thick // 2), cv2.LINE_AA)
    return image


def draw_text(image: np.ndarray, text: str, origin: tuple[int, int], *, scale: float = 0.7,
              colour: tuple[int, int, int] = (255, 255, 255), background: tuple[int, int, int] | None = (0, 0, 0),
              ) -> tuple[int, int]:
    """Draw `text` with a solid background box for legibility; returns the box's (width, height) in px."""
    s = _scale(image) * scale
    thick = max(1, int(round(2 * s)))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, s, thick)
    x, y = origin
    pad = int(6 * s)
    if background is not None:
        cv2.rectangle(image, (x, y), (x + w + 2 * pad, y + h + base + 2 * pad), background, -1)
    cv2.putText(image, text, (x + pad, y + pad + h), cv2.FONT_HERSHEY_SIMPLEX, s, colour, thick, cv2.LINE_AA)
    return w + 2 * pad, h + base + 2 * pad


def draw_pose_frame(image: np.ndarray, frame: PoseFrame) -> np.ndarray:
    """Draw everyone in `frame` (one colour per person slot) and a "nobody" note when empty. In place."""
    for p in range(frame.n_people):
        draw_skeleton(image, frame.xy_px[p], frame.visibility[p], PERSON_COLOURS[p % len(PERSON_COLOURS)])
    label = f"t={frame.timestamp_s:6.2f}s  frame {frame.frame_index}"
    label += "  nobody found" if frame.nobody else f"  people: {frame.n_people}"
    draw_text(image, label, (8, 8), scale=0.5)
    return image


@dataclass
class OverlayModel:
    """What the workout overlay shows for one frame (filled by the workout from the engine's state)."""

    exercise_name: str
    reps: int = 0
    target_reps: int | None = None
    reps_left: int | None = None  #: per side, for alternating/one-sided exercises
    reps_right: int | None = None
    set_index: int = 1
    sets: int = 1
    phase: str = ""
    measure_name: str = ""
    measure_value: float | None = None  #: primary measure, degrees for angles
    arc_landmarks: tuple[str, str, str] | None = None  #: (a, vertex, c) of the primary joint angle
    held_s: float | None = None  #: for holds
    target_hold_s: float | None = None
    cue: str | None = None  #: the current cue (one at a time)
    not_measurable: str | None = None  #: reason, when the engine cannot measure
    resting_s: float | None = None  #: countdown during rest between sets
    paused: bool = False
    person_index: int = 0  #: slot of the followed person in this frame (-1 = not in it)
    #: (slot, text) labels drawn above people's heads: "#2 exercising" over the followed person, "#3" over
    #: the others; in group mode "#2: 5" (their count) over everyone
    labels: tuple = ()
    group: bool = False  #: group mode: everyone counted, each track in its own colour


def _angle_arc(image: np.ndarray, xy: np.ndarray, names: tuple[str, str, str], value: float | None,
               colour: tuple[int, int, int]) -> None:
    """Draw the arc of the joint angle a-vertex-c at the vertex, with its value in degrees."""
    a, b, c = (xy[landmark_index(n)] for n in names)
    if not (np.isfinite(a).all() and np.isfinite(b).all() and np.isfinite(c).all()):
        return
    s = _scale(image)
    r = int(28 * s)
    ang_a = np.degrees(np.arctan2(a[1] - b[1], a[0] - b[0]))
    ang_c = np.degrees(np.arctan2(c[1] - b[1], c[0] - b[0]))
    start, end = ang_a, ang_c
    if (end - start) % 360 > 180:
        start, end = end, start
    span = (end - start) % 360
    centre = tuple(np.round(b).astype(int))
    cv2.ellipse(image, centre, (r, r), 0, start, start + span, colour, max(2, int(3 * s)), cv2.LINE_AA)
    if value is not None and np.isfinite(value):
        draw_text(image, f"{value:.0f} deg", (centre[0] + r, centre[1] - r), scale=0.55,
                  colour=(255, 255, 255), background=(40, 40, 40))


def _track_colour(label: str) -> tuple[int, int, int]:
    """A stable colour per track, from the "#id" a label starts with."""
    digits = "".join(ch for ch in label.split(":")[0].split(" ")[0] if ch.isdigit())
    return PERSON_COLOURS[int(digits or 0) % len(PERSON_COLOURS)]


def _head_label(image: np.ndarray, xy: np.ndarray, text: str, colour: tuple[int, int, int]) -> None:
    """A small label just above the person's head (above the highest visible landmark)."""
    ok = np.all(np.isfinite(xy), axis=1)
    if not ok.any():
        return
    s = _scale(image)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, s * 0.55, max(1, int(round(2 * s * 0.55))))
    top = float(np.min(xy[ok, 1]))
    x = float(np.median(xy[ok, 0]))
    h, w = image.shape[:2]
    org = (int(min(max(0, x - tw / 2), max(0, w - tw - 12 * s))), int(min(max(0, top - th - 22 * s), h - th)))
    draw_text(image, text, org, scale=0.55, colour=(255, 255, 255), background=colour)


def draw_workout_overlay(image: np.ndarray, pose: PoseFrame, model: OverlayModel) -> np.ndarray:
    """The workout overlay, in place: skeleton of the tracked person, angle arc, counters, phase, hold
    timer, the current cue, and a clear banner when the engine cannot measure. Returns `image`."""
    h, w = image.shape[:2]
    s = _scale(image)
    n = pose.n_people
    person = model.person_index if 0 <= model.person_index < n else None
    label_of = {slot: text for slot, text in model.labels}
    for p in range(n):
        if model.group and p in label_of:
            draw_skeleton(image, pose.xy_px[p], pose.visibility[p], _track_colour(label_of[p]))
        elif p != model.person_index:
            draw_skeleton(image, pose.xy_px[p], pose.visibility[p], (150, 150, 150))
    if person is not None:
        if not model.group:
            draw_skeleton(image, pose.xy_px[person], pose.visibility[person], PERSON_COLOURS[0])
        if model.arc_landmarks:
            _angle_arc(image, pose.xy_px[person], model.arc_landmarks, model.measure_value, (0, 215, 255))
    for slot, text in model.labels:
        if 0 <= slot < n:
            if model.group:
                colour = _track_colour(text)
            else:
                colour = (30, 90, 30) if slot == model.person_index else (110, 110, 110)
            _head_label(image, pose.xy_px[slot], text, colour)

    # Counter panel, top left: reps/target, per side, set, phase.
    y = int(8 * s)
    target = f"/{model.target_reps}" if model.target_reps else ""
    _, bh = draw_text(image, f"REPS {model.reps}{target}", (int(8 * s), y), scale=1.1,
                      background=(30, 90, 30))
    y += bh + int(4 * s)
    if model.reps_left is not None and model.reps_right is not None:
        _, bh = draw_text(image, f"L {model.reps_left}  R {model.reps_right}", (int(8 * s), y), scale=0.6)
        y += bh + int(4 * s)
    _, bh = draw_text(image, f"set {model.set_index}/{model.sets}   {model.exercise_name}", (int(8 * s), y),
                      scale=0.55)
    y += bh + int(4 * s)
    if model.phase:
        value = f"  {model.measure_name} {model.measure_value:.0f}" if (
            model.measure_value is not None and np.isfinite(model.measure_value)) else ""
        _, bh = draw_text(image, f"phase: {model.phase}{value}", (int(8 * s), y), scale=0.55)
        y += bh + int(4 * s)
    if model.held_s is not None:
        goal = f" / {model.target_hold_s:.0f}" if model.target_hold_s else ""
        _, bh = draw_text(image, f"HOLD {model.held_s:4.1f}{goal} s", (int(8 * s), y), scale=0.9,
                          background=(120, 70, 0))
        y += bh + int(4 * s)

    # Cue, bottom centre; not-measurable banner, top centre; rest and pause, centre.
    if model.cue:
        (tw, _), _ = cv2.getTextSize(model.cue, cv2.FONT_HERSHEY_SIMPLEX, s * 0.9, max(1, int(2 * s)))
        draw_text(image, model.cue, (max(0, (w - tw) // 2 - int(6 * s)), h - int(60 * s)), scale=0.9,
                  colour=(255, 255, 255), background=(0, 0, 200))
    if model.not_measurable:
        text = f"not measurable - {model.not_measurable}"
        (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, s * 0.6, max(1, int(2 * s)))
        draw_text(image, text, (max(0, (w - tw) // 2), int(8 * s)), scale=0.6, colour=(0, 0, 0),
                  background=(0, 215, 255))
    if model.resting_s is not None:
        draw_text(image, f"REST {model.resting_s:4.0f} s   (n: next set)", (w // 4, h // 2), scale=1.0,
                  background=(90, 30, 30))
    if model.paused:
        draw_text(image, "PAUSED (space to resume)", (w // 4, h // 2 + int(50 * s)), scale=0.9)
    return image


def blank_canvas(width_px: int, height_px: int) -> np.ndarray:
    """A dark background for drawing keypoints replayed from a recording (no video frames)."""
    return np.full((max(height_px, 1), max(width_px, 1), 3), 32, np.uint8)
