"""The upload folder: each upload as one file until its analysis ends (kept only if the patient
asked). Every worker must see the same folder (a local folder for one machine, a shared mount for
several).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coach.api.job_queue import QueueError
from db.models import AnalysisJob

log = logging.getLogger(__name__)

#: Seconds an upload without a job row is left alone when a server starts: a server on another machine
#: may be between storing it and recording its job.
ORPHAN_UPLOAD_GRACE_S = 600.0
#: This machine, as partial upload names spell it.
_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:64] or "host"


class UploadStore:
    """The folder of uploads waiting for (or kept after) their analysis: one file per job.

    A file is written under a temporary name that says which process writes it
    (``<job>.<host>-<pid>.part``), fsynced and renamed into place (:meth:`save`), so a crash leaves
    either no upload or a whole one; :meth:`sweep` (when a server starts) deletes what a killed server
    left behind.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).expanduser()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise QueueError(f"Cannot create the upload folder {self.folder}: {exc.strerror}.") from None
        if not os.access(self.folder, os.W_OK):
            raise QueueError(f"The upload folder {self.folder} is not writable.")

    def partial(self, job_id: str) -> Path:
        """Where an upload streams to before it is complete (named for this process)."""
        return self.folder / f"{job_id}.{_HOST}-{os.getpid()}.part"

    def save(self, partial: Path, job_id: str, kind: str) -> str:
        """Make a complete upload durable and give it its final name (returned)."""
        name = f"{job_id}.npz" if kind == "recording" else f"{job_id}.video"
        with open(partial, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(partial, self.folder / name)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return name

    def path(self, name: str) -> Path:
        return self.folder / name

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    def sweep(self, states: Callable[[list[str]], dict[str, tuple[str, bool]]] | None = None, *,
              grace_s: float = ORPHAN_UPLOAD_GRACE_S, now: float | None = None) -> list[Path]:
        """Delete what no job needs any more; returns what was deleted:

        - a partial upload of a process on this machine that is not running any more (a server killed
          while receiving it), or any partial upload older than an hour (another machine's);
        - with ``states`` (job ids -> (status, keep_upload), from the history): an upload whose job is
          done or failed and did not ask to keep it, or one of no job at all (a server killed between
          storing it and recording its job) older than ``grace_s``;
        - the ``coach-uploads-*`` folders that coach versions before the durable jobs made in the
          temporary folder, and never emptied, untouched for an hour.
        """
        now = time.time() if now is None else now
        gone: list[Path] = []

        def drop(p: Path) -> None:
            try:
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()
                gone.append(p)
            except OSError as exc:
                log.warning("could not delete the leftover upload %s: %s", p, exc)

        finals: dict[str, Path] = {}
        for p in self.folder.iterdir():
            if p.name.endswith(".part"):
                writer = p.name[:-len(".part")].split(".", 1)[-1]  # "<host>-<pid>", or the job id (old names)
                host, _, pid = writer.rpartition("-")
                dead_here = host == _HOST and pid.isdigit() and not _alive(int(pid))
                if dead_here or _age(p, now) > 3600.0:
                    drop(p)
            elif p.suffix in (".npz", ".video") and p.is_file():
                finals[p.stem] = p
        if states is not None and finals:
            known = states(sorted(finals))
            for job_id, p in finals.items():
                status, keep = known.get(job_id, (None, False))
                if (status is None and _age(p, now) > grace_s) or (status in ("done", "failed") and not keep):
                    drop(p)
        for old in Path(tempfile.gettempdir()).glob("coach-uploads-*"):
            try:
                mine = old.is_dir() and old.stat().st_uid == os.getuid()
            except OSError:
                continue
            if mine and _age(old, now) > 3600.0:
                drop(old)
        if gone:
            log.warning("deleted %d leftover upload(s): %s", len(gone), ", ".join(p.name for p in gone))
        return gone




def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _age(p: Path, now: float) -> float:
    try:
        return now - p.stat().st_mtime
    except OSError:
        return 0.0


def upload_states(sm: sessionmaker[Session], job_ids: list[str]) -> dict[str, tuple[str, bool]]:
    """{job id: (status, keep_upload)} of the jobs among ``job_ids`` that have a row."""
    out: dict[str, tuple[str, bool]] = {}
    with sm() as s:
        for i in range(0, len(job_ids), 500):
            for jid, status, keep in s.execute(select(AnalysisJob.id, AnalysisJob.status, AnalysisJob.keep_upload)
                                               .where(AnalysisJob.id.in_(job_ids[i:i + 500]))):
                out[jid] = (status, bool(keep))
    return out
