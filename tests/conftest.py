"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pose_model() -> Path:
    """The real full pose model, from the real user cache (built offline there at most once per machine).

    The only fixture that touches the user's cache; tests of provisioning itself (test_models.py) use a
    temporary COACH_CACHE_DIR.
    """
    from coach.pose.models import resolve_model

    return resolve_model("full", allow_download=False, progress=False).path


#: ../shared/data beside the project: real footage, read only, may be absent (CI on a bare clone).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared footage folder; tests using it skip cleanly when it is absent."""
    if not (SHARED_DATA / "videos").is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


# ----------------------------------------------------------------------------- database servers
# Real PostgreSQL and Redis servers, started on loopback in a temporary folder (coach.devtools.local_servers);
# a test that needs one skips, naming why, where it cannot start.


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster for the whole run (``create_database()`` gives each test its own database)."""
    from coach.devtools.local_servers import LocalPostgres, ServerUnavailable

    try:
        server = LocalPostgres().start()
    except ServerUnavailable as exc:
        pytest.skip(f"no PostgreSQL server here: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    """A Redis server for the whole run."""
    from coach.devtools.local_servers import LocalRedis, ServerUnavailable

    try:
        server = LocalRedis().start()
    except ServerUnavailable as exc:
        pytest.skip(f"no Redis server here: {exc}")
    yield server
    server.stop()


class HistoryDatabase:
    """Where a test's history lives: an SQLite file or a fresh PostgreSQL database.

    ``location`` is what ``--db`` and ``open_database`` take (a Path, or a URL string); ``rows(sql)`` runs
    a query on a second, independent connection (sqlite3 or psycopg, not coach's engine) to check what is
    really stored.
    """

    def __init__(self, kind: str, location) -> None:
        self.kind = kind
        self.location = location

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"

    def exists(self) -> bool:
        """The file exists / the database has tables (looking must not create either)."""
        if self.is_sqlite:
            return Path(self.location).exists()
        return bool(self.rows("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")[0][0])

    def rows(self, sql: str) -> list[tuple]:
        """The rows of a query."""
        return self._run(sql, fetch=True)

    def run(self, sql: str) -> None:
        """Execute and commit a statement."""
        self._run(sql, fetch=False)

    def _run(self, sql: str, fetch: bool):
        if self.is_sqlite:
            import sqlite3

            with sqlite3.connect(self.location) as conn:
                cur = conn.execute(sql)
                return cur.fetchall() if fetch else None
        import psycopg

        with psycopg.connect(str(self.location).replace("postgresql+psycopg://", "postgresql://")) as conn:
            cur = conn.execute(sql)
            return [tuple(r) for r in cur.fetchall()] if fetch else None

    def __str__(self) -> str:
        return str(self.location)


@pytest.fixture
def history_db_factory(request, tmp_path):
    """``make(kind)``: a fresh history database, kind "sqlite" or "postgresql" (skipped without a server)."""
    made = []

    def make(kind: str) -> HistoryDatabase:
        if kind == "sqlite":
            return HistoryDatabase("sqlite", tmp_path / "history" / "coach.sqlite")
        server = request.getfixturevalue("postgres_server")
        url = server.create_database()
        made.append((server, url))
        return HistoryDatabase("postgresql", url)

    yield make
    for server, url in made:
        server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def history_db(request, history_db_factory):
    """The test's history database, once on SQLite and once on PostgreSQL (skipped without a server)."""
    return history_db_factory(request.param)
