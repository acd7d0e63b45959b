"""Engine, sessions and migrations of the metadata store.

SQLite (the embedded default) runs in WAL mode with foreign keys on, so the web server can read while a crawl
writes. PostgreSQL is used as given by `CATALOG_DATABASE_URL`. The schema is only ever created by Alembic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from catalog.errors import CatalogError
from catalog.secrets import redact_url
from catalog.settings import Settings

CONNECT_TIMEOUT_SECONDS = 10
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "alembic"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite, create the folder and switch on WAL and foreign keys."""
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pool_pre_ping: after the store restarts, pooled connections are dead; each is tested (and replaced) when
    # checked out, so the first request after a restart works instead of failing on a stale connection.
    return create_engine(url, pool_pre_ping=True, connect_args=_connect_args(url))


def _connect_args(url: str) -> dict[str, Any]:
    """A connect timeout for PostgreSQL unless the URL sets one: an unreachable host (packets dropped, not
    refused) then fails a request in CONNECT_TIMEOUT_SECONDS instead of the operating system's two minutes."""
    if url.startswith("postgresql") and "connect_timeout" not in url:
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return {}


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine(settings: Settings) -> Engine:
    """One engine per store URL per process (engines own connection pools)."""
    return _engine_for(settings.database_url)


def session_factory(settings: Settings) -> sessionmaker[Session]:
    return sessionmaker(get_engine(settings), expire_on_commit=False)


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = session_factory(settings)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _script_config() -> Any:
    """An Alembic config that knows where the migrations are (and nothing about a database)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def alembic_config(settings: Settings) -> Any:
    config = _script_config()
    # The URL is passed as an attribute, not an ini option, so '%' in passwords needs no escaping.
    config.attributes["database_url"] = settings.database_url
    return config


def migrate(settings: Settings) -> None:
    """Bring the store to the newest schema (idempotent): what `catalog init` runs."""
    from alembic import command

    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        with get_engine(settings).begin() as connection:
            config = alembic_config(settings)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except Exception as exc:  # noqa: BLE001 - one clear line at the edge
        raise CatalogError(
            f"cannot prepare the metadata store at {redact_url(settings.database_url)}: {first_line(exc)}"
        ) from exc


def is_initialized(settings: Settings) -> bool:
    return inspect(get_engine(settings)).has_table("alembic_version")


@lru_cache(maxsize=1)
def _head_revision() -> str | None:
    """The newest migration shipped with this code (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_script_config()).get_current_head()


def is_current(settings: Settings) -> bool:
    """True when the store has every migration this code ships (an older store lacks tables it needs)."""
    with get_engine(settings).connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return revision == _head_revision()


def ensure_store(settings: Settings) -> None:
    """Every command works with only `CATALOG_HOME` set: create the store on first use, and bring a store made
    by an older version up to date before anything reads tables it does not have yet."""
    if not is_initialized(settings) or not is_current(settings):
        migrate(settings)


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
