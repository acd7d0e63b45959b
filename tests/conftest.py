"""Shared fixtures: an isolated catalog home per test, and real PostgreSQL / MariaDB scratch spaces.

Server-backed fixtures read their URL from CATALOG_TEST_POSTGRES_URL / CATALOG_TEST_MYSQL_URL and skip with a
visible reason when unset; `.ci/run` sets both, so nothing is skipped in CI.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from catalog.access import Actor
from catalog.db import migrate
from catalog.settings import Settings, load_settings
from tests.mongo_server import DocumentServer, MongoScratch, running_server, scratch_database

PG_ENV = "CATALOG_TEST_POSTGRES_URL"
MYSQL_ENV = "CATALOG_TEST_MYSQL_URL"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may read or write the developer's ./.catalog or a store URL from the shell."""
    monkeypatch.setenv("CATALOG_HOME", str(tmp_path / "default-home"))
    monkeypatch.delenv("CATALOG_DATABASE_URL", raising=False)
    monkeypatch.delenv("CATALOG_MODE", raising=False)


@pytest.fixture
def actor() -> Actor:
    return Actor.local()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A migrated embedded (SQLite) store in a fresh folder."""
    result = load_settings(home=tmp_path / "home")
    migrate(result)
    return result


def _server_url(env: str, what: str) -> str:
    url = os.environ.get(env)
    if not url:
        pytest.skip(f"{env} is not set: no {what} server to test against")
    return url


def scratch_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pg_url() -> str:
    return _server_url(PG_ENV, "PostgreSQL")


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema, dropped afterwards: (url, schema)."""
    schema = scratch_name("t")
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield pg_url, schema
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def pg_store(pg_url: str, tmp_path: Path) -> Iterator[Settings]:
    """A catalog whose metadata store lives on PostgreSQL, in a schema of its own (via search_path)."""
    schema = scratch_name("store")
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    result = load_settings(home=tmp_path / "pg-home", database_url=f"{pg_url}?options=-csearch_path%3D{schema}")
    migrate(result)
    yield result
    from catalog.db import get_engine

    get_engine(result).dispose()
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def mysql_url() -> str:
    return _server_url(MYSQL_ENV, "MariaDB/MySQL")


@pytest.fixture
def mysql_db(mysql_url: str) -> Iterator[str]:
    """A fresh MariaDB database, dropped afterwards; returns a URL pointing at it."""
    name = scratch_name("t")
    engine = create_engine(mysql_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    base = mysql_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP DATABASE `{name}`"))
    engine.dispose()


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    """One nx-27017 server for the whole session (see `tests.mongo_server`)."""
    with running_server(tmp_path_factory.mktemp("nx-27017")) as server:
        yield server


@pytest.fixture
def mongo(mongo_server: DocumentServer) -> Iterator[MongoScratch]:
    """A fresh database of its own on the session's MongoDB server."""
    with scratch_database(mongo_server) as scratch:
        yield scratch


@pytest.fixture
def sqlite_source(tmp_path: Path) -> Path:
    """A small SQLite source with comments, keys, a view and hostile names."""
    path = tmp_path / "source.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE customers (
            -- People who bought something.
            id INTEGER PRIMARY KEY,
            c_eml TEXT NOT NULL, -- customer email
            "na""me <script>alert(1)</script>" VARCHAR(80),
            "Straße" TEXT
        );
        CREATE TABLE orders (
            ord_id INTEGER PRIMARY KEY,
            cust_id INTEGER NOT NULL REFERENCES customers(id),
            ord_dt DATE,
            amt_usd NUMERIC(12,2)
        );
        CREATE TABLE "select" ("from" INTEGER, "where" TEXT);
        CREATE VIEW v_orders AS SELECT ord_id, amt_usd FROM orders;
        INSERT INTO customers (id, c_eml) VALUES (1, 'a@example.com'), (2, 'b@example.com');
        CREATE INDEX ix_orders_cust ON orders(cust_id);
        ANALYZE;
    """)
    conn.close()
    return path
