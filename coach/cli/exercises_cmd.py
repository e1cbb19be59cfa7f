"""`coach exercises ...`: the exercise library — validate definitions, list them, show one."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from coach.cli.common import console, err_console

exercises_app = typer.Typer(help="Exercise definitions (YAML): validate, list, show.", no_args_is_help=True)

ExtraDirsOption = typer.Option(None, "--dir", "-d", help="Extra directory of definitions (repeatable); "
                               "a definition there replaces a built-in one with the same id.")


@exercises_app.command("validate")
def validate(paths: List[Path] = typer.Argument(..., help="Definition files or directories of *.yaml."),
             ) -> None:
    """Check definitions without running them; every problem is printed as file:line: field: message.

    Exit status 0 when all are valid, 1 otherwise.
    """
    from coach.exercise_spec import definition_files, validate_paths

    files = definition_files(paths)
    problems = validate_paths(paths)
    for p in problems:
        err_console.print(f"[red]✗[/] {escape(str(p))}", highlight=False, soft_wrap=True)
    bad = {p.path for p in problems}
    good = [f for f in files if str(f) not in bad]
    for f in good:
        console.print(f"[green]✓[/] {escape(str(f))}", highlight=False, soft_wrap=True)
    if not files and not problems:
        err_console.print("no definition files found (expected *.yaml files or directories of them)")
        raise typer.Exit(1)
    console.print(f"{len(good)} valid, {len(bad)} with problems", highlight=False)
    if problems:
        raise typer.Exit(1)


@exercises_app.command("list")
def list_cmd(dirs: Optional[List[Path]] = ExtraDirsOption) -> None:
    """List the available exercises."""
    from coach.exercise_library import list_definitions

    table = Table(title="exercises")
    for col in ("id", "name", "category", "view", "counts"):
        table.add_column(col)
    for d in list_definitions(dirs or ()):
        mv = d.movement
        kind = "hold" if mv.hold is not None else ("reps per side" if mv.sides == "each" else "reps")
        table.add_row(d.id, d.name, d.category, d.view, kind)
    console.print(table)


@exercises_app.command("show")
def show(exercise_id: str = typer.Argument(..., help="Exercise id, e.g. squat."),
         dirs: Optional[List[Path]] = ExtraDirsOption) -> None:
    """Show one definition: set-up instructions, measures, phases, form rules, targets."""
    from coach.exercise_library import get_definition

    d = get_definition(exercise_id, dirs or ())
    console.print(f"[bold]{d.name}[/] ({d.id}, {d.category}, {d.view} view)  {d.source}", highlight=False)
    if d.description:
        console.print(d.description, highlight=False)
    for line in d.setup:
        console.print(f"  • {line}", highlight=False)
    console.print("[bold]measures[/]")
    for name, m in d.measures.items():
        parts = ", ".join(getattr(m, m.kind))
        console.print(escape(f"  {name}: {m.kind} [{parts}] {m.space} side={m.side}"), highlight=False)
    mv = d.movement
    console.print(f"[bold]movement[/] on {mv.measure}" + (f", range {mv.range.model_dump()}" if mv.range else ""),
                  highlight=False)
    for name, ph in mv.phases.items():
        console.print(f"  {name}: when {ph.when!r} until {ph.until or 'not (when)'!r}", highlight=False)
    if mv.rep:
        console.print(f"  rep: {' → '.join(mv.rep)}", highlight=False)
    if mv.hold:
        console.print(f"  hold: {mv.hold.phase}", highlight=False)
    if d.form:
        console.print("[bold]form[/]")
        for r in d.form:
            console.print(f"  {r.code} ({r.check}): fails if {r.fail_if!r} → \"{r.cue}\"", highlight=False)
    if d.targets_dict:
        console.print(f"[bold]targets[/] {d.targets_dict}", highlight=False)
    console.print(f"hash {d.content_hash[:12]}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(exercises_app, name="exercises")
