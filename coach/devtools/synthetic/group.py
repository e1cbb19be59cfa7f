"""Several synthetic people in one recording: `group_scene` puts the people of several clips side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coach.pose.landmarks import N_LANDMARKS
from coach.pose.series import PoseSeries
from coach.devtools.synthetic.arguments import check
from coach.devtools.synthetic.clip import SyntheticClip

# --------------------------------------------------------------------------------------------------------
# Several people in one picture
# --------------------------------------------------------------------------------------------------------


@dataclass
class GroupScene:
    """Several synthetic people in one recording (see `group_scene`)."""

    series: PoseSeries
    clips: list[SyntheticClip]  #: each person's own clip (their truth: reps, turning points...)
    slots: np.ndarray  #: (T, people) slot of each person per frame, -1 when not detected


def group_scene(clips: Sequence[SyntheticClip], *, x_frac: Sequence[float] | None = None,
                scale: Sequence[float] | None = None, absent: Sequence[tuple[int, float, float]] = (),
                seed: int = 0) -> GroupScene:
    """Put the people of several clips (same size and frame rate) side by side in one recording.

    Person k is scaled by `scale[k]` about the middle of the picture (feet kept on the same floor line) and
    moved so that their middle is at `x_frac[k]` of the frame width (default: spread evenly). `absent`
    lists (person, start_s, end_s) spans where that person is not detected (they left the picture; their
    movement goes on, so only what they do in view can be counted). The slot order changes at random now
    and then, like a detector's; `slots` says where everyone is. The recording is as long as the shortest
    clip.
    """
    check(len(clips) >= 1, "group_scene needs at least one clip")
    n = min(len(c.series) for c in clips)
    m = len(clips)
    w_px, h_px = clips[0].series.width_px, clips[0].series.height_px
    x_frac = list(x_frac) if x_frac is not None else [(k + 1) / (m + 1) for k in range(m)]
    scale = list(scale) if scale is not None else [min(1.0, 1.6 / m)] * m
    check(len(x_frac) == m and len(scale) == m, "x_frac and scale need one value per clip")
    rng = np.random.default_rng(seed)
    t_s = clips[0].series.timestamps_s[:n]
    xy_p, vis_p, world_p, shown = [], [], [], []
    for k, c in enumerate(clips):
        s = c.series
        rows = np.arange(n)
        slot = np.maximum(c.main_slot[:n], 0) if c.main_slot is not None else np.zeros(n, np.int64)
        here = (c.main_slot[:n] >= 0) if c.main_slot is not None else s.n_people[:n] > 0
        xy = s.xy_px[rows, slot].astype(np.float64)
        feet = float(np.nanmax(xy[..., 1]))
        xy = (xy - np.array([w_px / 2, feet])) * scale[k] + np.array([x_frac[k] * w_px, feet])
        for who, a, b in absent:
            if who == k:
                here &= ~((t_s >= a - 1e-9) & (t_s < b - 1e-9))
        xy_p.append(xy)
        vis_p.append(s.visibility[rows, slot])
        world_p.append(s.world_m[rows, slot])
        shown.append(here)
    shown_a = np.stack(shown, axis=1)  # (T, m)
    # detector order: a random permutation, kept for runs of 0.5-4 s
    order = np.empty((n, m), np.int64)
    t = 0
    while t < n:
        run = int(rng.integers(15, 120))
        order[t:t + run] = rng.permutation(m)
        t += run
    xy_out = np.full((n, m, N_LANDMARKS, 2), np.nan, np.float32)
    world_out = np.full((n, m, N_LANDMARKS, 3), np.nan, np.float32)
    vis_out = np.zeros((n, m, N_LANDMARKS), np.float32)
    slots = np.full((n, m), -1, np.int64)
    for i in range(n):
        p = 0
        for who in order[i]:
            if shown_a[i, who]:
                xy_out[i, p], vis_out[i, p] = xy_p[who][i], vis_p[who][i]
                world_out[i, p] = world_p[who][i]
                slots[i, who] = p
                p += 1
    meta = dict(source="synthetic:group", num_poses=m,
                synthetic={"group": [c.series.meta.get("synthetic") for c in clips], "x_frac": x_frac,
                           "scale": scale, "absent": [list(a) for a in absent], "seed": seed})
    series = PoseSeries(t_s.astype(np.float64), np.arange(n, dtype=np.int64), xy_out, vis_out, world_out,
                        shown_a.sum(axis=1).astype(np.int16), clips[0].series.fps, w_px, h_px, meta)
    return GroupScene(series, list(clips), slots)
