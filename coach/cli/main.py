"""The `coach` command: assembles the command groups and turns user errors into one clear sentence."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperGroup, TyperOption

from coach.errors import USER_ERRORS


class _Argument(TyperArgument):
    """An argument in the usage line as NAME (required) or [NAME] (optional), not {name}."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"


class _Flag(TyperOption):
    """An on/off flag takes no value, so its help shows none (not ``<bool>``: ``--json true`` fails)."""

    def display_type_rich(self, ctx) -> str | None:
        return None


def _plain_help(command) -> None:
    """Give every command's parameters the help display above (arguments named in capitals), recursively."""
    for param in getattr(command, "params", ()):
        if type(param) is TyperArgument:
            param.__class__ = _Argument
            if param.metavar is None:
                param.metavar = param.name.upper()
        elif type(param) is TyperOption and param.is_flag:
            param.__class__ = _Flag
    original = command.get_help_option  # --help is made per call, not kept in params

    def help_option(ctx, _original=original):
        option = _original(ctx)
        if option is not None and type(option) is TyperOption:
            option.__class__ = _Flag
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class CoachGroup(TyperGroup):
    """The root command: typer builds the whole tree before it, so it can fix the help of every command."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _plain_help(self)


app = typer.Typer(
    cls=CoachGroup,
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
