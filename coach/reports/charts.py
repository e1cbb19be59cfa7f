"""Report charts: matplotlib figures on the Agg canvas (no display, no pyplot) as PNG bytes, drawn from a
report model only."""

from __future__ import annotations

import io
from datetime import timedelta

from coach.reports.model import ExerciseReport, Report

#: colours that stay apart for the colour-blind (Okabe–Ito)
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SIDE_COLOURS = {"left": "#0072B2", "right": "#E69F00", "both": "#009E73"}
TARGET_COLOUR = "#D55E00"

WIDTH_IN, HEIGHT_IN, DPI = 7.6, 2.7, 100


def _figure(height_in: float = HEIGHT_IN):
    """A figure on its own Agg canvas: no pyplot, no global backend or figure list (safe in a server)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _legend(ax) -> None:
    """Above the plot, in one row: never over the data."""
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=4, fontsize=8, frameon=False,
              borderaxespad=0.2)


def _dates(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def adherence_chart(report: Report) -> bytes | None:
    """Sessions done per week (bars) against sessions prescribed (line)."""
    if not report.adherence:
        return None
    fig, ax = _figure(2.3)
    weeks = [w.week_start for w in report.adherence]
    ax.bar(weeks, [w.done for w in report.adherence], width=5, color=COLOURS[0], label="sessions done",
           align="edge")
    if any(w.prescribed for w in report.adherence):
        xs, ys = [], []
        for w in report.adherence:
            xs += [w.week_start, w.week_start + timedelta(days=7)]
            ys += [w.prescribed or 0] * 2
        ax.plot(xs, ys, color=TARGET_COLOUR, linestyle="--", linewidth=1.5, label="prescribed")
    ax.set_ylabel("sessions / week")
    _legend(ax)
    _dates(ax)
    return _png(fig)


def rom_chart(ex: ExerciseReport) -> bytes | None:
    """Mean range of motion per session, one line per measure and side, with the target as a dashed line."""
    series = [s for s in ex.rom if s.points]
    if not series:
        return None
    fig, ax = _figure()
    for i, s in enumerate(series):
        colour = SIDE_COLOURS.get(s.side, COLOURS[i % len(COLOURS)]) if s.measure == ex.measure else COLOURS[
            (i + 3) % len(COLOURS)]
        xs = [p.started_at for p in s.points]
        ax.plot(xs, [p.mean for p in s.points], marker="o", markersize=3 if len(xs) < 60 else 0, linewidth=1.4,
                color=colour, label=f"{s.label}, {s.side} (mean)")
        ax.fill_between(xs, [p.min for p in s.points], [p.max for p in s.points], color=colour, alpha=0.12,
                        linewidth=0)
    if ex.target_rom:
        ax.axhline(ex.target_rom, color=TARGET_COLOUR, linestyle="--", linewidth=1.5,
                   label=f"target {ex.target_rom:g}°")
    unit = "degrees" if ex.unit == "deg" else ex.unit
    ax.set_ylabel(f"range of motion ({unit})")
    _legend(ax)
    _dates(ax)
    return _png(fig)


def reps_chart(ex: ExerciseReport) -> bytes | None:
    """Reps done per session (bars) against the target (dashed steps)."""
    if not ex.sessions:
        return None
    fig, ax = _figure(2.3)
    xs = [s.started_at for s in ex.sessions]
    width = 0.6 if len(xs) < 120 else 0.9
    ax.bar(xs, [s.reps for s in ex.sessions], width=width, color=COLOURS[2], label="reps done")
    if any(s.target_reps for s in ex.sessions):
        ax.plot(xs, [s.target_reps for s in ex.sessions], color=TARGET_COLOUR, linestyle="--", drawstyle="steps-mid",
                linewidth=1.5, label="target")
    ax.set_ylabel("reps / session")
    _legend(ax)
    _dates(ax)
    return _png(fig)


def faults_chart(ex: ExerciseReport) -> bytes | None:
    """Form faults per week, stacked by type."""
    if not ex.faults_total:
        return None
    fig, ax = _figure(2.3)
    weeks = sorted(ex.faults_per_week)
    bottom = [0] * len(weeks)
    for i, code in enumerate(sorted(ex.faults_total, key=lambda c: -ex.faults_total[c])):
        ys = [ex.faults_per_week[w].get(code, 0) for w in weeks]
        ax.bar(weeks, ys, bottom=bottom, width=5, align="edge", color=COLOURS[(i + 1) % len(COLOURS)], label=code)
        bottom = [b + y for b, y in zip(bottom, ys)]
    ax.set_ylabel("faults / week")
    _legend(ax)
    _dates(ax)
    return _png(fig)


def tempo_chart(ex: ExerciseReport) -> bytes | None:
    """Mean eccentric and concentric seconds per session."""
    pts = [s for s in ex.sessions if s.mean_eccentric_s is not None]
    if not pts:
        return None
    fig, ax = _figure(2.1)
    xs = [s.started_at for s in pts]
    small = 3 if len(xs) < 60 else 0
    ax.plot(xs, [s.mean_eccentric_s for s in pts], marker="o", markersize=small, color=COLOURS[0],
            label="eccentric (lowering) s")
    ax.plot(xs, [s.mean_concentric_s for s in pts], marker="s", markersize=small, color=COLOURS[1],
            label="concentric (lifting) s")
    ax.set_ylabel("seconds / rep")
    ax.set_ylim(bottom=0)
    _legend(ax)
    _dates(ax)
    return _png(fig)


def pain_chart(report: Report) -> bytes | None:
    """Reported pain and effort (0–10) per session."""
    notes = [n for n in report.notes if n.pain_0_10 is not None or n.effort_rpe_0_10 is not None]
    if not notes:
        return None
    fig, ax = _figure(2.1)
    small = 3 if len(notes) < 60 else 0
    pain = [(n.started_at, n.pain_0_10) for n in notes if n.pain_0_10 is not None]
    effort = [(n.started_at, n.effort_rpe_0_10) for n in notes if n.effort_rpe_0_10 is not None]
    if pain:
        ax.plot(*zip(*pain), marker="o", markersize=small, color=TARGET_COLOUR, label="pain")
    if effort:
        ax.plot(*zip(*effort), marker="s", markersize=small, color=COLOURS[0], alpha=0.7, label="effort (RPE)")
    ax.set_ylim(-0.3, 10.3)
    ax.set_ylabel("0–10")
    _legend(ax)
    _dates(ax)
    return _png(fig)


def all_charts(report: Report) -> dict[str, bytes]:
    """Every chart of the report by key: "adherence", "pain", "<exercise>.rom|reps|faults|tempo"."""
    out: dict[str, bytes] = {}
    for key, make in (("adherence", adherence_chart), ("pain", pain_chart)):
        png = make(report)
        if png:
            out[key] = png
    for ex in report.exercises:
        for kind, make in (("rom", rom_chart), ("reps", reps_chart), ("faults", faults_chart),
                           ("tempo", tempo_chart)):
            png = make(ex)
            if png:
                out[f"{ex.exercise_id}.{kind}"] = png
    return out
