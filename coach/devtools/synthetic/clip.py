"""`synthesize`: one person performing an exercise, as a recording plus its true answers (`SyntheticClip`).

It checks the options, builds the timeline, poses and places the body, films it, adds a bystander, noise and
dropouts, and packs everyone into detector slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from coach.pose.landmarks import N_LANDMARKS
from coach.pose.landmarks import landmark_index as _i
from coach.pose.series import PoseSeries
from coach.devtools.synthetic.arguments import check
from coach.devtools.synthetic.bystanders import bystander, slot_order
from coach.devtools.synthetic.camera import (
    PERSON_FRAME_FRACTION,
    VIEW_YAW_DEG,
    view_matrix,
    visibility_and_presence,
)
from coach.devtools.synthetic.exercise_poses import EXERCISES, SPECS, place_on_ground
from coach.devtools.synthetic.skeleton import STATURE_M, angle_traces, skeleton_from_pose
from coach.devtools.synthetic.timeline import build_timeline

_ARM_PARTS = ("elbow", "wrist", "pinky", "index", "thumb")
_LIMB_PARTS = _ARM_PARTS + ("knee", "ankle", "heel", "foot_index")
#: Seconds the pose model takes after a camera cut to let go of its last fit (`camera_cuts`).
REFIT_S = 0.4


@dataclass
class SyntheticClip:
    """A generated recording and the answers the counting engine should find in it."""

    series: PoseSeries  #: meta["source"] = "synthetic:<exercise>"
    exercise: str
    reps: int  #: the true count
    reps_left: int  #: per side, for alternating or one-sided movements (0 otherwise)
    reps_right: int
    turning_points_s: list[float]  #: time of each repetition's turning point, seconds
    hold_s: float | None  #: true seconds held, for holds (None otherwise)
    #: True 3-D joint angles per frame, degrees, from the noise-free skeleton: "<side>_knee" (hip-knee-ankle),
    #: "<side>_hip" (shoulder-hip-knee), "<side>_ankle" (knee-ankle-foot_index), "<side>_elbow"
    #: (shoulder-elbow-wrist), "<side>_shoulder" (elbow-shoulder-hip), and "trunk_incl" (mid-hip to
    #: mid-shoulder against vertical: 0 upright, 90 lying). 180 = straight joint.
    angle_trace_deg: dict[str, np.ndarray]
    primary: str = ""  #: key of angle_trace_deg that the movement is about (e.g. "left_knee")
    rep_spans_s: list[tuple[float, float]] = field(default_factory=list)  #: (start, back at start) per rep
    rep_sides: list[str] = field(default_factory=list)  #: "left"/"right"/"both" per rep
    hold_span_s: tuple[float, float] | None = None  #: (start, end) of the hold (first start, last end)
    hold_spans_s: list[tuple[float, float]] = field(default_factory=list)  #: each stretch in the hold pose
    jitter_span_s: tuple[float, float] | None = None  #: (start, end) of the jitter stretch, ramps included
    pause_span_s: tuple[float, float] | None = None
    main_slot: np.ndarray | None = None  #: (T,) slot of the exerciser per frame, -1 when nobody detected
    #: (T,) how far into the movement the exerciser is: 0 = start position, 1 = turning point / hold pose
    #: (the larger of the two sides for one-sided movements)
    progress: np.ndarray | None = None


def synthesize(
    exercise: str,
    *,
    reps: int = 5,
    rep_s: float = 2.0,
    depth: float = 1.0,
    fps: float = 30.0,
    view: str = "side",
    side: str = "left",
    lead_in_s: float = 1.5,
    tail_s: float = 1.5,
    noise_px: float = 0.0,
    dropouts: Sequence[tuple[float, float]] = (),
    fade_out: tuple[float, float] | None = None,
    camera_cuts: Sequence[tuple[float, float]] = (),
    cross_talk: bool = False,
    approach: tuple[float, float, float] | None = None,
    pause: tuple[float, float] | None = None,
    jitter_at_deg: float | None = None,
    hold_s: float | None = None,
    hold_transition_s: float = 1.5,
    hold_drift: float = 0.0,
    seed: int = 0,
    size_px: tuple[int, int] = (1280, 720),
    second_person: str | None = None,
    limbs: str | None = None,
) -> SyntheticClip:
    """Generate a person performing `exercise` (see the module docstring for every option's meaning).

    `limbs` picks which limbs move for one-sided-capable exercises: "both", "left", "right" or "alternate"
    (default: the exercise's usual mode — both arms for curls and raises, alternating legs for lunges, the
    `side` limb for elbow_flexion and heel_slide). Per-side counts are reported for every mode but "both".
    """
    reps, rep_s, depth, fps = int(reps), float(rep_s), float(depth), float(fps)  # numpy scalars too, for JSON
    noise_px, seed = float(noise_px), int(seed)
    check(exercise in SPECS, f"unknown exercise '{exercise}'; expected one of: {', '.join(EXERCISES)}")
    spec = SPECS[exercise]
    check(view in VIEW_YAW_DEG, f"view must be one of {', '.join(map(repr, VIEW_YAW_DEG))}, got {view!r}")
    check(side in ("left", "right"), f"side must be 'left' or 'right', got {side!r}")
    check(fps > 0 and rep_s > 0, f"fps and rep_s must be positive, got fps={fps}, rep_s={rep_s}")
    check(reps >= 0, f"reps must be >= 0, got {reps}")
    check(0.0 < depth <= 1.0, f"depth must be in (0, 1] (1 = the full textbook range), got {depth}")
    check(second_person in (None, "still", "crossing", "crossing_behind"),
          f"second_person must be None, 'still', 'crossing' or 'crossing_behind', got {second_person!r}")
    mode = limbs if limbs is not None else spec.limbs[0]
    if mode == "side":
        mode = side
    allowed = tuple(side if m == "side" else m for m in spec.limbs)
    check(mode in allowed, f"{exercise} can move limbs {sorted(set(allowed))}, got limbs={limbs!r}")
    if spec.hold:
        check(jitter_at_deg is None, f"{exercise} is a hold; jitter_at_deg applies to repetitions only")
        hold = 10.0 if hold_s is None else float(hold_s)
        check(hold > 0, f"hold_s must be positive, got {hold_s}")
        check(hold_transition_s > 0, f"hold_transition_s must be positive, got {hold_transition_s}")
        check(0.0 <= hold_drift < 1.0, f"hold_drift must be in [0, 1), got {hold_drift}")
        reps = 0
    else:
        check(hold_s is None, f"{exercise} is not a hold; hold_s applies to plank and wall_sit")
        hold = 0.0
    rng = np.random.default_rng(seed)
    primary_side = mode if mode in ("left", "right") else side
    primary = f"{primary_side}_{spec.primary}"

    # ---- timeline ------------------------------------------------------------------------------------
    timeline = build_timeline(spec, mode, side, reps=reps, rep_s=rep_s, depth=depth, fps=fps, lead_in_s=lead_in_s,
                              tail_s=tail_s, pause=pause, jitter_at_deg=jitter_at_deg, hold=hold, primary=primary,
                              primary_side=primary_side, rng=rng, transition_s=float(hold_transition_s),
                              drift=float(hold_drift) if spec.hold else 0.0)
    t_s, q_l, q_r = timeline.t_s, timeline.q_l, timeline.q_r
    n = len(t_s)
    sides, hold_spans = timeline.rep_sides, timeline.hold_spans_s

    # ---- the exerciser ---------------------------------------------------------------------------------
    pose = spec.pose(q_l, q_r, depth, mode)
    body = skeleton_from_pose(pose)
    traces = angle_traces(body)
    placed = place_on_ground(body, spec, q_l, q_r, mode, pose.lift)
    w_px, h_px = int(size_px[0]), int(size_px[1])
    cam = view_matrix(view, side)
    cam_pts = placed @ cam.T  # (T, 33, 3), metres, camera axes
    lo, hi = np.nanmin(cam_pts[..., :2], axis=(0, 1)), np.nanmax(cam_pts[..., :2], axis=(0, 1))
    # a standing person fills 60% of the frame height; someone lying in a portrait frame is framed smaller
    px_per_m = min(PERSON_FRAME_FRACTION * h_px / STATURE_M, 0.9 * w_px / max(hi[0] - lo[0], 1e-6),
                   0.9 * h_px / max(hi[1] - lo[1], 1e-6))
    centre_m = (lo + hi) / 2
    origin_px = np.array([w_px / 2, h_px / 2]) - px_per_m * centre_m
    img = origin_px + px_per_m * cam_pts[..., :2]
    mid_hip = (body[:, _i("left_hip")] + body[:, _i("right_hip")]) / 2
    world = (body - mid_hip[:, None, :]) @ cam.T
    vis, pres = visibility_and_presence(view, side, n, rng)

    if cross_talk:  # the hidden limbs copy the visible ones, as a pose model guesses what it cannot see
        check(view != "front", "cross_talk needs a side or oblique view (a far side to hide)")
        far = "right" if side == "left" else "left"
        for part in _LIMB_PARTS:
            near_i, far_i = _i(f"{side}_{part}"), _i(f"{far}_{part}")
            root = "shoulder" if part in _ARM_PARTS else "hip"
            for pts in (img, world):
                pts[:, far_i] = pts[:, near_i] + (pts[:, _i(f"{far}_{root}")] - pts[:, _i(f"{side}_{root}")])

    people = [(img, vis, pres, world)]
    present = [np.ones(n, bool)]
    if second_person is not None:
        other, other_present = bystander(second_person, n, t_s, img, px_per_m, w_px, h_px, rng)
        if second_person == "crossing":  # walking in front hides what it passes
            occluded = np.abs(img[..., 0] - other[0][:, _i("left_hip"), 0][:, None]) < 0.22 * px_per_m
            vis = np.where(occluded & other_present[:, None], vis * 0.25, vis)
            people[0] = (img, vis, pres, world)
        people.append(other)
        present.append(other_present)

    # ---- camera cuts: the picture zooms in one frame, and the model refits over the next REFIT_S ----------
    cut_flags = np.zeros(n, bool)
    for cut in sorted(camera_cuts):
        t_cut, zoom, lag_s = (tuple(cut) + (0.0,))[:3]
        check(t_s[0] < float(t_cut) <= t_s[-1] and float(zoom) > 0 and float(lag_s) >= 0,
              f"camera_cuts takes (time_s, zoom[, refit_from_s]) inside the clip with zoom > 0, got {cut}")
        k = int(np.searchsorted(t_s, float(t_cut) - 1e-9))
        cut_flags[k] = True
        xy0, v0, pr0, wd0 = people[0]
        centre = np.nanmean(xy0[k, [_i("left_hip"), _i("right_hip"), _i("left_shoulder"), _i("right_shoulder")]],
                            axis=0)
        people = [(np.concatenate([xy[:k], centre + float(zoom) * (xy[k:] - centre)]), v, pr, wd)
                  for xy, v, pr, wd in people]
        xy0 = people[0][0]
        # the model's last fit before the cut (showing the body as it was `lag_s` earlier: an edit that cut out
        # that much of the movement)...
        j = max(0, k - 1 - int(round(float(lag_s) * fps)))
        frozen_xy, frozen_wd = xy0[j].copy(), wd0[j].copy()
        refit = (t_s >= t_s[k]) & (t_s < t_s[k] + REFIT_S)
        w = (1.0 - (t_s[refit] - t_s[k]) / REFIT_S)[:, None, None]  # ...which it lets go of over REFIT_S
        xy0, wd0 = xy0.copy(), wd0.copy()
        xy0[refit] = w * frozen_xy + (1.0 - w) * xy0[refit]
        wd0[refit] = w * frozen_wd + (1.0 - w) * wd0[refit]
        people[0] = (xy0, v0, pr0, wd0)

    # ---- walking towards the camera: the picture grows about the top of the head, the feet leave the frame
    if approach is not None:
        a, b, zoom = (float(v) for v in approach)
        check(0.0 <= a < b and zoom > 0, f"approach must be (start_s, end_s, zoom) with start < end, got {approach}")
        k = int(np.searchsorted(t_s, a - 1e-9))
        xy0 = people[0][0]
        top = np.array([float(np.nanmean(xy0[k, :, 0])), float(np.nanmin(xy0[k, :, 1]))])
        z = 1.0 + (zoom - 1.0) * np.clip((t_s - a) / (b - a), 0.0, 1.0)
        people = [(top + z[:, None, None] * (xy - top), v, pr, wd) for xy, v, pr, wd in people]

    # ---- noise -------------------------------------------------------------------------------------------
    if noise_px > 0:
        people = [(xy + rng.normal(0, noise_px, xy.shape), v, pr,
                   wd + rng.normal(0, noise_px / px_per_m, wd.shape)) for xy, v, pr, wd in people]

    # a fade to black: the exerciser's keypoints grow less visible and wander, then nobody is found
    if fade_out is not None:
        a, b = float(fade_out[0]), float(fade_out[1])
        check(0.0 <= a < b, f"fade_out must be (start_s, end_s) with 0 <= start_s < end_s, got {fade_out}")
        k = np.clip((t_s - a) / (b - a), 0.0, 1.0)
        xy, v, pr, wd = people[0]
        wander = rng.normal(0.0, 1.0, wd.shape) * (0.1 * k)[:, None, None]  # metres
        people[0] = (xy + px_per_m * wander[..., :2], v * (1.0 - k)[:, None], pr, wd + wander)

    # out-of-frame landmarks are barely visible, as MediaPipe reports them
    people = [(xy, np.where((xy[..., 0] < 0) | (xy[..., 0] >= w_px) | (xy[..., 1] < 0) | (xy[..., 1] >= h_px),
                            np.minimum(v, 0.05), v), pr, wd) for xy, v, pr, wd in people]

    # ---- pack into slots ---------------------------------------------------------------------------------
    detected = np.ones(n, bool)
    for a, b in dropouts:
        detected &= ~((t_s >= a - 1e-9) & (t_s < b - 1e-9))
    if fade_out is not None:
        detected &= t_s < float(fade_out[1]) - 1e-9
    n_slots = len(people)
    xy_out = np.full((n, n_slots, N_LANDMARKS, 2), np.nan, np.float32)
    world_out = np.full((n, n_slots, N_LANDMARKS, 3), np.nan, np.float32)
    vis_out = np.zeros((n, n_slots, N_LANDMARKS), np.float32)
    pres_out = np.zeros((n, n_slots, N_LANDMARKS), np.float32)
    main_slot = np.full(n, -1, np.int64)
    order = slot_order(second_person, n, people, present, t_s, rng)  # (T, people): person id per rank
    shown = np.stack(present, axis=-1) & detected[:, None]  # (T, people)
    rows = np.arange(n)
    shown_by_rank = shown[rows[:, None], order]
    for who, (xy, v, pr, wd) in enumerate(people):
        rank = np.argmax(order == who, axis=1)
        slot = np.sum(shown_by_rank & (np.arange(n_slots)[None, :] < rank[:, None]), axis=1)
        f = np.flatnonzero(shown[:, who])
        xy_out[f, slot[f]], vis_out[f, slot[f]], pres_out[f, slot[f]], world_out[f, slot[f]] = (
            xy[f], v[f], pr[f], wd[f])
        if who == 0:
            main_slot[f] = slot[f]
    n_people = shown.sum(axis=1).astype(np.int16)

    meta = dict(
        source=f"synthetic:{exercise}", model_variant="", num_poses=n_slots,
        synthetic={
            "exercise": exercise, "reps": reps, "rep_s": rep_s, "depth": depth, "view": view, "side": side,
            "limbs": mode, "noise_px": noise_px, "dropouts": [list(map(float, d)) for d in dropouts],
            "pause": list(map(float, pause)) if pause else None, "jitter_at_deg": jitter_at_deg,
            "hold_s": hold if spec.hold else None, "hold_transition_s": float(hold_transition_s),
            "hold_drift": float(hold_drift), "seed": seed, "second_person": second_person,
        },
    )
    del pres_out  # the generator draws presence like the model reports it; the pose container keeps none
    series = PoseSeries(t_s.astype(np.float64), np.arange(n, dtype=np.int64), xy_out, vis_out, world_out, n_people,
                        float(fps), w_px, h_px, meta, cut_flags if len(camera_cuts) else None)
    per_side = mode != "both"
    return SyntheticClip(
        series=series, exercise=exercise, reps=reps,
        reps_left=sides.count("left") if per_side else 0, reps_right=sides.count("right") if per_side else 0,
        turning_points_s=timeline.turning_points_s, hold_s=hold if spec.hold else None, angle_trace_deg=traces,
        primary=primary, rep_spans_s=timeline.rep_spans_s, rep_sides=sides,
        hold_span_s=(hold_spans[0][0], hold_spans[-1][1]) if hold_spans else None,
        hold_spans_s=hold_spans, jitter_span_s=timeline.jitter_span_s,
        pause_span_s=timeline.pause_span_s, main_slot=main_slot, progress=np.maximum(q_l, q_r),
    )
