"""Where the history lives and how it is opened: an SQLite file (WAL) or a PostgreSQL database, migrated to
the newest schema on open.

A database *location* is either a file path (SQLite, the default: one file in the user data folder) or a
URL: ``postgresql+psycopg://user:password@host:5432/dbname`` (``postgresql://`` and ``postgres://`` mean
the same; coach talks to PostgreSQL through psycopg 3). ``sqlite:///path`` names a file too. Any other
scheme is refused in one sentence (:func:`parse_location`).

Durability, the "never lose a rep" promise, on SQLite:

- WAL journal: a committed transaction is appended to the ``-wal`` file; readers never block the writer,
  and a killed writer leaves the database valid (the next opener recovers from the WAL).
- ``synchronous=FULL`` (the default here): the WAL is fsynced at every commit, so a committed rep survives
  not only SIGKILL (``NORMAL`` would already do that) but also a power cut or an OS crash. Reps commit a
  few seconds apart, so one fsync each costs nothing; bulk writers may pass ``synchronous="NORMAL"``.
- Transactions are SQLAlchemy's, not the sqlite3 module's legacy implicit ones (which do not cover DDL):
  ``BEGIN`` is emitted explicitly, so a migration is all-or-nothing, and a writer can ask for
  ``BEGIN IMMEDIATE`` (see :func:`write_session`) to take the write lock up front and wait for it.

On PostgreSQL the server gives the same promises (a committed transaction is in its WAL, fsynced by
default); the SQLite-specific pieces have these counterparts:

- writers take turns: :func:`write_session` takes a transaction-level advisory lock
  (:data:`WRITE_LOCK_KEY`) where SQLite takes its write lock, so check-then-insert code (a new patient,
  replacing a prescription) behaves the same on both;
- migrations hold another advisory lock (:data:`MIGRATE_LOCK_KEY`) instead of ``BEGIN IMMEDIATE``, so two
  programs opening an old database at once take turns; DDL is transactional there too;
- ids come from each table's sequence (SQLite: the rowid); foreign keys are always enforced (no pragma);
- timestamps are ``timestamp without time zone`` holding UTC, as SQLite's text holds UTC
  (``db.models.UTCDateTime``); JSON columns are ``json`` there and text here, read back the same.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Literal, Union

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from db.errors import DatabaseError, DatabaseUnwritable

#: Environment variable that overrides the default database location (a path or a URL).
ENV_VAR = "COACH_DB"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Seconds a connection waits for another process's write lock before giving up (SQLite).
BUSY_TIMEOUT_S = 30.0
#: Seconds to wait for a PostgreSQL server to answer a new connection.
CONNECT_TIMEOUT_S = 10
#: PostgreSQL advisory lock keys (any two 64-bit numbers that nothing else on the server uses).
WRITE_LOCK_KEY = 0x636F616368_01  # "coach" 1
MIGRATE_LOCK_KEY = 0x636F616368_02

Synchronous = Literal["FULL", "NORMAL", "EXTRA"]
#: A history database: an SQLite file, or the URL of a PostgreSQL database.
DatabaseLocation = Union[Path, URL]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
SUPPORTED = "an SQLite file path or a PostgreSQL URL such as postgresql+psycopg://user@host:5432/coach"


def parse_location(value: str | os.PathLike[str] | URL) -> DatabaseLocation:
    """A ``--db`` / ``$COACH_DB`` value as a location: a URL stays a URL, anything else is a file path.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://`` (the driver coach ships);
    ``sqlite:///path`` becomes that path. Raises :class:`DatabaseError` (one sentence) for any other
    scheme or a URL that does not parse.
    """
    if isinstance(value, URL):
        url = value
    elif isinstance(value, Path) or not _SCHEME.match(str(value)):
        return Path(value).expanduser()
    else:
        try:
            url = make_url(str(value))
        except ArgumentError:
            raise DatabaseError(f"{value!r} is not a database URL coach can read; give {SUPPORTED}.") from None
    scheme = url.drivername
    if scheme in _POSTGRES_SCHEMES:
        if not url.database:
            raise DatabaseError(f"The URL {describe(url)} names no database; end it with /DBNAME.")
        return url.set(drivername="postgresql+psycopg")
    if scheme.startswith(("postgresql+", "postgres+")):
        raise DatabaseError(f"coach talks to PostgreSQL through psycopg 3, not {scheme.split('+', 1)[1]!r}; "
                            "write the URL as postgresql+psycopg://…")
    if scheme == "sqlite":
        if not url.database or url.database == ":memory:":
            raise DatabaseError("An sqlite:// URL must name a file (sqlite:///path/to/coach.sqlite).")
        return Path(url.database).expanduser()
    raise DatabaseError(f"coach cannot keep its history in {scheme!r} databases; give {SUPPORTED}.")


def is_url(location: DatabaseLocation) -> bool:
    """True for a database server URL (PostgreSQL), False for an SQLite file."""
    return isinstance(location, URL)


def describe(location: DatabaseLocation) -> str:
    """The location as text for messages: the path, or the URL with its password hidden."""
    if isinstance(location, URL):
        return location.render_as_string(hide_password=True)
    return str(location)


def default_db_path() -> DatabaseLocation:
    """``$COACH_DB`` if set (a path or a URL), else ``coach.sqlite`` in the user's data directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return parse_location(env)
    from platformdirs import user_data_path

    return user_data_path("coach", appauthor=False) / "coach.sqlite"


def resolve_db_path(path: str | os.PathLike[str] | URL | None) -> DatabaseLocation:
    """The database a command should use: the given path or URL, else :func:`default_db_path`."""
    return parse_location(path) if path is not None else default_db_path()


def make_engine(
    location: str | os.PathLike[str] | URL, *, synchronous: Synchronous = "FULL", foreign_keys: bool = True
) -> Engine:
    """An engine on ``location``. SQLite: WAL, the given ``synchronous`` level and foreign keys (both
    ignored for PostgreSQL, where durability and foreign keys are the server's).

    It does not create directories nor migrate; :func:`open_database` does both.
    """
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
    location = parse_location(location)
    if isinstance(location, URL):
        return create_engine(
            location, pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "coach"},
        )
    path = location
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
    """A session whose transaction holds the database's write turn and commits on leaving the block.

    SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front, so a concurrent writer makes us wait (up
    to :data:`BUSY_TIMEOUT_S`) instead of failing half-way with "database is locked". PostgreSQL: a
    transaction-level advisory lock (:data:`WRITE_LOCK_KEY`), released at commit, does the same.
    """
    try:
        with sm() as session, session.begin():
            # The first connection of the transaction, so the options apply to its BEGIN.
            conn = session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
            yield session
    except DBAPIError as exc:
        unwritable = unwritable_error(sm, exc)
        if unwritable is None:
            raise
        raise unwritable from exc


#: Driver messages of a database that cannot take a write (SQLite and PostgreSQL).
_UNWRITABLE = (("readonly database", "read-only"), ("read-only transaction", "read-only"),
               ("database or disk is full", "its disk is full"), ("No space left on device", "its disk is full"),
               ("disk I/O error", "its disk cannot be written"))


def unwritable_error(sm: sessionmaker[Session], exc: DBAPIError) -> DatabaseUnwritable | None:
    """A write refused because the database is read-only or full, as one sentence; None for other errors.
    (:func:`write_session` raises it; the API turns the same driver errors of its other writes into it.)"""
    detail = str(exc.orig) if exc.orig is not None else str(exc)
    for needle, why in _UNWRITABLE:
        if needle.lower() in detail.lower():
            bind = sm.kw.get("bind")
            url = bind.url if isinstance(bind, Engine) else None
            where = (url.database if url is not None and url.get_backend_name() == "sqlite"
                     else describe(url) if url is not None else "the history database")
            hint = ("make the file and its folder writable, or give another --db" if why == "read-only"
                    else "free some space, or give another --db")
            return DatabaseUnwritable(f"The history database {where} cannot be written: {why} "
                                      f"({_first_line(detail)}); {hint}.")
    return None


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


def _known_revisions(script_location: Path | None) -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(
        alembic_config(script_location=script_location)).walk_revisions()}


def _newer_error(location: DatabaseLocation, current: str, head: str) -> DatabaseError:
    return DatabaseError(
        f"The database {describe(location)} has schema revision {current}, newer than this program "
        f"knows (up to {head}); use a newer coach, or another --db."
    )


def upgrade_to_head(location: str | os.PathLike[str] | URL, *, script_location: Path | None = None) -> None:
    """Migrate the database to the newest schema, in one transaction, holding the write lock.

    SQLite: foreign keys are off while migrating (its table-rebuilding batch operations need that) and
    checked afterwards. Two programs opening an old database at once take turns on both engines.
    """
    from alembic import command

    location = parse_location(location)
    head = head_revision(script_location)
    known = _known_revisions(script_location)
    engine = make_engine(location, foreign_keys=False)
    postgres = isinstance(location, URL)
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
            if current == head:
                return
        conn_cm = engine.connect() if postgres else engine.connect().execution_options(sqlite_begin="IMMEDIATE")
        with conn_cm as conn:
            with conn.begin():
                if postgres:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK_KEY})
                current = current_revision(conn)  # again, now that we hold the lock
                if current is not None and current not in known:
                    raise _newer_error(location, current, head)
                if current is None:
                    tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
                    if tables:
                        what = "a PostgreSQL" if postgres else "an SQLite"
                        raise DatabaseError(
                            f"{describe(location)} is {what} database but not a coach history (it has "
                            f"tables {', '.join(sorted(tables)[:5])}); give another --db."
                        )
                command.upgrade(alembic_config(conn, script_location), "head")
            if not postgres:
                problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise DatabaseError(
                        f"The database {location} has {len(problems)} rows with broken references after "
                        f"upgrading its schema (first: {problems[0]})."
                    )
    finally:
        engine.dispose()


def check_schema(location: str | os.PathLike[str] | URL) -> None:
    """Raise :class:`DatabaseError` unless the database exists and is at the newest schema.

    For programs that must not migrate a shared database themselves (``coach worker``): the server, or
    any other coach command, migrates it.
    """
    location = parse_location(location)
    if not isinstance(location, URL) and not location.is_file():
        raise DatabaseError(f"There is no history database at {location}; start `coach serve` with this --db "
                            "first, or give the server's --db.")
    head = head_revision()
    engine = make_engine(location)
    try:
        with _translated_errors(location), engine.connect() as conn:
            current = current_revision(conn)
    finally:
        engine.dispose()
    if current == head:
        return
    if current is None:
        raise DatabaseError(f"The database {describe(location)} has no coach tables yet; run `coach serve` "
                            "(or any coach command) on it once to create them.")
    if current not in _known_revisions(None):
        raise _newer_error(location, current, head)
    raise DatabaseError(f"The database {describe(location)} is at schema revision {current}, this program "
                        f"needs {head}; run `coach serve` on it once to upgrade it.")


def history_exists(location: str | os.PathLike[str] | URL) -> bool:
    """Whether a coach history is at ``location``, without creating one: the file exists, or the
    PostgreSQL database has coach's tables. An unreachable server is a :class:`DatabaseError`."""
    location = parse_location(location)
    if not isinstance(location, URL):
        return location.is_file()
    engine = make_engine(location)
    try:
        with _translated_errors(location), engine.connect() as conn:
            return current_revision(conn) is not None
    finally:
        engine.dispose()


@contextmanager
def _translated_errors(location: DatabaseLocation) -> Iterator[None]:
    """Driver errors while opening become one :class:`DatabaseError` sentence naming the database."""
    try:
        yield
    except DBAPIError as exc:
        detail = str(exc.orig) if exc.orig is not None else str(exc)
        if not isinstance(location, URL) and "not a database" in detail:
            raise DatabaseError(f"{location} is not an SQLite database; give another --db.") from exc
        if isinstance(location, URL):
            raise DatabaseError(f"Cannot reach the database {describe(location)}: {_first_line(detail)}.") from exc
        raise DatabaseError(f"Cannot open the database {location}: {detail}.") from exc


def _first_line(detail: str) -> str:
    """The useful part of a driver message: its first line, without psycopg's "connection failed:"
    prefix and trailing punctuation."""
    line = detail.strip().splitlines()[0] if detail.strip() else "no answer"
    line = re.sub(r"^(connection failed: )", "", line)
    return line.rstrip(" .")


def open_database(
    path: str | os.PathLike[str] | URL | None = None, *, synchronous: Synchronous = "FULL"
) -> sessionmaker[Session]:
    """Open (creating it and its directory if needed) and migrate the history database.

    ``path`` is a file path or a database URL; None means :func:`default_db_path`. A PostgreSQL database
    must exist (``createdb``); its tables are created here. Returns a ``sessionmaker``; its engine is
    ``sm.kw["bind"]`` and :func:`close_database` disposes of it.
    """
    location = resolve_db_path(path)
    if isinstance(location, Path):
        try:
            location.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"Cannot create the folder for the database {location}: {exc.strerror}.") from exc
        if location.is_dir():
            raise DatabaseError(f"The database path {location} is a folder; give a file name such as coach.sqlite.")
    with _translated_errors(location):
        upgrade_to_head(location)
    engine = make_engine(location, synchronous=synchronous)
    return sessionmaker(bind=engine, expire_on_commit=False)


def close_database(sm: sessionmaker[Session]) -> None:
    """Dispose of the engine behind a sessionmaker from :func:`open_database`."""
    bind = sm.kw.get("bind")
    if isinstance(bind, Engine):
        bind.dispose()


def integrity_check(sm_or_engine: sessionmaker[Session] | Engine) -> str:
    """SQLite's ``PRAGMA integrity_check`` result: ``"ok"`` for a sound file (SQLite only: a PostgreSQL
    server checks its own pages)."""
    engine = sm_or_engine.kw["bind"] if isinstance(sm_or_engine, sessionmaker) else sm_or_engine
    if engine.dialect.name != "sqlite":
        raise ValueError(f"integrity_check is for SQLite files, not {engine.dialect.name} databases")
    with engine.connect() as conn:
        rows = conn.execute(text("PRAGMA integrity_check")).fetchall()
    return "\n".join(str(r[0]) for r in rows)
