"""`coach report PATIENT`: a progress report (HTML, PDF, Markdown, JSON) or export (CSV, FHIR R4)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from coach.cli.common import DbOption, parse_date
from coach.errors import CoachError

def report(
    patient: Optional[str] = typer.Argument(None, help="Patient name (not needed with --bench)."),
    fmt: str = typer.Option("html", "--format", "-f", help="html, pdf, md, json, csv (per rep and per "
                            "session) or fhir (an R4 Bundle of Observations)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write (csv: two files "
                                          "<stem>_reps.csv and <stem>_sessions.csv). Without it only the "
                                          "summary is printed.", dir_okay=False),
    period_from: Optional[str] = typer.Option(None, "--from", help="First day (YYYY-MM-DD; default: the "
                                              "first session or prescription)."),
    period_to: Optional[str] = typer.Option(None, "--to", help="Last day, inclusive (default: today)."),
    db_path: Optional[Path] = DbOption,
    bench: bool = typer.Option(False, "--bench", help="Benchmark: make a history by replaying synthetic "
                               "recordings through the workout pipeline, then time every format."),
    weeks: int = typer.Option(8, "--weeks", min=1, max=520, help="With --bench: weeks of sessions."),
    days: Optional[int] = typer.Option(None, "--days", min=1, max=3653, help="With --bench: daily sessions for this "
                                       "many days instead of --weeks."),
) -> None:
    """A physiotherapy progress report of a patient: adherence, reps against target, range of motion per
    joint and side, tempo, form faults, holds, time not measurable, first against latest, pain and effort.

    Examples:\n
      coach report ana -f html -o ana.html\n
      coach report ana --from 2026-01-01 --to 2026-02-28 -f pdf -o ana.pdf\n
      coach report ana -f fhir -o ana_fhir.json\n
      coach report --bench --days 365
    """
    from coach.reports import FORMATS, write_report
    from coach.reports.render import print_summary
    from db.engine import close_database, history_exists, open_database, resolve_db_path

    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise CoachError(f"Unknown report format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if bench:
        _bench(weeks, days, db_path)
        return
    if patient is None:
        raise CoachError("Name the patient: coach report PATIENT (or run the benchmark with --bench).")
    start, end = parse_date(period_from, "--from"), parse_date(period_to, "--to")
    if start and end and end < start:
        raise CoachError(f"--to {end.isoformat()} is before --from {start.isoformat()}.")
    path = resolve_db_path(db_path)
    if not history_exists(path):
        raise CoachError(f"No session history at {path} yet: record a workout first, or point --db (or "
                         "$COACH_DB) at the database file.")
    sm = open_database(path)
    try:
        rep, written = write_report(sm, patient, fmt, output, period_from=start, period_to=end)
    finally:
        close_database(sm)
    console = Console(width=None if sys.stdout.isatty() else 160)
    print_summary(rep, console)
    for p in written:
        console.print(f"wrote [bold]{p}[/]", highlight=False)


def _bench(weeks: int, days: Optional[int], db_path: Optional[Path]) -> None:
    from rich.table import Table

    from coach.reports import FORMATS, write_report
    from coach.devtools.synthetic_history import generate_history
    from db.engine import close_database, open_database

    console = Console()
    with tempfile.TemporaryDirectory(prefix="coach-report-bench-") as tmp:
        db = db_path or Path(tmp) / "bench.sqlite"
        if not isinstance(db, Path):
            raise CoachError("The benchmark writes a new SQLite history: give --db a new file path, not a URL.")
        if db.exists():
            raise CoachError(f"{db} exists; the benchmark writes a new history, give a new --db path.")
        what = f"{days} days of daily sessions" if days else f"{weeks} weeks of sessions"
        console.print(f"Making {what} by replaying synthetic recordings through the workout pipeline…")
        t0 = time.perf_counter()
        history = generate_history(db, "bench-patient", weeks=None if days else weeks, days=days)
        gen_s = time.perf_counter() - t0
        sm = open_database(db)
        try:
            with sm() as s:
                from db.sessions import count_sessions

                n_sessions = count_sessions(s)
            n_reps = sum(x.reps for x in history.sessions)
            console.print(f"{n_sessions} sessions, {n_reps} reps recorded in {gen_s:.1f} s ({db if db_path else 'temporary database'})")
            table = Table(title=f"coach report timings, {what}", title_justify="left")
            for col in ("format", "seconds", "output size"):
                table.add_column(col, justify="right" if col != "format" else "left")
            for fmt in FORMATS:
                out = Path(tmp) / f"bench.{fmt}"
                t = time.perf_counter()
                _, written = write_report(sm, "bench-patient", fmt, out)
                elapsed = time.perf_counter() - t
                size = sum(p.stat().st_size for p in written)
                table.add_row(fmt, f"{elapsed:.2f}", f"{size / 1024:.0f} KiB")
            console.print(table)
            console.print("Each time is the whole report: query, model, charts, rendering and writing the file.")
        finally:
            close_database(sm)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
