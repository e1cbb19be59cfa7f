"""The picture that explains a count: the primary measure over time with the thresholds the engine used,
the phases, each counted rep, each fault and the stretches it could not measure; under it a panel for
every other measure of the definition with the thresholds its phases and form rules compare it with
(`coach exercises try --plot`).

Drawing only: it reads a `CountResult` and the definition, and never counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.exercise.spec import ExerciseDefinition
from coach.exercise.expressions import Node

_PHASE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


@dataclass(frozen=True)
class Threshold:
    """One comparison of the primary measure with a number in a phase condition."""

    phase: str
    which: str  #: when | until
    op: str  #: < <= > >=, with the measure on the left
    value: float  #: degrees (or the measure's unit), or a percentage when `percent`
    percent: bool

    @property
    def label(self) -> str:
        verb = "enter" if self.which == "when" else "leave"
        return f"{self.phase}: {verb} {self.op} {self.value:g}{'%' if self.percent else ''}"


def side_words(side: str) -> str:
    """How the side a measure was taken on is said: "left side", "both sides, averaged", "" (no side)."""
    return {"left": "left side", "right": "right side", "both": "both sides, averaged"}.get(side, "")


def _compares(node: Node, measure: str):
    if node.kind == "cmp":
        a, b = node.args
        op = str(node.value)
        if a.kind == "name" and a.value == measure and b.kind in ("num", "pct"):
            yield op, float(b.value), b.kind == "pct"
        elif b.kind == "name" and b.value == measure and a.kind in ("num", "pct"):
            yield _FLIP[op], float(a.value), a.kind == "pct"
        return
    for arg in node.args:
        if isinstance(arg, Node):
            yield from _compares(arg, measure)


def phase_thresholds(d: ExerciseDefinition, measure: str | None = None) -> list[Threshold]:
    """Every `measure OP number` (or percentage) in the phases' conditions, of the primary measure or of
    `measure`."""
    out = []
    measure = measure or d.movement.measure
    for phase in d.movement.phases:
        for which in ("when", "until"):
            try:
                cond = d.condition(f"phase:{phase}:{which}")
            except KeyError:
                continue
            root = cond.root
            if which == "until" and d.movement.phases[phase].until is None:
                continue  # "not (when)": the same line as when
            for op, value, pct in _compares(root, measure):
                out.append(Threshold(phase, which, op, value, pct))
    return out


def phase_runs(times: np.ndarray, phases) -> list[tuple[float, float, str]]:
    """(start_s, end_s, phase) of each stretch in one phase ("" = between phases, left out)."""
    out = []
    n = len(times)
    i = 0
    while i < n:
        p = phases[i]
        j = i
        while j + 1 < n and phases[j + 1] == p:
            j += 1
        if p:
            end = times[j + 1] if j + 1 < n else times[j]
            out.append((float(times[i]), float(end), str(p)))
        i = j + 1
    return out


def _value_at(times: np.ndarray, values: np.ndarray, t: float) -> float:
    ok = ~np.isnan(values)
    if not ok.any():
        return float("nan")
    return float(np.interp(t, times[ok], values[ok]))


def per_side_results(definition: ExerciseDefinition, series, *, offline: bool = False) -> dict:
    """For `sides: each`: each side's own run (its measure, range, phases), for a panel per side.

    `count` counts both sides but keeps one side's trace; this replays each side alone (the same
    measures, range and machine as that side's run), for drawing only.
    """
    from coach.engine.counter import count

    out = {}
    for side in ("left", "right"):
        d2 = definition.model_copy(deep=True)
        d2.movement.sides = "together"
        for m in d2.measures.values():
            if m.side in ("auto", "both"):
                m.side = side
        out[side] = count(d2, series, side=side, offline=offline)
    return out


def plot_trace(result, definition: ExerciseDefinition, out_path: str | Path, *, title: str = "",
               mode: str = "", per_side: dict | None = None) -> Path:
    """Draw `result` (from `count`) for `definition` into a PNG (see `trace_figure`); returns the path."""
    import matplotlib.pyplot as plt

    fig = trace_figure(result, definition, title=title, mode=mode, per_side=per_side)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out_path


def trace_figure(result, definition: ExerciseDefinition, *, title: str = "", mode: str = "",
                 per_side: dict | None = None):
    """The matplotlib figure of `result` for `definition`: the primary measure's panel with the phase
    strip under it, then a panel per other measure (its own unit and thresholds, the phases shaded, the
    faults of rules that compare it). Each panel's axes has the measure's name as its `gid`.

    `per_side` ({"left": result, "right": result}, see `per_side_results`) draws these panels for each
    side, with the reps and faults of `result` credited to that side.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = definition
    if per_side:
        panels = [(s, per_side[s], [r for r in result.rep_records if r.side == s],
                   [f for f in result.faults if f.side in (s, "none", "both")]) for s in ("left", "right")]
    else:
        panels = [("", result, result.rep_records, result.faults)]
    others = [m for m in d.measures if m != d.movement.measure]
    times = result.trace.times_s
    duration = float(times[-1] - times[0]) if len(times) > 1 else 1.0
    width = float(np.clip(duration / 2.2, 11.0, 32.0))
    ratios = []
    for _ in panels:
        ratios += [9, 1.1] + [4.2] * len(others)
    n_axes = len(ratios)
    fig, axes = plt.subplots(n_axes, 1, figsize=(width, 0.7 * sum(ratios) + 0.3), sharex=True,
                             gridspec_kw={"height_ratios": ratios, "hspace": 0.12}, squeeze=False)
    axes = axes[:, 0]
    per_panel = 2 + len(others)
    for k, (side, res, reps, faults) in enumerate(panels):
        at = per_panel * k
        last = k == len(panels) - 1
        _panel(axes[at], axes[at + 1], d, res, reps, faults, side, last=last and not others)
        for j, name in enumerate(others):
            _measure_panel(axes[at + 2 + j], d, res, name, faults, side, last=last and j == len(others) - 1)

    n_reps = result.reps
    counted = f"{n_reps} rep{'s' if n_reps != 1 else ''}"
    if d.movement.sides == "each" or d.movement.credit_side is not None:
        counted += f" (left {result.reps_left}, right {result.reps_right})"
    if d.movement.hold is not None:
        counted += f", held {result.hold_s:.1f} s"
    head = title or d.id
    axes[0].set_title(f"{head}: {counted}" + (f"   [{mode}]" if mode else ""), fontsize=12, loc="left")
    return fig


def _not_measurable_masked(times: np.ndarray, values: np.ndarray, result) -> np.ndarray:
    """`values` with NaN inside the stretches the counter could not measure (the curve is not drawn
    where the counter did not use it)."""
    out = np.array(values, dtype=np.float64, copy=True)
    for nm in result.not_measurable:
        out[(times >= nm.start_s) & (times < nm.end_s)] = np.nan
    return out


def _shade(ax, result, times: np.ndarray, colours: dict, duration: float, strip=None) -> list:
    """Phases shaded behind a panel (and named in `strip`), not-measurable stretches hatched; legend handles."""
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory

    tr = result.trace
    phases = list(tr.phase) if len(tr.phase) == len(times) else [""] * len(times)
    top = blended_transform_factory(ax.transData, ax.transAxes)
    handles = []
    for t0, t1, p in phase_runs(times, phases):
        c = colours.get(p, "#999999")
        ax.axvspan(t0, t1, color=c, alpha=0.12, lw=0)
        if strip is not None:
            strip.axvspan(t0, t1, color=c, alpha=0.55, lw=0)
            if t1 - t0 > 0.02 * duration:
                strip.text((t0 + t1) / 2, 0.5, p, ha="center", va="center", fontsize=8, clip_on=True)
    for p, c in colours.items():
        handles.append(Patch(color=c, alpha=0.35, label=f"phase {p}"))
    for nm in result.not_measurable:
        for a in (ax, strip) if strip is not None else (ax,):
            a.axvspan(nm.start_s, nm.end_s, color="#777777", alpha=0.28, lw=0, hatch="//")
        if strip is not None and nm.end_s - nm.start_s > 0.015 * duration:
            reason = nm.reason if len(nm.reason) <= 70 else nm.reason[:67] + "…"
            ax.text((nm.start_s + nm.end_s) / 2, 0.5, f"not measurable: {reason}", transform=top, rotation=90,
                    ha="center", va="center", fontsize=7, color="#333333", clip_on=True)
    if result.not_measurable:
        handles.append(Patch(facecolor="#777777", alpha=0.35, hatch="//", label="not measurable"))
    return handles


def _mark_faults(ax, times: np.ndarray, values: np.ndarray, faults, *, ms: float) -> list:
    """A red cross with its code on the curve at each fault's time; the legend's handle (none without faults)."""
    for f in faults:
        y = _value_at(times, values, f.time_s)
        ax.plot([f.time_s], [y], "X", ms=ms, color="#d62728", mec="white", zorder=7)
        ax.annotate(f.code, (f.time_s, y), xytext=(4, 4), textcoords="offset points", fontsize=8,
                    color="#b71c1c", rotation=30, zorder=7)
    return [ax.plot([], [], "X", ms=ms, color="#d62728", label="form fault (code)")[0]] if faults else []


def _measure_panel(ax, d: ExerciseDefinition, result, name: str, faults, side_label: str, last: bool) -> None:
    """A measure other than the primary one: its values, the thresholds the phases and the form rules
    compare it with, and the faults of those rules."""
    tr = result.trace
    times = tr.times_s
    raw = tr.values.get(name, np.full(len(times), np.nan))
    values = _not_measurable_masked(times, raw, result)
    unit = d.measure_unit(name)
    duration = float(times[-1] - times[0]) if len(times) > 1 else 1.0
    colours = {p: _PHASE_COLOURS[k % len(_PHASE_COLOURS)] for k, p in enumerate(d.movement.phases)}
    _shade(ax, result, times, colours, duration)
    handles = []
    (curve,) = ax.plot(times, values, color="black", lw=1.3, label=name)
    handles.append(curve)
    levels = []
    for th in phase_thresholds(d, name):
        if th.percent:
            continue
        line = ax.axhline(th.value, color=colours.get(th.phase, "#555555"), ls="-" if th.which == "when" else "--",
                          lw=1.2, alpha=0.9, label=th.label)
        handles.append(line)
        levels.append(th.value)
    codes = set()
    for i, rule in enumerate(d.form):
        try:
            cond = d.condition(f"form:{i}")
        except KeyError:
            continue
        if name not in cond.names:
            continue
        codes.add(rule.code)
        for op, value, pct in _compares(cond.root, name):
            if pct:
                continue
            line = ax.axhline(value, color="#d62728", ls=":", lw=1.2,
                              label=f"fault {rule.code} if {op} {value:g} ({rule.check})")
            handles.append(line)
            levels.append(value)
    handles += _mark_faults(ax, times, raw, [f for f in faults if f.code in codes], ms=9)
    if d.movement.fallback is not None and d.movement.fallback.measure == name:
        handles.append(ax.plot([], [], " ", label=f"(fallback: counted when {d.movement.measure}\n"
                                                  f"cannot be measured)")[0])
    elif not levels and name not in d.used_measures():
        handles.append(ax.plot([], [], " ", label="(not used by any phase or rule)")[0])
    label = f"{side_label} {name}" if side_label else name
    ax.set_ylabel(f"{label} ({unit})" if unit else label, fontsize=9)
    ax.set_gid(name)
    ax.grid(True, alpha=0.25)
    if last:
        ax.set_xlabel("time (s)")
    if len(times):
        ax.set_xlim(float(times[0]), float(times[-1]))
    finite = values[~np.isnan(values)]
    if finite.size or levels:
        lo = min([*finite.tolist(), *levels]) if finite.size else min(levels)
        hi = max([*finite.tolist(), *levels]) if finite.size else max(levels)
        pad = 0.1 * max(hi - lo, 1e-6)
        ax.set_ylim(lo - pad, hi + pad)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)


def _panel(ax, strip, d: ExerciseDefinition, result, reps, faults, side_label: str, last: bool) -> None:
    from matplotlib.transforms import blended_transform_factory

    tr = result.trace
    times = tr.times_s
    values = tr.counted
    has_range = d.movement.range is not None and len(times) > 0
    lo = tr.range_lo if has_range else None
    hi = tr.range_hi if has_range else None
    measure = tr.primary
    unit = d.measure_unit(measure)
    duration = float(times[-1] - times[0]) if len(times) > 1 else 1.0
    colours = {p: _PHASE_COLOURS[k % len(_PHASE_COLOURS)] for k, p in enumerate(d.movement.phases)}
    top = blended_transform_factory(ax.transData, ax.transAxes)
    # phases shaded behind the curve and named in the strip below; not measurable: grey, with the reason
    handles = _shade(ax, result, times, colours, duration, strip)

    # holds
    for h in result.holds:
        ax.axvspan(h.start_s, h.end_s, ymin=0.0, ymax=0.04, color="#2ca02c", alpha=0.8, lw=0)
        ax.text((h.start_s + h.end_s) / 2, 0.05, f"hold {h.duration_s:.1f} s", transform=top, ha="center",
                va="bottom", fontsize=8, color="#1b5e20")

    # thresholds: absolute ones as lines, percentages as the band the adaptive range made of them
    for th in phase_thresholds(d):
        c = colours.get(th.phase, "#555555")
        ls = "-" if th.which == "when" else "--"
        if th.percent:
            if lo is None or hi is None:
                continue
            y = lo + (hi - lo) * (th.value / 100.0)
            (line,) = ax.plot(times, y, color=c, ls=ls, lw=1.3, alpha=0.9)
        else:
            line = ax.axhline(th.value, color=c, ls=ls, lw=1.3, alpha=0.9)
        line.set_label(th.label)
        handles.append(line)
    for rule in d.form:  # form rules on the primary measure: where a fault starts
        try:
            cond = d.condition(f"form:{d.form.index(rule)}")
        except KeyError:
            continue
        for op, value, pct in _compares(cond.root, measure):
            if pct:
                if lo is None or hi is None:
                    continue
                (line,) = ax.plot(times, lo + (hi - lo) * (value / 100.0), color="#d62728", ls=":", lw=1.2)
            else:
                line = ax.axhline(value, color="#d62728", ls=":", lw=1.2)
            line.set_label(f"fault {rule.code} if {op} {value:g}{'%' if pct else ''} ({rule.check})")
            handles.append(line)
    if lo is not None and hi is not None:
        ax.fill_between(times, lo, hi, color="#bbbbbb", alpha=0.12, lw=0)
        (r0,) = ax.plot(times, lo, color="#888888", lw=0.8, ls=":")
        ax.plot(times, hi, color="#888888", lw=0.8, ls=":")
        r0.set_label("adaptive range 0% / 100%")
        handles.append(r0)

    # the measure the machine saw, where it used it
    sw = side_words(tr.side)
    (curve,) = ax.plot(times, _not_measurable_masked(times, values, result), color="black", lw=1.6,
                       label=f"{measure} ({sw})" if sw else measure)
    handles.insert(0, curve)

    # reps: number at the turning point, span along the top
    for r in reps:
        turn = r.start_s + r.eccentric_s
        y = _value_at(times, values, turn)
        ax.plot([turn], [y], "o", ms=9, mfc="#2e7d32", mec="white", mew=1.5, zorder=5)
        at_min = abs(y - r.min_value) <= abs(y - r.max_value)  # a low turning point: number below it
        ax.annotate(str(r.index), (turn, y), xytext=(0, -17 if at_min else 9),
                    textcoords="offset points", ha="center", fontsize=11, fontweight="bold", color="#1b5e20",
                    zorder=6)
        ax.plot([r.start_s, r.end_s], [0.95, 0.95], transform=top, color="#2e7d32", lw=3,
                solid_capstyle="butt")
        ax.plot([r.start_s, r.start_s], [0.93, 0.97], transform=top, color="#2e7d32", lw=1)
        ax.plot([r.end_s, r.end_s], [0.93, 0.97], transform=top, color="#2e7d32", lw=1)
        side = f" {r.side[0].upper()}" if r.side in ("left", "right") else ""
        ax.text((r.start_s + r.end_s) / 2, 0.962, f"rep {r.index}{side}", transform=top, ha="center",
                va="bottom", fontsize=8, color="#1b5e20")
    if reps:
        handles.append(ax.plot([], [], "o", ms=9, mfc="#2e7d32", mec="white",
                               label="counted rep: number at its turning point,\nspan on top (it ends when the condition of\nits last phase began to hold)")[0])

    handles += _mark_faults(ax, times, values, faults, ms=10)

    name = f"{side_label} {measure}" if side_label else measure
    ax.set_ylabel(f"{name} ({unit})" if unit else name)
    ax.set_gid(measure)
    ax.grid(True, alpha=0.25)
    strip.set_yticks([])
    strip.set_ylabel("phase", rotation=0, ha="right", va="center", fontsize=9)
    if last:
        strip.set_xlabel("time (s)")
    if len(times):
        ax.set_xlim(float(times[0]), float(times[-1]))
    finite = values[~np.isnan(values)] if len(values) else values
    if not finite.size:
        ax.set_yticks([])
    if finite.size:
        ylo, yhi = float(finite.min()), float(finite.max())
        for th in phase_thresholds(d):
            if not th.percent:
                ylo, yhi = min(ylo, th.value), max(yhi, th.value)
        pad = 0.12 * max(yhi - ylo, 1e-6)
        ax.set_ylim(ylo - pad, yhi + 2.2 * pad)  # room at the top for the rep spans
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
