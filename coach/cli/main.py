"""The `coach` command: assembles the command groups and turns user errors into one clear sentence."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from coach.errors import USER_ERRORS

app = typer.Typer(
    name="coach",
    help="Exercise coaching for fitness and rehabilitation: count reps, time holds, measure range of "
    "motion and flag bad form from a camera, a video or a keypoint recording.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Command modules; each has `register(app)`. Listed here so the help shows them in this order.
COMMAND_MODULES = (
    "coach.cli.demo_cmd",
    "coach.cli.workout_cmd",
    "coach.cli.sessions_cmd",
    "coach.cli.plan_cmd",
    "coach.cli.report_cmd",
    "coach.cli.serve_cmd",
    "coach.cli.worker_cmd",
    "coach.cli.users_cmd",
    "coach.cli.exercises_cmd",
    "coach.cli.pose_cmd",
    "coach.cli.models_cmd",
    "coach.cli.eval_cmd",
    "coach.cli.bench_cmd",
)

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # a command group not written yet
        if _exc.name != _name:
            raise
        continue
    _module.register(app)

err_console = Console(stderr=True)


def run(argv: list[str] | None = None) -> None:
    """Run the CLI; a user error (`coach.errors.USER_ERRORS`) becomes one red sentence on stderr and exit status 2."""
    try:
        app(args=argv, prog_name="coach")
    except USER_ERRORS as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
