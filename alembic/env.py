"""Alembic environment: the URL and (optionally) an open connection come from `catalog.db.alembic_config`.

Run from the command line too: `alembic -c alembic.ini upgrade head` reads the URL from the catalog settings.
"""

from __future__ import annotations

from sqlalchemy import Connection

from alembic import context
from catalog.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from catalog.db import make_engine
    from catalog.settings import load_settings

    url = config.attributes.get("database_url") or load_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def run_migrations_offline() -> None:
    from catalog.settings import load_settings

    url = config.attributes.get("database_url") or load_settings().database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
