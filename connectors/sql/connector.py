"""The SQL connector: connects (read-only where the dialect allows), lists schemas, reads each in bulk.

Options (all optional): `include_schemas`, `exclude_schemas`, `include_tables`, `exclude_tables` (comma-separated
globs; table patterns match `table` or `schema/table`), `attach` (SQLite: `name=path;name=path`),
`connect_timeout` (seconds, default 10), `reader=inspector` (force the generic SQLAlchemy inspector),
`sample_timeout_s` (seconds each sampling statement may run, default 60; see `connectors.sql.sampling`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pyarrow as pa
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from connectors.base import Connector, ConnectorError, Crawled, CrawlReport, NameFilter, RowSample, SampleTarget
from connectors.sql.export import export_rows
from connectors.sql.inspector import InspectorReader
from connectors.sql.mysql import MySqlReader
from connectors.sql.postgres import PostgresReader
from connectors.sql.rows import SchemaRows, assemble
from connectors.sql.sampling import DatasetGone, Sampling, split_path
from connectors.sql.sampling_dialects import SAMPLERS, guarded, sample_generic
from connectors.sql.sqlite import SqliteReader, quote_identifier
from connectors.sql.urls import with_installed_driver


class CatalogReader(Protocol):
    isolation_level: str | None

    def list_schemas(self, conn: Connection) -> list[str]: ...

    def read_schema(self, conn: Connection, schema: str, tables: NameFilter,
                    previous: Mapping[str, str]) -> tuple[SchemaRows, set[str]]:
        """Read one schema; `previous` maps dataset paths to the fingerprints of the last crawl."""
        ...


class SqlConnector(Connector):
    kind = "sql"
    NON_SQL_SCHEMES: ClassVar[tuple[str, ...]] = ("mongodb", "s3", "file", "gs", "az", "http", "https")

    @classmethod
    def handles(cls, url: str) -> bool:
        scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
        return "://" in url and scheme not in cls.NON_SQL_SCHEMES

    def _message(self, exc: BaseException) -> str:
        """One line from a driver error, with the password scrubbed should a driver ever echo it."""
        text_ = str(getattr(exc, "orig", None) or exc).strip()
        line = next((ln.strip() for ln in text_.splitlines() if ln.strip()), type(exc).__name__)
        password = self._url().password
        return line.replace(str(password), "***") if password else line

    def _url(self) -> URL:
        try:
            return make_url(with_installed_driver(self.url))
        except ArgumentError:
            raise ConnectorError(self.name, "the URL is not a valid SQLAlchemy URL") from None

    def _engine(self) -> Engine:
        url = self._url()
        timeout = int(self.options.get("connect_timeout", "10"))
        connect_args: dict[str, Any] = {}
        backend = url.get_backend_name()
        if backend == "sqlite":
            url = self._sqlite_read_only(url)
        elif backend in ("postgresql", "mysql", "mariadb"):
            connect_args["connect_timeout"] = timeout
        try:
            engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
        except NoSuchModuleError:
            raise ConnectorError(self.name, f"unknown SQL dialect '{url.drivername}'") from None
        except ImportError as exc:
            raise ConnectorError(
                self.name, f"the driver for '{url.drivername}' is not installed (missing module {exc.name})"
            ) from None
        if backend == "sqlite":
            event.listen(engine, "connect", self._attach_databases)
        return engine

    def _sqlite_read_only(self, url: URL) -> URL:
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return url
        path = Path(database).expanduser()
        if not path.is_file():
            raise ConnectorError(self.name, f"SQLite file not found: {path}")
        return url.set(database=f"file:{path.resolve()}", query={**url.query, "mode": "ro", "uri": "true"})

    def _attach_databases(self, dbapi_connection: Any, _record: Any) -> None:
        for item in filter(None, (p.strip() for p in self.options.get("attach", "").split(";"))):
            schema, _, path = item.partition("=")
            if not Path(path).is_file():
                raise ConnectorError(self.name, f"attached SQLite file not found: {path}")
            dbapi_connection.execute(
                f"ATTACH DATABASE ? AS {quote_identifier(schema.strip())}",
                (f"file:{Path(path).resolve()}?mode=ro",),
            )

    def _reader(self, engine: Engine) -> CatalogReader:
        if self.options.get("reader") == "inspector":
            return InspectorReader()
        name = engine.dialect.name
        if name == "postgresql":
            return PostgresReader()
        if name in ("mysql", "mariadb"):
            return MySqlReader(engine.url.database)
        if name == "sqlite":
            return SqliteReader()
        return InspectorReader()

    def _connect(self, engine: Engine) -> Connection:
        try:
            return engine.connect()
        except ConnectorError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise ConnectorError(self.name, f"cannot connect: {self._message(exc)}") from None

    def test_connection(self) -> None:
        engine = self._engine()
        try:
            with self._connect(engine) as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()

    def crawl(self, report: CrawlReport) -> Iterator[Crawled]:
        engine = self._engine()
        try:
            with self._connect(engine) as conn:
                reader = self._reader(engine)
                schemas = self._schemas(conn, reader)
                for schema in schemas:
                    result = self._read_schema(conn, reader, schema, report)
                    if result is not None:
                        yield from assemble(result[0], report, result[1])
        finally:
            engine.dispose()

    def sample(self, target: SampleTarget, limit: int) -> RowSample:
        timeout = self._positive_option("sample_timeout_s", 60)
        if not target.columns:  # PostgreSQL allows tables without columns: there is nothing to select
            return RowSample({}, 0, "no columns to read", target.row_estimate)
        engine = self._engine()
        try:
            with self._connect(engine) as conn:
                try:
                    schemas = self._reader(engine).list_schemas(conn)
                    conn.rollback()
                    schema, name = split_path(target.path, schemas)
                    sampler = SAMPLERS.get(engine.dialect.name, sample_generic)
                    if self.options.get("reader") == "inspector":
                        sampler = sample_generic
                    with guarded(conn, timeout):
                        return sampler(Sampling(conn, schema, name, target, max(1, limit)))
                except DatasetGone as exc:
                    raise ConnectorError(self.name, f"dataset '{target.path}' cannot be sampled: {exc}") from None
                except SQLAlchemyError as exc:
                    raise ConnectorError(
                        self.name, f"dataset '{target.path}' cannot be sampled: {self._message(exc)}"
                    ) from None
        finally:
            engine.dispose()

    def read_batches(self, target: SampleTarget, columns: list[tuple[str, str]], batch_rows: int
                     ) -> Iterator[pa.RecordBatch]:
        """Every row of the dataset as Arrow batches (see `connectors.sql.export`); for publishing a version."""
        engine = self._engine()
        try:
            with self._connect(engine) as conn:
                try:
                    schema, name = split_path(target.path, self._reader(engine).list_schemas(conn))
                    conn.rollback()
                    yield from export_rows(conn, schema, name, columns, batch_rows)
                except (DatasetGone, SQLAlchemyError, ValueError) as exc:
                    message = self._message(exc) if isinstance(exc, SQLAlchemyError) else str(exc)
                    raise ConnectorError(self.name, f"dataset '{target.path}' cannot be read: {message}") from None
        except SQLAlchemyError as exc:  # closing a connection the server dropped: the read failed, say so
            raise ConnectorError(self.name, f"dataset '{target.path}' cannot be read: {self._message(exc)}") from None
        finally:
            engine.dispose()

    def _positive_option(self, key: str, default: int) -> int:
        raw = str(self.options.get(key, default)).strip()
        if not raw.isdigit() or int(raw) < 1:
            raise ConnectorError(self.name, f"option {key} must be a positive whole number, not '{raw}'")
        return int(raw)

    def _schemas(self, conn: Connection, reader: CatalogReader) -> list[str]:
        schema_filter = NameFilter.from_options(self.options, "include_schemas", "exclude_schemas")
        try:
            names = reader.list_schemas(conn)
            conn.rollback()
        except SQLAlchemyError as exc:
            raise ConnectorError(self.name, f"cannot list schemas: {self._message(exc)}") from None
        return [s for s in names if schema_filter.accepts(s)]

    def _read_schema(
        self, conn: Connection, reader: CatalogReader, schema: str, report: CrawlReport
    ) -> tuple[SchemaRows, set[str]] | None:
        table_filter = NameFilter.from_options(self.options, "include_tables", "exclude_tables")
        try:
            if reader.isolation_level:
                conn.execution_options(isolation_level=reader.isolation_level)
            with conn.begin():
                rows, vanished = reader.read_schema(conn, schema, table_filter, self.previous_fingerprints)
        except SQLAlchemyError as exc:
            report.mark_incomplete(schema, f"schema could not be read: {self._message(exc)}")
            return None
        return rows, vanished

