"""Renderers: a :class:`~coach.reports.model.Report` as HTML (Jinja2, charts inline), PDF, Markdown, JSON,
and a rich terminal summary. None of them reads the database.

PDF: xhtml2pdf renders the same HTML (on ReportLab), from pure wheels of the package index. WeasyPrint
would lay out CSS better but needs Pango from the operating system, which a fresh machine may lack.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from functools import lru_cache

from coach.app.prescriptions import describe
from coach.reports.budget import checkpoint
from coach.reports.model import ExerciseReport, PrescriptionInfo, Report
from coach.reports.summary import ExerciseLine, Summary, Trend, fault_words, review_thresholds

#: the sessions table of each exercise shows at most this many (the latest); CSV has them all
MAX_SESSIONS_SHOWN = 20


def num(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) and digits == 0:
        return str(value)
    return f"{value:.{digits}f}"


def pct(value) -> str:
    return "—" if value is None else f"{value:.0f}%"


def signed(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:+d}"
    return f"{value:+.{digits}f}"


def dash(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def trend(first: float | None, second: float | None) -> str:
    if first is None or second is None:
        return "—"
    if second < first * 0.8:
        return "fewer"
    if second > first * 1.25 and second - first > 0.02:
        return "more"
    return "about the same"


# ----------------------------------------------------------------------- the summary table's cells
#
# Every format (terminal, HTML, PDF, Markdown) writes the summary's numbers with these, so they read the
# same everywhere; the numbers themselves were rounded once, in coach.reports.summary.

FLAG = "✱"


def of(done, prescribed) -> str:
    """"done / prescribed", e.g. "4 / 6"; "4 / —" when nothing was prescribed."""
    return f"{done} / {'—' if prescribed is None else prescribed}"


def arrow(t: Trend | None) -> str:
    return "" if t is None else t.arrow


def sessions_cell(x: ExerciseLine) -> str:
    return of(x.sessions_done, x.sessions_prescribed)


def reps_cell(x: ExerciseLine) -> str:
    out = of(x.reps_done, x.reps_prescribed)
    if x.reps_outside_plan:
        out += f" (+{x.reps_outside_plan} unprescribed)"
    return out


def rom_cell(x: ExerciseLine) -> str:
    """Reached (per side when both are measured) / target, met or not, and the trend arrow."""
    if not x.rom_reached:
        return "—"
    if len(x.rom_reached) == 1:
        reached = f"{x.rom_reached[0].reached}{x.unit}"
    else:
        reached = " ".join(f"{s.side[:1].upper()} {s.reached}{x.unit}" for s in x.rom_reached)
    out = reached
    if x.rom_target is not None:
        out += f" / {x.rom_target}{x.unit} " + ("met" if x.rom_met else "not met")
    return (out + " " + arrow(x.rom_trend)).strip()


def asymmetry_cell(x: ExerciseLine) -> str:
    if x.asymmetry_lsi_percent is None:
        return "—"
    return f"{x.asymmetry_lsi_percent}%" + (f" {FLAG}" if x.asymmetry_flag else "")


def pain_cell(x: ExerciseLine) -> str:
    if x.pain_max is None:
        return "—"
    out = f"max {x.pain_max} {arrow(x.pain_trend)}".strip() + f" (limit {x.pain_limit})"
    if x.pain_over_limit:
        out += f" {FLAG} {x.pain_over_limit} over"
    return out


def faults_cell(x: ExerciseLine) -> str:
    if not x.faults:
        return "none"
    return "; ".join(f"{f.words} ×{f.count} {arrow(f.trend)}".strip() for f in x.faults)


def not_measurable_cell(x: ExerciseLine) -> str:
    if x.not_measurable_percent is None:
        return "—"
    return f"{x.not_measurable_percent}%" + (f" {FLAG}" if x.not_measurable_flag else "")


def sessions_count(n: int) -> str:
    """"1 session", "3 sessions"."""
    return f"{n} session{'' if n == 1 else 's'}"


def adherence_line(sm: Summary) -> str:
    """"Adherence 80% (4 of 5 prescribed sessions)"."""
    if sm.sessions_prescribed is None:
        return f"Adherence — ({sessions_count(sm.sessions_done)}, none prescribed)"
    return f"Adherence {pct(sm.adherence_percent)} ({sm.sessions_counted} of {sm.sessions_prescribed} prescribed sessions)"


def pain_line(sm: Summary) -> str:
    """"Pain mean 2.3, max 6 (2 sessions over the limit) · effort mean 6.0"."""
    if sm.pain_mean is None:
        out = "Pain not reported"
    else:
        out = f"Pain mean {sm.pain_mean:.1f}, max {sm.pain_max}"
        if sm.pain_over_limit:
            out += f" ({FLAG} {sm.pain_over_limit} session{'s' if sm.pain_over_limit != 1 else ''} over the limit)"
    if sm.effort_mean is not None:
        out += f" · effort mean {sm.effort_mean:.1f}"
    return out


SUMMARY_COLUMNS = ("exercise", "sessions done / prescribed", "reps done / prescribed",
                   "range of motion reached / target", "left / right", "pain", "form faults", "not measurable")


def summary_rows(sm: Summary) -> list[list[str]]:
    """The summary table as text cells, in the order of :data:`SUMMARY_COLUMNS`."""
    return [[x.name, sessions_cell(x), reps_cell(x), rom_cell(x), asymmetry_cell(x), pain_cell(x),
             faults_cell(x), not_measurable_cell(x)] for x in sm.exercises]


def unit(ex: ExerciseReport) -> str:
    return "°" if ex.unit == "deg" else f" {ex.unit}"


def describe_rx(rx: PrescriptionInfo) -> str:
    return describe(rx, with_start=True)


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("coach.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    env.globals.update(num=num, pct=pct, signed=signed, dash=dash, trend=trend, unit=unit,
                       describe_rx=describe_rx, of=of, arrow=arrow, sessions_cell=sessions_cell,
                       reps_cell=reps_cell, rom_cell=rom_cell, asymmetry_cell=asymmetry_cell,
                       pain_cell=pain_cell, faults_cell=faults_cell, not_measurable_cell=not_measurable_cell,
                       adherence_line=adherence_line, pain_line=pain_line, fault_words=fault_words,
                       FLAG=FLAG)
    return env


class _Charts(dict):
    """Missing charts are None in the template (StrictUndefined elsewhere)."""

    def __getitem__(self, key):
        return self.get(key)

    def __getattr__(self, key):
        return self.get(key)


def render_html(report: Report, charts: dict[str, bytes] | None = None, *, pdf: bool = False) -> str:
    """The report as one self-contained HTML page (charts as base64 PNG): the summary table first, then
    the details. ``pdf``: the variant laid out for xhtml2pdf (its fonts and page breaks)."""
    if charts is None:
        from coach.reports.charts import all_charts

        charts = all_charts(report)
    checkpoint()
    encoded = _Charts({k: base64.b64encode(v).decode("ascii") for k, v in charts.items()})
    template = _environment().get_template("report.html.j2")
    return template.render(
        r=report, sm=report.summary, charts=encoded, max_sessions=MAX_SESSIONS_SHOWN, pdf=pdf,
        review=review_thresholds(),
        fonts=_pdf_fonts() if pdf else {},
        exercise_ids=sorted({e.exercise_id for e in report.exercises} | {p.exercise_id for p in report.prescriptions}),
    )


def _pdf_fonts() -> dict[str, str]:
    """DejaVu Sans from matplotlib's own files (regular, bold) for the PDF: ReportLab's built-in Helvetica
    has no arrows (↑ ↓ →) nor ✱, and the package index is all a fresh machine has."""
    from pathlib import Path

    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return {"regular": (ttf / "DejaVuSans.ttf").as_uri(), "bold": (ttf / "DejaVuSans-Bold.ttf").as_uri()}


def render_pdf(report: Report, charts: dict[str, bytes] | None = None) -> bytes:
    """The report as PDF: the HTML page laid out by xhtml2pdf."""
    from xhtml2pdf import pisa

    from coach.errors import CoachError

    html = render_html(report, charts, pdf=True)
    checkpoint()
    out = io.BytesIO()
    # xhtml2pdf warns about CSS it does not implement (the page still lays out): keep the terminal quiet
    loggers = [logging.getLogger(n) for n in ("xhtml2pdf", "xhtml2pdf.context", "xhtml2pdf.parser")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
    if result.err:
        raise CoachError(f"The PDF could not be made ({result.err} layout errors); the HTML format works.")
    return out.getvalue()


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def _md_table(header: list[str], rows: list[list]) -> list[str]:
    def cell(v) -> str:
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(report: Report) -> str:
    r = report
    sm = r.summary
    out = [f"# Progress report — {r.patient}", "",
           f"Reporting period {r.period_from.isoformat()} to {r.period_to.isoformat()} (UTC days); "
           f"{sessions_count(r.sessions)}; generated {r.generated_at.strftime('%Y-%m-%d %H:%M')} UTC.", ""]
    if r.message:
        out += [f"> {r.message}", ""]
    out += ["## Summary", "", f"**{adherence_line(sm)}** · {pain_line(sm)}", ""]
    out += [f"- {FLAG} {a}" for a in sm.alerts] + ([""] if sm.alerts else [])
    if sm.exercises:
        out += _md_table(list(SUMMARY_COLUMNS), summary_rows(sm))
    notes = [(x.name, x.notes) for x in sm.exercises if x.notes]
    out += [f"- Note for the patient ({name}): {text}" for name, text in notes] + ([""] if notes else [])
    if r.adherence:
        out += ["## Adherence per week", ""]
        out += _md_table(["week of", "done", "prescribed", "adherence"],
                         [[w.week_start.isoformat(), w.done, num(w.prescribed), pct(w.percent)] for w in r.adherence])
    for ex in r.exercises:
        out += [f"## {ex.name} ({ex.exercise_id})", ""]
        if ex.prescription:
            out += [f"Prescribed: {describe_rx(ex.prescription)}.", ""]
        out += _md_table(
            ["sessions", "reps", "target reps", "% of target", "eccentric s", "concentric s", "faults", "held s",
             "not measurable s"],
            [[len(ex.sessions), ex.reps, num(ex.target_reps), pct(ex.reps_percent), num(ex.mean_eccentric_s, 2),
              num(ex.mean_concentric_s, 2), sum(ex.faults_total.values()), num(ex.hold_s, 1),
              num(ex.not_measurable_s, 1)]])
        if ex.rom:
            out += ["### Range of motion", ""]
            out += _md_table(["measure", "side", "sessions", "first", "latest", "change", "target"],
                             [[s.label, s.side, len(s.points), num(s.first.mean), num(s.latest.mean),
                               signed(s.latest.mean - s.first.mean) if len(s.points) > 1 else "—",
                               num(ex.target_rom) if s.measure == ex.measure else "—"] for s in ex.rom])
        if ex.faults_total:
            out += ["### Form faults", ""]
            out += _md_table(["fault", "total", "per rep, first half", "per rep, second half", "trend"],
                             [[fault_words(c), n, num(a, 2), num(b, 2), trend(a, b)]
                              for c, n, a, b in ex.fault_trend()])
        if ex.not_measurable_reasons:
            out += ["### Time not measurable", ""]
            out += _md_table(["why", "seconds"], [[k, num(v, 1)] for k, v in sorted(
                ex.not_measurable_reasons.items(), key=lambda kv: -kv[1])])
        for side, comp in ex.comparisons:
            out += [f"### First session against the latest{f' ({side} side)' if side else ''}", ""]
            out += _md_table(["", "first", "latest", "change"],
                             [[w, dash(a), dash(b), "" if c is None else signed(c)] for w, a, b, c in comp.rows()])
    if r.notes:
        out += ["## Pain and effort", ""]
        out += _md_table(["date", "exercise", "pain", "effort", "note"],
                         [[n.started_at.date().isoformat(), n.exercise_id, num(n.pain_0_10), num(n.effort_rpe_0_10),
                           n.text] for n in r.notes])
    return "\n".join(out)


def print_summary(report: Report, console=None) -> None:
    """The summary table in the terminal (the same cells as the HTML and PDF)."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    r = report
    sm = r.summary
    console.print(f"[bold]Progress report — {escape(r.patient)}[/]  {r.period_from.isoformat()} to "
                  f"{r.period_to.isoformat()}: {r.sessions} sessions", highlight=False)
    if r.message:
        console.print(f"[yellow]{escape(r.message)}[/]", highlight=False)
    console.print(f"{adherence_line(sm)} · {pain_line(sm)}", highlight=False)
    for a in sm.alerts:
        console.print(f"[bold red]{FLAG} {escape(a)}[/]", highlight=False)
    if not sm.exercises:
        return
    table = Table(box=box.SIMPLE_HEAD, title_justify="left")
    for col in SUMMARY_COLUMNS:
        table.add_column(col, justify="left", overflow="fold")
    for row in summary_rows(sm):
        table.add_row(*[escape(c) for c in row])
    console.print(table)
    for x in sm.exercises:
        if x.notes:
            console.print(f"note for the patient ({escape(x.name)}): {escape(x.notes)}", highlight=False)
