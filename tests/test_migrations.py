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


def test_a_store_made_by_an_older_version_is_upgraded_on_first_use(settings: Settings) -> None:
    from alembic import command
    from catalog.db import alembic_config, ensure_store, is_current

    migrate(settings)
    with get_engine(settings).begin() as connection:
        config = alembic_config(settings)
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert not is_current(settings)
    assert not inspect(get_engine(settings)).has_table("dataset_tags")
    ensure_store(settings)
    assert is_current(settings) and inspect(get_engine(settings)).has_table("dataset_tags")
    assert _differences(settings) == []
