"""Throwaway PostgreSQL and Redis servers on loopback, in a temporary folder, for tests and load runs.

Both listen on 127.0.0.1 only, on a free port, keep their files in a folder of their own and are stopped
(and the folder removed) by ``stop()`` or on leaving the ``with`` block. They are the real servers
(Debian's ``postgresql`` and ``redis-server`` packages), not stand-ins.

PostgreSQL refuses to run as root. Run as root (CI), the server runs as the unprivileged ``postgres``
user that Debian's package creates (``runuser -u postgres -- initdb/pg_ctl``); elsewhere as the current
user. When a server cannot start, :class:`ServerUnavailable` says why in one sentence (tests skip with it).

``PG_BINDIR`` (the folder of initdb and pg_ctl) and ``REDIS_SERVER`` (the redis-server program) choose
other installations; by default they are looked up on PATH and in Debian's /usr/lib/postgresql/N/bin.

For speed the PostgreSQL cluster runs with ``fsync=off``: the tests kill coach's programs, never the
database server, so what a client committed is still in the server's memory and WAL buffers.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds to wait for a server to accept connections.
START_TIMEOUT_S = 30.0


class ServerUnavailable(RuntimeError):
    """A test server could not be started here (not installed, no unprivileged user, ...)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen | None, what: str, log: Path | None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    tail = log.read_text(errors="replace")[-500:] if log and log.exists() else ""
    raise ServerUnavailable(f"{what} did not start on 127.0.0.1:{port}: {tail.strip() or 'no output'}")


def _postgres_bindir() -> Path:
    """Where initdb and pg_ctl are: $PG_BINDIR, PATH, or Debian's /usr/lib/postgresql/N/bin (newest)."""
    if os.environ.get("PG_BINDIR"):
        bindir = Path(os.environ["PG_BINDIR"])
        if not (bindir / "initdb").is_file():
            raise ServerUnavailable(f"PG_BINDIR={bindir} has no initdb")
        return bindir
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    raise ServerUnavailable("PostgreSQL is not installed (no initdb; Debian: apt-get install postgresql)")


@dataclass
class LocalPostgres:
    """A PostgreSQL cluster of its own; :meth:`create_database` gives a fresh database and its URL."""

    port: int = field(default_factory=free_port)
    user: str = "coach"
    root: Path | None = None
    _as: list[str] = field(default_factory=list)
    _bindir: Path | None = None
    _count: int = 0

    def start(self) -> "LocalPostgres":
        self._bindir = _postgres_bindir()
        owner = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable("PostgreSQL refuses to run as root and there is no 'postgres' user "
                                        "to run it as (Debian's postgresql package creates one)") from None
            if shutil.which("runuser") is None:
                raise ServerUnavailable("running as root, but runuser is missing to start PostgreSQL as "
                                        "the postgres user")
            self._as = ["runuser", "-u", "postgres", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="coach-pg-"))
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        data = self.root / "data"
        log = self.root / "server.log"
        init = subprocess.run([*self._as, str(self._bindir / "initdb"), "-D", str(data), "-U", self.user,
                               "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                              capture_output=True, text=True)
        if init.returncode != 0:
            self.stop()
            raise ServerUnavailable(f"initdb failed: {(init.stderr or init.stdout).strip()[-300:]}")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='{self.root}' "
                   "-c fsync=off -c full_page_writes=off -c max_connections=200")
        start = subprocess.run([*self._as, str(self._bindir / "pg_ctl"), "-D", str(data), "-l", str(log),
                                "-o", options, "-w", "-t", str(int(START_TIMEOUT_S)), "start"],
                               capture_output=True, text=True)
        if start.returncode != 0:
            tail = log.read_text(errors="replace")[-300:] if log.exists() else start.stderr
            self.stop()
            raise ServerUnavailable(f"PostgreSQL did not start: {tail.strip()}")
        return self

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a fresh name unless given) and return its URL."""
        import psycopg

        self._count += 1
        name = name or f"coach_{os.getpid()}_{self._count}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url``, ending its connections first."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.root is None:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists() and self._bindir is not None:
            subprocess.run([*self._as, str(self._bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                            "-w", "stop"], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class LocalRedis:
    """A Redis server of its own, with an append-only file fsynced every second (its durable mode)."""

    port: int = field(default_factory=free_port)
    root: Path | None = None
    proc: subprocess.Popen | None = None

    def start(self) -> "LocalRedis":
        binary = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
        if binary is None or not Path(binary).is_file():
            raise ServerUnavailable("Redis is not installed (no redis-server; Debian: apt-get install "
                                    "redis-server)")
        self.root = Path(tempfile.mkdtemp(prefix="coach-redis-"))
        log = self.root / "server.log"
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.root),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--logfile", str(log),
             "--daemonize", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(self.port, self.proc, "redis-server", log)
        except ServerUnavailable:
            self.stop()
            raise
        return self

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> "LocalRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
