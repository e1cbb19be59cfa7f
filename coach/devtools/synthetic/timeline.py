"""The clip's timeline: per-frame progress of each side through lead-in, repetitions, holds, pauses and the
jitter stretch, with the true turning points and spans (see the package docstring for the timing rules).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.devtools.synthetic.arguments import check
from coach.devtools.synthetic.exercise_poses import Spec
from coach.devtools.synthetic.skeleton import angle_traces, skeleton_from_pose

_TRANSITION_S = 1.5  # getting into / out of a hold
_JITTER_RAMP_S = 1.0
_JITTER_AMPLITUDE_DEG = 3.0


# --------------------------------------------------------------------------------------------------------
# Timeline: per-frame progress of each side
# --------------------------------------------------------------------------------------------------------


@dataclass
class Timeline:
    t_s: np.ndarray  #: (T,) frame times, seconds
    q_l: np.ndarray  #: (T,) progress of the left side: 0 = start position, 1 = turning point / hold pose
    q_r: np.ndarray
    turning_points_s: list[float]
    rep_spans_s: list[tuple[float, float]]
    rep_sides: list[str]
    hold_spans_s: list[tuple[float, float]]
    jitter_span_s: tuple[float, float] | None
    pause_span_s: tuple[float, float] | None


def _rep_sides(reps: int, mode: str, side: str) -> list[str]:
    if mode == "alternate":
        other = "right" if side == "left" else "left"
        return [side if i % 2 == 0 else other for i in range(reps)]
    return [mode] * reps


def _assign(q_l: np.ndarray, q_r: np.ndarray, frames: slice, q: np.ndarray, who: str) -> None:
    if who in ("both", "left"):
        q_l[frames] = q
    if who in ("both", "right"):
        q_r[frames] = q


def build_timeline(spec: Spec, mode: str, side: str, *, reps: int, rep_s: float, depth: float, fps: float,
                   lead_in_s: float, tail_s: float, pause: tuple[float, float] | None,
                   jitter_at_deg: float | None, hold: float, primary: str, primary_side: str,
                   rng: np.random.Generator, transition_s: float = _TRANSITION_S,
                   drift: float = 0.0) -> Timeline:
    """Lay out the clip (lead-in, repetitions or the hold, pause, jitter stretch, tail) and fill in each side's
    progress frame by frame. `mode` is the resolved limb mode, `hold` the seconds to hold (holds only),
    `primary` the angle trace the jitter stretch hovers on; `rng` is used by the jitter stretch only.
    Holds: `transition_s` seconds getting into and out of the pose; `drift` the progress lost, linearly, over
    each stretch in the pose (a tiring person sinking or rising a little)."""
    rest_s = min(0.4, 0.15 * rep_s)
    move_s = rep_s - rest_s
    segments: list[tuple[str, float, object]] = [("still", lead_in_s, None)]
    pause_span = None
    jitter_span = None
    hold_spans: list[tuple[float, float]] = []
    sides = _rep_sides(reps, mode, side)
    if spec.hold:
        segments.append(("in", transition_s, None))
        if pause is None:
            segments.append(("hold", hold, None))
        else:  # a broken hold: out of the pose, a rest, back in; only the time in the pose counts
            first = float(pause[0]) - lead_in_s - transition_s
            check(0 < first < hold, f"pause at {pause[0]} s must fall inside the hold "
                                    f"({lead_in_s + transition_s:g}..{lead_in_s + transition_s + hold:g} s)")
            segments += [("hold", first, None), ("out", transition_s, None), ("still", float(pause[1]), "pause"),
                         ("in", transition_s, None), ("hold", hold - first, None)]
        segments.append(("out", transition_s, None))
    else:
        t = lead_in_s
        for who in sides:
            if pause is not None and pause_span is None and t >= pause[0] - 1e-9:
                segments.append(("still", float(pause[1]), None))
                pause_span = (t, t + float(pause[1]))
                t += float(pause[1])
            segments.append(("rep", rep_s, who))
            t += rep_s
        if pause is not None and pause_span is None:
            segments.append(("still", float(pause[1]), None))
            pause_span = (t, t + float(pause[1]))
        if jitter_at_deg is not None:
            segments.append(("jitter", 2 * _JITTER_RAMP_S + max(4.0, 2 * rep_s), primary_side))
    segments.append(("still", tail_s, None))
    total_s = sum(d for _, d, _ in segments)
    n = int(round(total_s * fps))
    check(n >= 2, f"the clip would have {n} frames; give longer lead_in_s/tail_s or more reps")
    t_s = np.arange(n) / fps
    q_l, q_r = np.zeros(n), np.zeros(n)
    turning: list[float] = []
    spans: list[tuple[float, float]] = []
    t0 = 0.0
    for kind, dur, arg in segments:
        mask = slice(int(np.searchsorted(t_s, t0 - 1e-9)), int(np.searchsorted(t_s, t0 + dur - 1e-9)))
        tau = t_s[mask] - t0
        if kind == "rep":
            q = np.where(tau < move_s, (1 - np.cos(2 * np.pi * np.clip(tau, 0, move_s) / move_s)) / 2, 0.0)
            _assign(q_l, q_r, mask, q, arg)
            turning.append(t0 + move_s / 2)
            spans.append((t0, t0 + move_s))
        elif kind == "in":
            _assign(q_l, q_r, mask, (1 - np.cos(np.pi * np.clip(tau / dur, 0, 1))) / 2, "both")
        elif kind == "hold":
            _assign(q_l, q_r, mask, 1.0 - drift * tau / dur, "both")
            hold_spans.append((t0, t0 + dur))
        elif kind == "still" and arg == "pause":
            pause_span = (t0, t0 + dur)
        elif kind == "out":
            _assign(q_l, q_r, mask, (1.0 - drift) * (1 + np.cos(np.pi * np.clip(tau / dur, 0, 1))) / 2, "both")
        elif kind == "jitter":
            who = "both" if mode == "both" else str(arg)
            q = _jitter_progress(spec, mode, depth, who, float(jitter_at_deg), primary, tau, dur, rng)
            _assign(q_l, q_r, mask, q, who)
            jitter_span = (t0, t0 + dur)
        t0 += dur
    return Timeline(t_s=t_s, q_l=q_l, q_r=q_r, turning_points_s=turning, rep_spans_s=spans, rep_sides=sides,
                    hold_spans_s=hold_spans, jitter_span_s=jitter_span, pause_span_s=pause_span)


def _primary_curve(spec: Spec, mode: str, depth: float, who: str, primary: str):
    """Primary angle as a function of progress q for the moving side: (q grid, angle grid)."""
    qs = np.linspace(0.0, 1.0, 1001)
    zero = np.zeros_like(qs)
    q_l = qs if who in ("both", "left") else zero
    q_r = qs if who in ("both", "right") else zero
    return qs, angle_traces(skeleton_from_pose(spec.pose(q_l, q_r, depth, mode)))[primary]


def _jitter_progress(spec, mode, depth, who, at_deg, primary, tau, dur, rng) -> np.ndarray:
    """Progress q over a jitter segment: ramp to `at_deg`, hover ±3°, ramp back."""
    qs, ang = _primary_curve(spec, mode, depth, who, primary)
    steps = np.diff(ang)
    check(bool(np.all(steps <= 1e-9) or np.all(steps >= -1e-9)),
          f"the primary angle {primary} is not monotonic in this movement; jitter_at_deg is unsupported")
    lo, hi = float(ang.min()), float(ang.max())
    check(lo <= at_deg <= hi, f"jitter_at_deg={at_deg} is outside the movement's range of {primary} "
                              f"({lo:.1f}..{hi:.1f} deg at depth {depth})")
    xp, fp = (ang, qs) if ang[-1] > ang[0] else (ang[::-1], qs[::-1])
    to_q = lambda a: np.interp(a, xp, fp)  # noqa: E731
    q_at = float(to_q(at_deg))
    hover = dur - 2 * _JITTER_RAMP_S
    # smooth wander: three sinusoids of random phase, 0.6-1.6 Hz, plus white noise, tapered at both ends
    freqs, phases = rng.uniform(0.6, 1.6, 3), rng.uniform(0, 2 * np.pi, 3)
    grid = np.linspace(0, hover, 2000)
    wander = sum(np.sin(2 * np.pi * f * grid + ph) for f, ph in zip(freqs, phases))
    wander = wander / np.max(np.abs(wander))
    h = tau - _JITTER_RAMP_S
    dev = 0.8 * np.interp(h, grid, wander) + 0.2 * np.clip(rng.normal(0, 1, tau.shape), -1, 1)
    taper = np.clip(np.minimum(h, hover - h) / 0.3, 0, 1)
    hover_q = to_q(at_deg + _JITTER_AMPLITUDE_DEG * np.clip(dev, -1, 1) * taper)
    ramp_in = q_at * (1 - np.cos(np.pi * np.clip(tau / _JITTER_RAMP_S, 0, 1))) / 2
    ramp_out = q_at * (1 + np.cos(np.pi * np.clip((tau - _JITTER_RAMP_S - hover) / _JITTER_RAMP_S, 0, 1))) / 2
    return np.where(tau < _JITTER_RAMP_S, ramp_in, np.where(h < hover, hover_q, ramp_out))
