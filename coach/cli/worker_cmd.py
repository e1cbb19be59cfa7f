"""`coach worker`: analyse uploaded videos from the job queue, on this or another machine."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

from coach.cli.common import DbOption, ModelPathOption, err_console
from coach.cli.serve_cmd import QueueOption, UploadsOption


def worker(
    db=DbOption,
    queue: Optional[str] = QueueOption,
    uploads: Optional[Path] = UploadsOption,
    threads: int = typer.Option(1, "--threads", "-t", min=1, max=16, help="Jobs analysed at once by this "
                                "process (the pose model already uses several cores; run one worker per "
                                "machine or per two cores)."),
    model: Optional[Path] = ModelPathOption,
    exercises_dir: Optional[Path] = typer.Option(None, "--exercises", exists=True, file_okay=False,
                                                 help="Extra folder of exercise definitions "
                                                 "(the same as the server's)."),
    lease_s: float = typer.Option(30.0, "--lease-s", min=1.0, max=3600.0, help="Seconds this worker's claim on "
                                  "a job lasts without renewal; a killed worker's job is retried after it."),
) -> None:
    """Take analysis jobs from the queue until stopped (Ctrl-C or SIGTERM put the running job back in
    the queue).

    Point it at the server's database, queue and upload folder:\n
      coach worker --db postgresql+psycopg://coach@db.clinic/coach --queue redis://queue.clinic:6379/0 \\\n
                   --uploads /srv/coach/uploads
    """
    from coach.api.job_queue import (QUEUE_ENV, UPLOADS_ENV, JobQueue, default_queue, default_uploads, describe_queue,
                                     parse_queue)
    from coach.api.job_runner import JobRunner, QueueWorkers
    from coach.api.upload_store import UploadStore
    from db.engine import check_schema, close_database, describe, make_engine, resolve_db_path
    from sqlalchemy.orm import sessionmaker

    import os

    location = resolve_db_path(db)
    check_schema(location)  # the server migrates a shared database; a worker never does
    queue = queue if queue is not None else os.environ.get(QUEUE_ENV) or None
    queue_location = parse_queue(queue) if queue is not None else default_queue(location)
    uploads = uploads if uploads is not None else os.environ.get(UPLOADS_ENV) or None
    store = UploadStore(uploads if uploads else default_uploads(location))
    q = JobQueue(queue_location)
    q.check()

    model_cache: list[Path] = []

    def model_path() -> Path:
        if not model_cache:
            from coach.pose.models import resolve_model

            model_cache.append(resolve_model("full", model, allow_download=False, progress=False).path)
        return model_cache[0]

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    for name in ("coach.api.job_queue", "coach.api.upload_store", "coach.api.job_runner"):
        logging.getLogger(name).setLevel(logging.INFO)
    sm = sessionmaker(bind=make_engine(location), expire_on_commit=False)
    runner = JobRunner(sm, q, store, model_path, [exercises_dir] if exercises_dir else (), lease_s=lease_s)
    err_console.print(f"coach worker ({threads} at once): database {describe(location)}, "
                      f"{describe_queue(queue_location)}, uploads {store.folder}", highlight=False)
    try:
        QueueWorkers(runner, threads).run()
    finally:
        q.close()
        close_database(sm)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
