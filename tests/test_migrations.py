"""The migrated store equals the models, on SQLite and PostgreSQL, and `init` is idempotent."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from catalog.db import get_engine, is_initialized, migrate
from catalog.models import Base
from catalog.settings import Settings


def _differences(settings: Settings) -> list[object]:
    with get_engine(settings).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_sqlite_store_matches_models(settings: Settings) -> None:
    assert settings.database_url.startswith("sqlite")
    assert _differences(settings) == []


def test_sqlite_store_is_in_wal_mode(settings: Settings) -> None:
    with get_engine(settings).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_postgres_store_matches_models(pg_store: Settings) -> None:
    assert pg_store.database_url.startswith("postgresql")
    assert _differences(pg_store) == []


def test_migrate_is_idempotent(settings: Settings) -> None:
    migrate(settings)
    migrate(settings)
    assert is_initialized(settings)
    tables = set(inspect(get_engine(settings)).get_table_names())
    assert {"sources", "datasets", "columns", "schema_versions", "crawl_runs"} <= tables
