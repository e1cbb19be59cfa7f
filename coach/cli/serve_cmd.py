"""`coach serve`: the HTTP API and the web page (live coaching, patients' reports)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from coach.cli.common import DbOption, err_console


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    db: Optional[Path] = DbOption,
    max_upload_mb: float = typer.Option(200.0, "--max-upload-mb", min=0.001, help="Largest video upload, MB."),
    workers: int = typer.Option(1, "--job-workers", min=1, max=16, help="Videos analysed at once."),
    max_live: int = typer.Option(2, "--max-live", min=1, max=64, help="Live coaching connections at once."),
    model: Optional[Path] = typer.Option(None, "--model", help="Pose model .task file (default: as `workout`)."),
    exercises_dir: Optional[Path] = typer.Option(None, "--exercises", help="Extra folder of exercise definitions."),
    cors_origin: Optional[List[str]] = typer.Option(None, "--cors-origin", help="A web origin whose pages may "
                                                    "call the API (repeatable), e.g. https://portal.example."),
) -> None:
    """Serve the HTTP API (docs at /docs) and the web page (/) over the history database.

    Users and tokens: `coach users add NAME --role therapist|patient`. Jobs live in memory: a restart
    forgets them (their sessions stay in the database).
    """
    import uvicorn

    from coach.api.app import create_app

    app = create_app(db, model_path=model, max_upload_mb=max_upload_mb, job_workers=workers, max_live=max_live,
                     exercise_dirs=[exercises_dir] if exercises_dir else (), cors_origins=cors_origin or ())
    err_console.print(f"coach API on http://{host}:{port}/  (docs: /docs, database: {app.state.settings.db_path})",
                      highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning", ws_max_size=8 * 1024 * 1024)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
