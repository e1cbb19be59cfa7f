"""Report charts: matplotlib figures on the Agg canvas (no display, no pyplot) as PNG bytes, drawn from a
report model only."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta, timezone

from coach.reports.model import ExerciseReport, Report

#: colours that stay apart for the colour-blind (Okabe–Ito)
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SIDE_COLOURS = {"left": "#0072B2", "right": "#E69F00", "both": "#009E73"}
TARGET_COLOUR = "#D55E00"

WIDTH_IN, HEIGHT_IN, DPI = 7.6, 2.7, 100

#: the shortest time axis of a per-session chart, in days: a first session (or one day's sessions) is shown
#: in the week around it, not stretched over hours (or, for one point, over years)
MIN_DAYS_SHOWN = 7
#: the shortest axis of a per-week chart, in weeks: a first week's bar is one of several, not the whole plot
MIN_WEEKS_SHOWN = 5
#: sessions on at most this many days are charted one slot per session (labelled by time), not on a time
#: axis where a day's sessions would stack on one vertical line
MAX_DAYS_BY_SESSION = 2
#: a period of fewer (Monday to Sunday) weeks has no per-week charts: its weeks are in the summary table
MIN_WEEKS_FOR_WEEKLY = 3


class SessionSlots:
    """The x axis of a short history's per-session charts: one slot per session time, in order, labelled
    with the time of day (and the day, when there are two). Shared by the charts of all exercises."""

    def __init__(self, times: list[datetime]) -> None:
        self.times = sorted(set(_utc(t) for t in times))
        self.index = {t: i for i, t in enumerate(self.times)}
        self.two_days = len({t.date() for t in self.times}) > 1

    def x(self, t: datetime) -> int:
        return self.index[_utc(t)]

    def apply(self, ax) -> None:
        from matplotlib.ticker import FixedLocator

        n = len(self.times)
        ax.set_xlim(-0.7, n - 0.3)
        ax.xaxis.set_major_locator(FixedLocator(range(n)))
        fmt = "%d %b %H:%M" if self.two_days else "%H:%M"
        ax.set_xticks(range(n), [t.strftime(fmt) for t in self.times], fontsize=8)
        if not self.two_days and self.times:
            ax.set_xlabel(self.times[0].strftime("%d %b %Y") + " (UTC)", fontsize=8)


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


def _dates(ax, window: tuple | None = None, *, weekly: bool = False) -> None:
    """Date ticks; with a ``window`` (a short history, see :func:`_day_window`, :func:`_week_window`) the axis
    shows exactly that window, with a tick per day (per Monday on a per-week chart)."""
    import matplotlib.dates as mdates

    if window is None:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        formatter = mdates.ConciseDateFormatter(locator)
    elif weekly:
        ax.set_xlim(*window)
        locator = mdates.WeekdayLocator(byweekday=mdates.MO)
        # "16 Nov", "23 Nov", …: a bare day number per Monday is unclear when the weeks cross a month
        formatter = mdates.ConciseDateFormatter(
            locator, formats=["%Y", "%b", "%d %b", "%H:%M", "%H:%M", "%S.%f"],
            zero_formats=["", "%Y", "%d %b", "%d %b", "%H:%M", "%H:%M"],
            offset_formats=["", "%Y", "%Y", "%Y", "%Y", "%Y"])
    else:
        ax.set_xlim(*window)
        locator = mdates.DayLocator()
        formatter = mdates.ConciseDateFormatter(locator)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)


def _utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc) if t.tzinfo is not None else t


def _day_window(times: list[datetime]) -> tuple[datetime, datetime] | None:
    """The x range of a per-session chart whose sessions fall on fewer than :data:`MIN_DAYS_SHOWN` days: that
    many whole (UTC) days (and at least one empty day either side) with the sessions' days in the middle.
    None for a longer history (autoscaled).

    Without it one point has no extent, and matplotlib widens the axis to ±2 years; a few sessions on one
    day get an axis of hours that reads like weeks of progress.
    """
    first, last = _utc(min(times)), _utc(max(times))
    days = (last.date() - first.date()).days + 1
    if days >= MIN_DAYS_SHOWN:
        return None
    shown = max(MIN_DAYS_SHOWN, days + 2)
    start = datetime.combine(first.date() - timedelta(days=(shown - days) // 2), time.min, tzinfo=first.tzinfo)
    return start, start + timedelta(days=shown)


def _week_window(weeks: list[date]) -> tuple[date, date] | None:
    """The x range of a per-week chart of fewer than :data:`MIN_WEEKS_SHOWN` weeks: that many whole weeks
    (Monday to Monday) around them. None for a longer history (autoscaled)."""
    first, last = min(weeks), max(weeks)
    n = (last - first).days // 7 + 1
    if n >= MIN_WEEKS_SHOWN:
        return None
    start = first - timedelta(weeks=(MIN_WEEKS_SHOWN - n) // 2)
    return start, start + timedelta(weeks=MIN_WEEKS_SHOWN)


def _marker(n: int) -> float:
    """Marker size for a series of ``n`` points: none for dense series, larger for a lone point."""
    if n >= 60:
        return 0
    return 5 if n == 1 else 3


def _side_by_side(times: list[datetime], width: float) -> tuple[list[datetime], list[float]]:
    """Bar centres and widths (days) for one bar per session: sessions closer than ``width`` (e.g. both arms
    on one day) share one bar's slot side by side, centred on their mean time, with a little gap between them,
    instead of hiding each other."""
    order = sorted(range(len(times)), key=lambda i: times[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and times[i] - times[groups[-1][-1]] < timedelta(days=width):
            groups[-1].append(i)
        else:
            groups.append([i])
    xs, widths = list(times), [width] * len(times)
    for group in groups:
        k = len(group)
        if k == 1:
            continue
        t0 = times[group[0]]
        centre = t0 + sum((times[i] - t0 for i in group), timedelta()) / k
        for j, i in enumerate(group):
            xs[i] = centre + timedelta(days=(j - (k - 1) / 2) * width / k)
            widths[i] = 0.85 * width / k
    return xs, widths


def adherence_chart(report: Report) -> bytes | None:
    """Sessions done per week (bars) against sessions prescribed (line); none for a period of under
    :data:`MIN_WEEKS_FOR_WEEKLY` weeks."""
    if len(report.adherence) < MIN_WEEKS_FOR_WEEKLY:
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
    _dates(ax, _week_window(weeks), weekly=True)
    return _png(fig)


def report_window(report: Report) -> "tuple[datetime, datetime] | SessionSlots | None":
    """One x axis for every per-session chart of a short history, so that the charts of all exercises line
    up: :class:`SessionSlots` for sessions on at most :data:`MAX_DAYS_BY_SESSION` days, else the window of
    :func:`_day_window` (None for a longer history: each chart is autoscaled)."""
    times = [s.started_at for ex in report.exercises for s in ex.sessions] + [n.started_at for n in report.notes]
    if not times:
        return None
    if len({_utc(t).date() for t in times}) <= MAX_DAYS_BY_SESSION:
        return SessionSlots(times)
    return _day_window(times)


def _finish_axis(ax, window, times: list[datetime]) -> None:
    if isinstance(window, SessionSlots):
        window.apply(ax)
    else:
        _dates(ax, window or _day_window(times))


def _xs(window, times: list[datetime]) -> list:
    return [window.x(t) for t in times] if isinstance(window, SessionSlots) else list(times)


def rom_chart(ex: ExerciseReport, window: tuple[datetime, datetime] | None = None) -> bytes | None:
    """Mean range of motion per session, one line per measure and side, with the target as a dashed line."""
    series = [s for s in ex.rom if s.points]
    if not series:
        return None
    fig, ax = _figure()
    all_xs = []
    for i, s in enumerate(series):
        colour = SIDE_COLOURS.get(s.side, COLOURS[i % len(COLOURS)]) if s.measure == ex.measure else COLOURS[
            (i + 3) % len(COLOURS)]
        times = [p.started_at for p in s.points]
        all_xs += times
        xs = _xs(window, times)
        ax.plot(xs, [p.mean for p in s.points], marker="o", markersize=_marker(len(xs)), linewidth=1.4,
                color=colour, label=f"{s.label}, {s.side} (mean)")
        if len(xs) > 1:
            ax.fill_between(xs, [p.min for p in s.points], [p.max for p in s.points], color=colour, alpha=0.12,
                            linewidth=0)
        else:  # no band to draw from one point: its reps' range as a short bar behind it
            ax.vlines(xs, [s.points[0].min], [s.points[0].max], color=colour, alpha=0.25, linewidth=6)
    if ex.target_rom:
        ax.axhline(ex.target_rom, color=TARGET_COLOUR, linestyle="--", linewidth=1.5,
                   label=f"target {ex.target_rom:g}°")
    unit = "degrees" if ex.unit == "deg" else ex.unit
    ax.set_ylabel(f"range of motion ({unit})")
    _legend(ax)
    _finish_axis(ax, window, all_xs)
    return _png(fig)


def reps_chart(ex: ExerciseReport, window: tuple[datetime, datetime] | None = None) -> bytes | None:
    """Reps done per session (bars) against the target (dashed steps)."""
    if not ex.sessions:
        return None
    fig, ax = _figure(2.3)
    times = [s.started_at for s in ex.sessions]
    if isinstance(window, SessionSlots):
        xs, widths = _xs(window, times), [0.6] * len(times)
    else:
        xs, widths = _side_by_side(times, 0.6 if len(times) < 120 else 0.9)
    ax.bar(xs, [s.reps for s in ex.sessions], width=widths, color=COLOURS[2], label="reps done")
    if any(s.target_reps for s in ex.sessions):
        order = sorted(range(len(xs)), key=lambda i: xs[i])
        tx = [xs[i] for i in order]
        ty = [ex.sessions[i].target_reps for i in order]
        # the steps reach the outer edges of the first and last bars (so one session's target is seen too)
        if isinstance(window, SessionSlots):
            tx = [tx[0] - widths[order[0]] / 2, *tx, tx[-1] + widths[order[-1]] / 2]
        else:
            tx = [tx[0] - timedelta(days=widths[order[0]] / 2), *tx,
                  tx[-1] + timedelta(days=widths[order[-1]] / 2)]
        ty = [ty[0], *ty, ty[-1]]
        ax.plot(tx, ty, color=TARGET_COLOUR, linestyle="--", drawstyle="steps-mid", linewidth=1.5, label="target")
    ax.set_ylabel("reps / session")
    _legend(ax)
    _finish_axis(ax, window, times)
    return _png(fig)


def faults_chart(ex: ExerciseReport) -> bytes | None:
    """Form faults per week, stacked by type (none for a period of under :data:`MIN_WEEKS_FOR_WEEKLY` weeks)."""
    weeks = sorted(ex.faults_per_week)
    if not ex.faults_total or len(weeks) < MIN_WEEKS_FOR_WEEKLY:
        return None
    from coach.reports.summary import fault_words

    fig, ax = _figure(2.3)
    bottom = [0] * len(weeks)
    for i, code in enumerate(sorted(ex.faults_total, key=lambda c: -ex.faults_total[c])):
        ys = [ex.faults_per_week[w].get(code, 0) for w in weeks]
        ax.bar(weeks, ys, bottom=bottom, width=5, align="edge", color=COLOURS[(i + 1) % len(COLOURS)],
               label=fault_words(code))
        bottom = [b + y for b, y in zip(bottom, ys)]
    ax.set_ylabel("faults / week")
    _legend(ax)
    _dates(ax, _week_window(weeks), weekly=True)
    return _png(fig)


def tempo_chart(ex: ExerciseReport, window: tuple[datetime, datetime] | None = None) -> bytes | None:
    """Mean eccentric and concentric seconds per session."""
    pts = [s for s in ex.sessions if s.mean_eccentric_s is not None]
    if not pts:
        return None
    fig, ax = _figure(2.1)
    times = [s.started_at for s in pts]
    xs = _xs(window, times)
    small = _marker(len(xs))
    ax.plot(xs, [s.mean_eccentric_s for s in pts], marker="o", markersize=small, color=COLOURS[0],
            label="eccentric (lowering) s")
    ax.plot(xs, [s.mean_concentric_s for s in pts], marker="s", markersize=small, color=COLOURS[1],
            label="concentric (lifting) s")
    ax.set_ylabel("seconds / rep")
    top = max(v for s in pts for v in (s.mean_eccentric_s, s.mean_concentric_s) if v is not None)
    ax.set_ylim(0, top * 1.15 if top > 0 else None)  # room above the highest marker
    _legend(ax)
    _finish_axis(ax, window, times)
    return _png(fig)


def pain_chart(report: Report, window: tuple[datetime, datetime] | None = None) -> bytes | None:
    """Reported pain and effort (0–10) per session."""
    notes = [n for n in report.notes if n.pain_0_10 is not None or n.effort_rpe_0_10 is not None]
    if not notes:
        return None
    fig, ax = _figure(2.1)
    small = _marker(len(notes))
    def x(t):
        return window.x(t) if isinstance(window, SessionSlots) else t

    pain = [(x(n.started_at), n.pain_0_10) for n in notes if n.pain_0_10 is not None]
    effort = [(x(n.started_at), n.effort_rpe_0_10) for n in notes if n.effort_rpe_0_10 is not None]
    if pain:
        ax.plot(*zip(*pain), marker="o", markersize=small, color=TARGET_COLOUR, label="pain")
    if effort:
        ax.plot(*zip(*effort), marker="s", markersize=small, color=COLOURS[0], alpha=0.7, label="effort (RPE)")
    ax.set_ylim(-0.3, 10.3)
    ax.set_ylabel("0–10")
    _legend(ax)
    _finish_axis(ax, window, [n.started_at for n in notes])
    return _png(fig)


def all_charts(report: Report) -> dict[str, bytes]:
    """Every chart of the report by key: "adherence", "pain", "<exercise>.rom|reps|faults|tempo"."""
    from coach.reports.budget import checkpoint

    out: dict[str, bytes] = {}
    window = report_window(report)
    charts = [("adherence", lambda: adherence_chart(report)), ("pain", lambda: pain_chart(report, window))]
    for ex in report.exercises:
        charts += [(f"{ex.exercise_id}.rom", lambda ex=ex: rom_chart(ex, window)),
                   (f"{ex.exercise_id}.reps", lambda ex=ex: reps_chart(ex, window)),
                   (f"{ex.exercise_id}.faults", lambda ex=ex: faults_chart(ex)),
                   (f"{ex.exercise_id}.tempo", lambda ex=ex: tempo_chart(ex, window))]
    for key, draw in charts:
        checkpoint()  # a server's render budget (coach.reports.budget)
        png = draw()
        if png:
            out[key] = png
    return out
