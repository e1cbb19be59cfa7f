"""Pieces shared by several commands: model options, opening the pose engine, progress bars."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from coach.devtools.rep_eval import PERTURBATIONS
from coach.errors import CoachError

# Tables keep their full width when the output is a file or a pipe (rich assumes 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)

def parse_db_option(value: str) -> "object":
    """A --db value: a PostgreSQL URL stays a URL (``sqlalchemy.engine.URL``), anything else is an SQLite
    file path (``Path``); a URL of a database coach does not support is a usage error in one sentence."""
    from db.engine import parse_location
    from db.errors import DatabaseError

    try:
        return parse_location(value)
    except DatabaseError as exc:
        raise typer.BadParameter(str(exc)) from None


DbOption = typer.Option(
    None, "--db", help="History database: an SQLite file, or a PostgreSQL URL such as "
    "postgresql+psycopg://user@host:5432/coach (default: $COACH_DB, else coach.sqlite in the user data "
    "folder).", show_default=False, parser=parse_db_option, metavar="FILE|URL")

ModelPathOption = typer.Option(
    None, "--model", help="Pose model .task file (default: $COACH_MODEL, then the user cache, then an "
    "offline build; see `coach models --help`).", show_default=False)
VariantOption = typer.Option("full", "--variant", metavar="lite|full|heavy",
                             help="Pose model variant (full is the one the exercise library is tuned with).")
#: --side of workout and exercises try: a value of these three, shown as such in the help
SideOption = typer.Option(None, "--side", metavar="left|right|both",
                          help="Side to count (default: the definition's).", show_default=False)
NumPosesOption = typer.Option(1, "--num-poses", min=1, max=8, help="Most people to detect per frame.")


def parse_people_option(value: str) -> "object":
    """A --num-poses value of the commands that default to "auto": "auto" or a whole number 1–8."""
    from coach.pose.engine import parse_people

    try:
        return parse_people(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


#: --num-poses of workout, pose extract and eval reps: "auto" (the default) or a number of people.
PeopleOption = typer.Option(
    "auto", "--num-poses", metavar="auto|N", parser=parse_people_option,
    help="People to look for in each frame. auto: up to two, tracking one and looking for a second every "
    "0.5 s (the first painted out), so a second person costs time only while they are in view. N (1-8): "
    "MediaPipe looks for up to N on every frame (with fewer than N in view it runs its person detector on "
    "every frame: ~40% slower).")


def parse_date(value: Optional[str], option: str) -> Optional[date]:
    """A YYYY-MM-DD option value as a date (None stays None); a bad value is one clear error."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CoachError(f"{option} must be a date like 2026-03-31, not {value!r}.") from None


def resolve_model_path(model: Optional[Path], variant: str) -> "object":
    """The model to use (a `coach.pose.models.ModelInfo`), resolved in the documented order."""
    from coach.pose.models import resolve_model

    return resolve_model(variant, model, progress=True)


def frame_progress(description: str, total: int | None, transient: bool = False) -> Progress:
    """A rich progress bar for frame loops (frames done / total, elapsed, remaining)."""
    return Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err_console, transient=transient,
    )


@contextmanager
def progress_task(description: str, total: int | None, transient: bool = False) -> Iterator[callable]:
    """Context manager yielding `advance(fps_text)` for a frame loop with a progress bar (removed when
    done if `transient`)."""
    with frame_progress(description, total, transient) as progress:
        task = progress.add_task(description, total=total, rate="")

        def advance(rate: str = "") -> None:
            progress.update(task, advance=1, rate=rate)

        yield advance


#: --perturb choices: what each does to a keypoint recording (`coach.pose.series.PoseSeries` transforms).
Perturbation = Enum("Perturbation", {name: name for name in PERTURBATIONS}, type=str)
PerturbOption = typer.Option(None, "--perturb", help="Count as if the footage were seen in a mirror, at half "
                             "the frame rate, or with shakier keypoints (a robustness check: the "
                             "PoseSeries transforms mirrored(), decimated(2), jittered()).", show_default=False)


def perturbed(series, perturb):
    """`series` changed by the --perturb choice (None: unchanged)."""
    from coach.devtools.rep_eval import perturbed as apply

    return apply(series, None if perturb is None else perturb.value)

