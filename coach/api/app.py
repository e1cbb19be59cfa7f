"""The application factory: ``create_app(db_path)`` gives the FastAPI app that ``coach serve`` runs."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from coach.errors import CoachError
from db.errors import DatabaseError

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_MAX_UPLOAD_MB = 200.0


@dataclass
class ApiSettings:
    db_path: Path  #: or a database URL (``sqlalchemy.engine.URL``)
    #: Pose model file; None: resolved on first use like the CLI does (user cache / offline build).
    model_path: Path | None = None
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1e6)
    job_workers: int = 1  #: analyses run in this process (0: only by separate `coach worker`s)
    queue: str | Path | None = None  #: the job queue (a Redis URL or an SQLite queue file)
    uploads: Path | None = None  #: the upload folder every worker reads
    max_live: int = 2
    exercise_dirs: list[Path] = field(default_factory=list)
    #: Makes the per-connection pose engine of live coaching (tests replace it).
    pose_engine_factory: Callable | None = None
    _model: Path | None = None

    def resolve_model(self) -> Path:
        if self.model_path is not None:
            return Path(self.model_path)
        if self._model is None:
            from coach.pose.models import resolve_model

            self._model = resolve_model("full", allow_download=False, progress=False).path
        return self._model


def create_app(db_path: str | os.PathLike | None = None, *, model_path: str | os.PathLike | None = None,
               max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB, job_workers: int | None = None, max_live: int = 2,
               exercise_dirs=(), pose_engine_factory: Callable | None = None, cors_origins=(),
               queue: str | os.PathLike | None = None, uploads: str | os.PathLike | None = None,
               job_attempts: int | None = None, job_lease_s: float | None = None) -> FastAPI:
    """The API over the history database ``db_path`` (a file or a URL; default: $COACH_DB, else the user
    data folder).

    ``cors_origins``: web origins (e.g. ``https://portal.clinic.example``) whose pages may call the API
    from the browser; none by default (the page served here and native apps need none).
    Jobs: ``queue`` (default $COACH_QUEUE, else the embedded SQLite queue beside the history), ``uploads``
    (default $COACH_UPLOADS, else a folder beside the history), ``job_workers`` analyses in this process
    (default 1 on the embedded queue, 0 when a queue is given: `coach worker`s do them)."""
    from coach.api import jobs, live, routes_exercises, routes_patients
    from coach.api.limits import BodySizeLimit
    from coach.api.job_queue import QUEUE_ENV, UPLOADS_ENV, JobQueue, default_queue, default_uploads, parse_queue
    from coach.api.job_records import DEFAULT_ATTEMPTS
    from coach.api.upload_store import UploadStore
    from db.engine import close_database, open_database, resolve_db_path

    location = resolve_db_path(db_path)
    queue = queue if queue is not None else os.environ.get(QUEUE_ENV) or None
    queue_location = parse_queue(queue) if queue is not None else default_queue(location)
    if job_workers is None:
        job_workers = 1 if queue is None else 0
    uploads = uploads if uploads is not None else os.environ.get(UPLOADS_ENV) or None
    settings = ApiSettings(db_path=location, model_path=Path(model_path) if model_path else None,
                           max_upload_bytes=int(max_upload_mb * 1e6), job_workers=job_workers, max_live=max_live,
                           exercise_dirs=[Path(d) for d in exercise_dirs], queue=queue_location,
                           uploads=Path(uploads).expanduser() if uploads else default_uploads(location))
    if pose_engine_factory is None:
        def pose_engine_factory():
            from coach.pose.engine import PoseEngine

            return PoseEngine(settings.resolve_model(), num_poses=1, mode="video")
    settings.pose_engine_factory = pose_engine_factory
    sm = open_database(settings.db_path)
    try:
        job_store = JobQueue(settings.queue)
        job_store.check()
        uploads_store = UploadStore(settings.uploads)
    except BaseException:
        close_database(sm)
        raise

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app):
        from coach.api.reports import warm_up

        _app.state.stopping.clear()
        warm_up()  # the processes that draw HTML and PDF reports
        _app.state.jobs.start()
        yield
        _app.state.stopping.set()  # renders still running stop at their next step
        _app.state.jobs.shutdown()
        close_database(sm)

    app = FastAPI(
        lifespan=lifespan,
        title="coach API",
        version="1",
        description=(
            "Exercise coaching for web and mobile clients: patients, prescriptions, sessions with reps "
            "and faults, reports, the exercise library, video analysis jobs, and live coaching over the "
            "WebSocket `/api/live` (protocol: see `coach/api/live.py`).\n\n"
            "Every `/api` endpoint needs `Authorization: Bearer <token>` (from `coach users add` / "
            "`coach users token`). A therapist sees only their own patients; a patient only their own data."
        ),
    )
    app.state.settings = settings
    app.state.sessionmaker = sm
    app.state.jobs = jobs.JobManager(sm, job_store, uploads_store, settings.resolve_model, settings.exercise_dirs,
                                     workers=job_workers, max_attempts=job_attempts or DEFAULT_ATTEMPTS,
                                     lease_s=job_lease_s)
    app.state.live_slots = asyncio.Semaphore(max_live)
    from coach.api.reports import RENDERS_AT_ONCE

    app.state.render_slots = asyncio.Semaphore(RENDERS_AT_ONCE)
    #: Set when the server stops (SIGTERM, Ctrl-C: see `coach serve`): renders and analyses stop at once.
    app.state.stopping = threading.Event()
    routes_patients._EXTRA_DIRS[:] = settings.exercise_dirs
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])
    from coach.api.routes_exercises import MAX_DEFINITION_BYTES

    app.add_middleware(BodySizeLimit, limits={"/api/jobs": settings.max_upload_bytes,
                                              "/api/exercises/validate": MAX_DEFINITION_BYTES},
                       default=1024 * 1024)

    from fastapi.exceptions import RequestValidationError

    from starlette.exceptions import HTTPException as StarletteHTTPException

    from coach.api.errors import http_error, request_validation_error, safe_text

    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)

    from sqlalchemy.exc import DBAPIError

    @app.exception_handler(DBAPIError)
    async def _driver_error(request: Request, exc: DBAPIError):
        """A database error no handler expected: 503 (the history cannot be written or reached), said so."""
        from db.engine import describe, unwritable_error

        log.warning("database error on %s %s: %s", request.method, request.url.path, exc.orig or exc)
        known = unwritable_error(sm, exc)
        detail = str(known) if known is not None else (
            f"the history database {describe(settings.db_path)} did not complete the request "
            f"({type(exc.orig or exc).__name__}); try again in a moment")
        return JSONResponse({"detail": safe_text(detail)}, status_code=503, headers={"Retry-After": "30"})

    @app.exception_handler(CoachError)
    @app.exception_handler(DatabaseError)
    async def _coach_error(request: Request, exc: Exception):
        from coach.reports.budget import RenderStopped
        from db.errors import DatabaseUnwritable, NotFound

        if isinstance(exc, (RenderStopped, DatabaseUnwritable)):
            return JSONResponse({"detail": safe_text(str(exc))}, status_code=503, headers={"Retry-After": "30"})
        return JSONResponse({"detail": safe_text(str(exc))}, status_code=404 if isinstance(exc, NotFound) else 422)

    app.include_router(routes_patients.router)
    app.include_router(routes_exercises.router)
    app.include_router(jobs.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/api", include_in_schema=False)
    def api_root():
        return RedirectResponse("/docs")

    return app
