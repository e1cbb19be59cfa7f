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
from coach.reports.model import ExerciseReport, PrescriptionInfo, Report

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
                       describe_rx=describe_rx)
    return env


class _Charts(dict):
    """Missing charts are None in the template (StrictUndefined elsewhere)."""

    def __getitem__(self, key):
        return self.get(key)

    def __getattr__(self, key):
        return self.get(key)


def render_html(report: Report, charts: dict[str, bytes] | None = None) -> str:
    """The report as one self-contained HTML page (charts as base64 PNG)."""
    if charts is None:
        from coach.reports.charts import all_charts

        charts = all_charts(report)
    encoded = _Charts({k: base64.b64encode(v).decode("ascii") for k, v in charts.items()})
    template = _environment().get_template("report.html.j2")
    return template.render(
        r=report, charts=encoded, max_sessions=MAX_SESSIONS_SHOWN,
        exercise_ids=sorted({e.exercise_id for e in report.exercises} | {p.exercise_id for p in report.prescriptions}),
        done_prescribed=sum(w.done_prescribed for w in report.adherence),
    )


def render_pdf(report: Report, charts: dict[str, bytes] | None = None) -> bytes:
    """The report as PDF: the HTML page laid out by xhtml2pdf."""
    from xhtml2pdf import pisa

    from coach.errors import CoachError

    html = render_html(report, charts)
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
    out = [f"# Progress report — {r.patient}", "",
           f"Reporting period {r.period_from.isoformat()} to {r.period_to.isoformat()} (UTC days); "
           f"{r.sessions} sessions; generated {r.generated_at.strftime('%Y-%m-%d %H:%M')} UTC.", ""]
    if r.message:
        out += [f"> {r.message}", ""]
    out += ["## Summary", "",
            f"- Adherence: {pct(r.adherence_percent)} "
            f"({sum(w.done_prescribed for w in r.adherence)} of {num(r.sessions_prescribed)} prescribed sessions)",
            f"- Mean pain {num(r.mean_pain, 1)} / 10, mean effort {num(r.mean_effort, 1)} / 10", ""]
    if r.adherence:
        out += ["## Adherence", ""]
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
                               signed(s.latest.mean - s.first.mean),
                               num(ex.target_rom) if s.measure == ex.measure else "—"] for s in ex.rom])
        if ex.faults_total:
            out += ["### Form faults", ""]
            out += _md_table(["fault", "total", "per rep, first half", "per rep, second half", "trend"],
                             [[c, n, num(a, 2), num(b, 2), trend(a, b)] for c, n, a, b in ex.fault_trend()])
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
    """A short rich summary for the terminal."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    r = report
    console.print(f"[bold]Progress report — {r.patient}[/]  {r.period_from.isoformat()} to "
                  f"{r.period_to.isoformat()}: {r.sessions} sessions", highlight=False)
    if r.message:
        console.print(f"[yellow]{r.message}[/]", highlight=False)
        return
    console.print(f"adherence {pct(r.adherence_percent)} "
                  f"({sum(w.done_prescribed for w in r.adherence)} of {num(r.sessions_prescribed)} prescribed "
                  f"sessions); pain {num(r.mean_pain, 1)}/10, effort {num(r.mean_effort, 1)}/10 on average",
                  highlight=False)
    table = Table(box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("exercise", "sessions", "reps/target", "ROM first→latest", "target", "ecc/con s", "faults",
                "unmeas. s"):
        table.add_column(col, justify="left" if col in ("exercise", "ROM first→latest") else "right",
                         no_wrap=True)
    for ex in r.exercises:
        roms = [f"{s.side} {num(s.first.mean)}→{num(s.latest.mean)}" for s in ex.rom if s.measure == ex.measure]
        faults = ", ".join(f"{c} {n}" for c, n in sorted(ex.faults_total.items(), key=lambda kv: -kv[1])) or "—"
        table.add_row(ex.exercise_id, str(len(ex.sessions)),
                      f"{ex.reps}/{num(ex.target_reps)} ({pct(ex.reps_percent)})", "; ".join(roms) or "—",
                      num(ex.target_rom), f"{num(ex.mean_eccentric_s, 2)}/{num(ex.mean_concentric_s, 2)}", faults,
                      num(ex.not_measurable_s, 1))
    console.print(table)
