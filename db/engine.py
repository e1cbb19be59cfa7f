"""Where the history lives and how it is opened: SQLite in WAL mode, migrated to the newest schema on open.

Durability, the "never lose a rep" promise:

- WAL journal: a committed transaction is appended to the ``-wal`` file; readers never block the writer,
  and a killed writer leaves the database valid (the next opener recovers from the WAL).
- ``synchronous=FULL`` (the default here): the WAL is fsynced at every commit, so a committed rep survives
  not only SIGKILL (``NORMAL`` would already do that) but also a power cut or an OS crash. Reps commit a
  few seconds apart, so one fsync each costs nothing; bulk writers may pass ``synchronous="NORMAL"``.
- Transactions are SQLAlchemy's, not the sqlite3 module's legacy implicit ones (which do not cover DDL):
  ``BEGIN`` is emitted explicitly, so a migration is all-or-nothing, and a writer can ask for
  ``BEGIN IMMEDIATE`` (see :func:`write_session`) to take the write lock up front and wait for it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Literal

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from db.errors import DatabaseError

#: Environment variable that overrides the default database location.
ENV_VAR = "COACH_DB"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Seconds a connection waits for another process's write lock before giving up.
BUSY_TIMEOUT_S = 30.0

Synchronous = Literal["FULL", "NORMAL", "EXTRA"]


def default_db_path() -> Path:
    """``$COACH_DB`` if set, else ``coach.sqlite`` in the user's data directory (platformdirs)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("coach", appauthor=False) / "coach.sqlite"


def resolve_db_path(path: str | os.PathLike[str] | None) -> Path:
    """The database file a command should use: the given path, else :func:`default_db_path`."""
    return Path(path).expanduser() if path is not None else default_db_path()


def make_engine(
    path: str | os.PathLike[str], *, synchronous: Synchronous = "FULL", foreign_keys: bool = True
) -> Engine:
    """An engine on the SQLite file ``path`` with WAL, the given ``synchronous`` level and foreign keys.

    It does not create directories nor migrate; :func:`open_database` does both.
    """
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
    engine = create_engine(
        f"sqlite:///{Path(path)}",
        connect_args={"timeout": BUSY_TIMEOUT_S},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            mode = _switch_to_wal(cursor)
            if str(mode).lower() != "wal":
                raise DatabaseError(f"Could not switch {path} to WAL journal mode (it stayed {mode!r}).")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def _switch_to_wal(cursor) -> str:
    """``PRAGMA journal_mode=WAL``; returns the mode the file is in afterwards.

    While another connection is switching a brand-new file to WAL, SQLite answers "database is locked"
    at once, without waiting in its busy handler (two programs creating the history together hit
    this); so retry, with a growing pause, for up to :data:`BUSY_TIMEOUT_S`. The mode is kept in the file,
    so once one connection has switched, the others find it done.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return cursor.fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(2 * pause, 0.25)


@contextmanager
def write_session(sm: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction starts with ``BEGIN IMMEDIATE`` and commits on leaving the block.

    Taking the write lock up front means a concurrent writer makes us wait (up to
    :data:`BUSY_TIMEOUT_S`) instead of failing half-way with "database is locked".
    """
    with sm() as session, session.begin():
        # The first connection of the transaction, so the options apply to its BEGIN.
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        yield session


def alembic_config(engine_or_connection: Engine | Connection | None = None, script_location: Path | None = None):
    """An Alembic ``Config`` built in code (no ``alembic.ini``); the connection is handed to env.py."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location or MIGRATIONS_DIR))
    if engine_or_connection is not None:
        cfg.attributes["connection"] = engine_or_connection
    return cfg


def head_revision(script_location: Path | None = None) -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config(script_location=script_location)).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({heads}); merge them")
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(path: str | os.PathLike[str], *, script_location: Path | None = None) -> None:
    """Migrate the database file to the newest schema, in one transaction, holding the write lock.

    Foreign keys are off while migrating (SQLite's table-rebuilding batch operations need that) and
    checked afterwards; two programs opening an old database at once take turns.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    head = head_revision(script_location)
    known = {rev.revision for rev in ScriptDirectory.from_config(
        alembic_config(script_location=script_location)).walk_revisions()}
    engine = make_engine(path, foreign_keys=False)
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
            if current == head:
                return
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
            with conn.begin():
                current = current_revision(conn)  # again, now that we hold the write lock
                if current is not None and current not in known:
                    raise DatabaseError(
                        f"The database {path} has schema revision {current}, newer than this program "
                        f"knows (up to {head}); use a newer coach, or another --db."
                    )
                if current is None:
                    tables = [t for (t,) in conn.exec_driver_sql(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                        if t != "alembic_version"]
                    if tables:
                        raise DatabaseError(
                            f"{path} is an SQLite database but not a coach history (it has tables "
                            f"{', '.join(sorted(tables)[:5])}); give another --db."
                        )
                command.upgrade(alembic_config(conn, script_location), "head")
            problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise DatabaseError(
                    f"The database {path} has {len(problems)} rows with broken references after "
                    f"upgrading its schema (first: {problems[0]})."
                )
    finally:
        engine.dispose()


def open_database(
    path: str | os.PathLike[str] | None = None, *, synchronous: Synchronous = "FULL"
) -> sessionmaker[Session]:
    """Open (creating it and its directory if needed) and migrate the history database.

    ``path`` None means :func:`default_db_path`. Returns a ``sessionmaker``; its engine is
    ``sm.kw["bind"]`` and :func:`close_database` disposes of it.
    """
    db_path = resolve_db_path(path)
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"Cannot create the folder for the database {db_path}: {exc.strerror}.") from exc
    if db_path.is_dir():
        raise DatabaseError(f"The database path {db_path} is a folder; give a file name such as coach.sqlite.")
    try:
        upgrade_to_head(db_path)
    except DBAPIError as exc:
        detail = str(exc.orig) if exc.orig is not None else str(exc)
        if "not a database" in detail:
            raise DatabaseError(f"{db_path} is not an SQLite database; give another --db.") from exc
        raise DatabaseError(f"Cannot open the database {db_path}: {detail}.") from exc
    engine = make_engine(db_path, synchronous=synchronous)
    return sessionmaker(bind=engine, expire_on_commit=False)


def close_database(sm: sessionmaker[Session]) -> None:
    """Dispose of the engine behind a sessionmaker from :func:`open_database`."""
    bind = sm.kw.get("bind")
    if isinstance(bind, Engine):
        bind.dispose()


def integrity_check(sm_or_engine: sessionmaker[Session] | Engine) -> str:
    """SQLite's ``PRAGMA integrity_check`` result: ``"ok"`` for a sound file."""
    engine = sm_or_engine.kw["bind"] if isinstance(sm_or_engine, sessionmaker) else sm_or_engine
    with engine.connect() as conn:
        rows = conn.execute(text("PRAGMA integrity_check")).fetchall()
    return "\n".join(str(r[0]) for r in rows)
