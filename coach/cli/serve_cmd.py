"""`coach serve`: the HTTP API and the web page (live coaching, patients' reports)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from coach.cli.common import DbOption, err_console

QueueOption = typer.Option(None, "--queue", help="The job queue: a Redis URL (redis://host:6379/0) shared by "
                           "`coach worker`s on other machines, or an SQLite queue file (default: $COACH_QUEUE, "
                           "else a file beside the history, served by this process).", show_default=False,
                           metavar="URL|FILE")
UploadsOption = typer.Option(None, "--uploads", help="Folder for uploads waiting for analysis; every worker "
                             "must see the same folder (default: $COACH_UPLOADS, else a folder beside the "
                             "history).", show_default=False, file_okay=False)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    db=DbOption,
    max_upload_mb: float = typer.Option(200.0, "--max-upload-mb", min=0.001, help="Largest video upload, MB."),
    workers: Optional[int] = typer.Option(None, "--job-workers", min=0, max=16, help="Videos analysed at once in "
                                          "this process (default: 1; 0 with --queue, where `coach worker`s do "
                                          "them).", show_default=False),
    queue: Optional[str] = QueueOption,
    uploads: Optional[Path] = UploadsOption,
    attempts: int = typer.Option(3, "--job-attempts", min=1, max=20, help="Starts of a job before it is marked "
                                 "failed (a worker killed mid-job, a passing error)."),
    max_live: int = typer.Option(2, "--max-live", min=1, max=64, help="Live coaching connections at once."),
    model: Optional[Path] = typer.Option(None, "--model", help="Pose model .task file (default: as `workout`)."),
    exercises_dir: Optional[Path] = typer.Option(None, "--exercises", exists=True, file_okay=False,
                                                 help="Extra folder of exercise definitions."),
    cors_origin: Optional[List[str]] = typer.Option(None, "--cors-origin", help="A web origin whose pages may "
                                                    "call the API (repeatable), e.g. https://portal.example."),
) -> None:
    """Serve the HTTP API (docs at /docs) and the web page (/) over the history database.

    Users and tokens: `coach users add NAME --role therapist|patient`. Uploaded videos are analysed as
    durable jobs: queued and running ones survive a restart. For a clinic (PostgreSQL, Redis, workers
    on other machines) see the README, "Running coach for a clinic".
    """
    import uvicorn

    from coach.api.app import create_app
    from coach.api.job_queue import describe_queue
    from db.engine import describe

    app = create_app(db, model_path=model, max_upload_mb=max_upload_mb, job_workers=workers, max_live=max_live,
                     exercise_dirs=[exercises_dir] if exercises_dir else (), cors_origins=cors_origin or (),
                     queue=queue, uploads=uploads, job_attempts=attempts)
    s = app.state.settings
    err_console.print(f"coach API on http://{host}:{port}/  (docs: /docs, database: {describe(s.db_path)}, jobs: "
                      f"{describe_queue(s.queue)}, {s.job_workers} in this process)", highlight=False)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", ws_max_size=8 * 1024 * 1024,
                            timeout_graceful_shutdown=GRACEFUL_S)

    class Server(uvicorn.Server):
        """On SIGTERM or Ctrl-C, tell the analyses and the report renders at once to stop at their next
        frame or step (the jobs go back to the queue), rather than wait for them to end."""

        def handle_exit(self, sig, frame) -> None:
            app.state.stopping.set()
            app.state.jobs.runner.stopping.set()
            super().handle_exit(sig, frame)

    Server(config).run()


#: Seconds a stopping server gives the requests in flight before it cancels them.
GRACEFUL_S = 10


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
