"""`coach plan assign | show | end`: the exercises a therapist prescribes, with targets workouts follow."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coach.cli.common import DbOption, parse_date
from coach.errors import CoachError

plan_app = typer.Typer(
    help="Prescriptions: assign exercises with targets (reps, sets, hold, range of motion, sessions a "
    "week); a workout without --sets/--reps follows them.",
    no_args_is_help=True,
)

def _num(value, fmt: str = ".0f") -> str:
    return "—" if value is None else format(value, fmt)


def assign_cmd(
    patient: str = typer.Argument(..., help="Patient name."),
    exercise: str = typer.Argument(..., help="Exercise id (see `coach exercises list`)."),
    reps: Optional[int] = typer.Option(None, "--reps", min=1, max=10_000, help="Reps per set (default: the exercise's)."),
    sets: Optional[int] = typer.Option(None, "--sets", min=1, max=1_000, help="Sets per session (default: the exercise's)."),
    hold_s: Optional[float] = typer.Option(None, "--hold-s", min=0.1, max=86_400.0, help="Seconds to hold, for holds."),
    rom_deg: Optional[float] = typer.Option(None, "--rom-deg", min=1, max=360, help="Target range of motion, degrees."),
    per_week: Optional[int] = typer.Option(None, "--per-week", min=1, max=21, help="Sessions a week."),
    until: Optional[str] = typer.Option(None, "--until", help="Last day of the prescription (YYYY-MM-DD)."),
    notes: str = typer.Option("", "--note", help="What the patient should know, shown to them before each set "
                              "and in the report (e.g. \"stop if knee pain > 4\": the report flags pain over 4)."),
    exercises_dir: Optional[Path] = typer.Option(None, "--exercises", exists=True, file_okay=False, help="Extra folder of exercise "
                                                 "definitions."),
    db_path: Optional[Path] = DbOption,
) -> None:
    """Prescribe an exercise; it replaces an active prescription of the same exercise.

    Example: coach plan assign ana squat --reps 10 --sets 3 --rom-deg 90 --per-week 3 --until 2026-03-31
    """
    from coach.app import prescriptions
    from db.engine import close_database, open_database, resolve_db_path, write_session

    from coach.exercise.library import get_definition

    until_date = parse_date(until, "--until")
    get_definition(exercise, extra_dirs=[exercises_dir] if exercises_dir else ())  # before creating a database
    sm = open_database(resolve_db_path(db_path))
    try:
        with write_session(sm) as db:
            rx, old = prescriptions.assign(
                db, patient, exercise, reps=reps, sets=sets, hold_s=hold_s, rom_deg=rom_deg,
                per_week=per_week, until=until_date, notes=notes,
                exercise_dirs=[exercises_dir] if exercises_dir else (),
            )
            what = prescriptions.describe(rx)
            name = rx.patient.name
            rx_notes = rx.notes
    finally:
        close_database(sm)
    console = Console(soft_wrap=True)
    console.print(f"Prescribed [bold]{exercise}[/] for {name}: {what}.", highlight=False)
    if rx_notes:
        console.print(f"Note for the patient: {rx_notes}", highlight=False)
    if old is not None:
        console.print(f"(It replaces the earlier prescription of {exercise}: {prescriptions.describe(old)}.)", highlight=False)


def show_cmd(
    patient: str = typer.Argument(..., help="Patient name."),
    all_: bool = typer.Option(False, "--all", help="Include ended prescriptions."),
    db_path: Optional[Path] = DbOption,
) -> None:
    """Show a patient's prescriptions.

    Example: coach plan show ana --all
    """
    from db.engine import close_database, history_exists, open_database, resolve_db_path
    from db.patients import get_patient
    from db.prescriptions import patient_prescriptions

    path = resolve_db_path(db_path)
    if not history_exists(path):
        raise CoachError(f"No history at {path} yet: assign an exercise first (coach plan assign), or point "
                         "--db (or $COACH_DB) at the database file.")
    sm = open_database(path)
    try:
        with sm() as db:
            name = get_patient(db, patient).name
            rows = patient_prescriptions(db, name, include_ended=all_)
            table = Table(title=f"Prescriptions of {name}", title_justify="left", box=box.SIMPLE_HEAD)
            for col in ("exercise", "sets", "reps", "hold s", "ROM °", "per week", "from", "until", "status",
                        "note for the patient"):
                table.add_column(col, justify="left" if col in ("exercise", "status", "note for the patient")
                                 else "right", no_wrap=col != "note for the patient")
            for rx in rows:
                status = "active" if rx.active else f"ended {_day(rx.ended_at)}"
                table.add_row(rx.exercise_id, _num(rx.sets), _num(rx.reps), _num(rx.hold_s, "g"),
                              _num(rx.rom_deg, "g"), _num(rx.per_week), rx.start_date.isoformat(),
                              rx.until_date.isoformat() if rx.until_date else "—", status,
                              escape(rx.notes) if rx.notes else "—")
    finally:
        close_database(sm)
    console = Console(width=None if sys.stdout.isatty() else 160)
    if not rows:
        console.print(f"{name} has no {'' if all_ else 'active '}prescriptions; add one with "
                      f"`coach plan assign {name} EXERCISE`.", highlight=False)
        return
    console.print(table)


def _day(dt: Optional[datetime]) -> str:
    return "—" if dt is None else dt.astimezone().strftime("%Y-%m-%d")


def end_cmd(
    patient: str = typer.Argument(..., help="Patient name."),
    exercise: str = typer.Argument(..., help="Exercise id of the prescription to end."),
    db_path: Optional[Path] = DbOption,
) -> None:
    """End a patient's prescription of an exercise (it stays in the history).

    Example: coach plan end ana squat
    """
    from coach.app import prescriptions
    from db.engine import close_database, history_exists, open_database, resolve_db_path, write_session

    path = resolve_db_path(db_path)
    if not history_exists(path):
        raise CoachError(f"No history at {path} yet, so there is nothing to end.")
    sm = open_database(path)
    try:
        with write_session(sm) as db:
            rx = prescriptions.end(db, patient, exercise)
            name = rx.patient.name
    finally:
        close_database(sm)
    Console(soft_wrap=True).print(f"Ended {name}'s prescription of {exercise}.", highlight=False)


plan_app.command("assign")(assign_cmd)
plan_app.command("show")(show_cmd)
plan_app.command("end")(end_cmd)


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")
