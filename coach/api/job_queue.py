"""The job queue and where it lives: huey on its SQLite storage (a file; the embedded default, no
server) or on Redis (``redis://…``, for workers on several machines), and the default places of the
queue and the upload folder.

The queue only delivers analysis job ids to workers; the job row (:mod:`coach.api.job_records`) is the
truth about a job, the upload folder (:mod:`coach.api.upload_store`) holds its file, and
:mod:`coach.api.job_runner` runs what the queue delivers.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Callable

from coach.errors import CoachError
from db.engine import is_url

log = logging.getLogger(__name__)

#: Environment variables: the queue (a Redis URL, or an SQLite queue file) and the upload folder.
QUEUE_ENV = "COACH_QUEUE"
UPLOADS_ENV = "COACH_UPLOADS"
#: Name of the queue inside its storage (several coach installations may share one Redis by name).
QUEUE_NAME = "coach-analysis"


class QueueError(CoachError):
    """The job queue or the upload folder cannot be used (one sentence)."""


def parse_queue(value: str | os.PathLike[str]) -> str | Path:
    """A ``--queue`` / ``$COACH_QUEUE`` value: a Redis URL (``redis://``, ``rediss://``, ``unix://``)
    stays a string, ``sqlite:///path`` or a plain path is the SQLite queue file. Other schemes are a
    :class:`QueueError`."""
    text = str(value)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*)://", text)
    if scheme is None:
        return Path(text).expanduser()
    name = scheme.group(1).lower()
    if name in ("redis", "rediss", "unix"):
        return text
    if name == "sqlite" and text[len("sqlite:///"):]:
        return Path(text[len("sqlite:///"):]).expanduser()
    raise QueueError(f"coach's job queue is a Redis URL (redis://host:6379/0) or an SQLite queue file, "
                     f"not {name!r}.")


def default_queue(db_location) -> Path:
    """The embedded queue file: beside an SQLite history (``<name>.queue.sqlite``), else in the user
    data folder."""
    if not is_url(db_location):
        p = Path(db_location)
        return p.with_name(p.stem + ".queue.sqlite")
    from platformdirs import user_data_path

    return user_data_path("coach", appauthor=False) / "queue.sqlite"


def default_uploads(db_location) -> Path:
    """The upload folder: beside an SQLite history (``<name>.uploads/``), else in the user data folder."""
    if not is_url(db_location):
        p = Path(db_location)
        return p.with_name(p.stem + ".uploads")
    from platformdirs import user_data_path

    return user_data_path("coach", appauthor=False) / "uploads"


def describe_queue(location: str | Path) -> str:
    """The queue for messages, without a password."""
    if isinstance(location, Path):
        return f"SQLite queue {location}"
    return re.sub(r"://([^:@/]*):[^@/]*@", r"://\1:***@", location)


class JobQueue:
    """The huey queue of analysis job ids, on SQLite (a file) or Redis.

    Only ids travel through it; :meth:`set_handler` gives the function that a worker of this process
    runs for each id delivered.
    """

    def __init__(self, location: str | Path) -> None:
        from huey import RedisHuey, SqliteHuey

        self.location = location
        if isinstance(location, Path):
            try:
                location.parent.mkdir(parents=True, exist_ok=True)
                # fsync: a queued id survives a power cut, like the history's rows
                self.huey = SqliteHuey(QUEUE_NAME, filename=str(location), results=False, fsync=True,
                                       timeout=30)
            except Exception as exc:  # sqlite3.Error, OSError: one sentence
                raise QueueError(f"Cannot open the job queue {location}: {exc}.") from None
        else:
            from redis import ConnectionPool

            try:
                pool = ConnectionPool.from_url(location, socket_connect_timeout=5, socket_timeout=10,
                                               health_check_interval=30)
            except ValueError as exc:
                raise QueueError(f"{describe_queue(location)} is not a Redis URL coach can use: {exc}.") from None
            self.huey = RedisHuey(QUEUE_NAME, connection_pool=pool, results=False)
        self._handler: Callable[[str], None] | None = None

        @self.huey.task(name="analyse_upload")
        def analyse_upload(job_id: str) -> None:
            if self._handler is None:
                raise RuntimeError("this process has no job worker")
            self._handler(job_id)

        self._task = analyse_upload

    def set_handler(self, handler: Callable[[str], None]) -> None:
        self._handler = handler

    def check(self) -> None:
        """Raise :class:`QueueError` (one sentence) unless the queue answers."""
        try:
            if isinstance(self.location, Path):
                self.huey.pending_count()
            else:
                self.huey.storage.conn.ping()
        except Exception as exc:  # redis.ConnectionError, sqlite3.Error ...
            detail = str(exc).splitlines()[0].rstrip(".").replace(". ", ": ") if str(exc) else type(exc).__name__
            raise QueueError(f"Cannot reach the job queue {describe_queue(self.location)}: {detail}.") from None

    def enqueue(self, job_id: str, delay_s: float = 0.0) -> bool:
        """Put a job id in the queue (after ``delay_s``). False, logged, if the queue is unreachable:
        the job stays ``queued`` in the database and :func:`coach.api.job_runner.recover` enqueues it later."""
        try:
            if delay_s > 0:
                self._task.schedule((job_id,), delay=delay_s)
            else:
                self.huey.enqueue(self._task.s(job_id))
            return True
        except Exception as exc:
            log.warning("could not enqueue job %s (%s); it will be enqueued again later", job_id, exc)
            return False

    def waiting_ids(self) -> set[str]:
        """Ids in the queue or scheduled for a retry."""
        ids = set()
        for task in list(self.huey.pending()) + list(self.huey.scheduled()):
            if task.args:
                ids.add(str(task.args[0]))
        return ids

    def close(self) -> None:
        close = getattr(self.huey.storage, "close", None)
        if close is not None:
            close()

