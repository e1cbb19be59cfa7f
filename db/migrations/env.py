"""Alembic environment for the coach history database.

Run programmatically by ``db.engine.upgrade_to_head`` (no alembic.ini): the caller puts an open
``Connection`` (already in a transaction) into ``config.attributes["connection"]``. For a developer
writing a new revision::

    from alembic import command
    from db.engine import alembic_config, make_engine
    engine = make_engine("/tmp/dev.sqlite", foreign_keys=False)
    command.upgrade(alembic_config(engine), "head")
    command.revision(alembic_config(engine), message="what changed", autogenerate=True, rev_id="0002")

then read and correct the generated file before committing it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from db.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**kw) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by rebuilding them
        compare_type=True,
        **kw,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    _configure(url=config.get_main_option("sqlalchemy.url") or "sqlite://", literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        raise RuntimeError(
            "db/migrations is run from code: put an Engine or Connection in "
            "config.attributes['connection'] (see db.engine.alembic_config)"
        )
    if isinstance(connectable, Engine):
        with connectable.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    else:
        _configure(connection=connectable)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
