"""How each dialect is sampled and guarded: the method choice per dialect and the read-only, time-boxed session.

See `connectors.sql.sampling` for the methods themselves. Every lookup here binds names as parameters; the only
SQL text built from values is a statement timeout, an integer we computed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, func, literal_column, select, tablesample, text

from connectors.base import DatasetKind, RowSample
from connectors.sql.sampling import DatasetGone, Sampling

SAFETY = 2.0  # TABLESAMPLE asks for this many times the limit, in expectation
GUESSED_ROWS_PER_PAGE = 60  # a never-analyzed table: a narrow row's density on an 8 kB page
MIN_PAGES = 200  # pages TABLESAMPLE SYSTEM reads at least: a few pages would be a few clusters of rows
HEAD_WARNING = "no sampling method for this {what}: first rows"

# -- PostgreSQL ------------------------------------------------------------------------------------------------

PG_RELATION = text("""
    SELECT c.relkind, c.reltuples, c.relpages,
           pg_relation_size(c.oid) / current_setting('block_size')::bigint AS live_pages,
           CASE WHEN c.relkind = 'p' THEN
               (SELECT sum(greatest(p.reltuples, 0)) FROM pg_partition_tree(c.oid) t
                JOIN pg_catalog.pg_class p ON p.oid = t.relid WHERE t.isleaf) END AS partition_rows,
           (SELECT st.n_live_tup FROM pg_catalog.pg_stat_all_tables st WHERE st.relid = c.oid) AS live_tuples
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = :schema AND c.relname = :name
""")


def pg_estimate(reltuples: float, relpages: int, live_pages: int, partition_rows: float | None,
                live_tuples: int | None, catalog_estimate: int | None) -> tuple[int | None, bool]:
    """(rows, guessed): the planner's estimate (rows per page from the statistics x pages now), else the
    statistics collector's live row count (kept even where ANALYZE never ran), else the catalog's, else a
    density guess from the live page count."""
    if partition_rows is not None:
        return int(partition_rows), False
    if reltuples > 0 and relpages > 0:
        return round(reltuples / relpages * max(live_pages, 1)), False
    if live_pages == 0:
        return 0, False
    if live_tuples:
        return int(live_tuples), False
    if catalog_estimate:
        return catalog_estimate, True
    return live_pages * GUESSED_ROWS_PER_PAGE, True


def sample_postgres(s: Sampling) -> RowSample:
    found = s.conn.execute(PG_RELATION, {"schema": s.schema, "name": s.name}).first()
    if found is None:
        raise DatasetGone("the relation no longer exists")
    kind, reltuples, relpages, live_pages, partition_rows, live_tuples = found
    if kind == "v":
        return s.head("first rows of a view")
    if kind == "f":
        s.warnings.append(HEAD_WARNING.format(what="foreign table"))
        return s.head()
    partition_rows = None if partition_rows is None else float(partition_rows)
    estimate, guessed = pg_estimate(float(reltuples), int(relpages), int(live_pages), partition_rows, live_tuples,
                                    s.target.row_estimate)
    s.population = estimate
    small = s.small_table(s.limit)
    if small is not None:
        return small
    if estimate is not None and estimate <= s.limit:
        estimate, guessed = s.limit * 4, True  # the statistics are stale: it grew
    if guessed:
        s.warnings.append("no up-to-date row statistics (ANALYZE): the sampling rate is a guess")
    return _tablesample(s, estimate or s.limit * 4, int(live_pages))


def _tablesample(s: Sampling, estimate: int, pages: int) -> RowSample:
    """Page sampling: rows of whole pages, so a small sample reads at least `MIN_PAGES` of them to stay spread."""
    percent = 100.0 * SAFETY * s.limit / max(estimate, 1)
    if pages:
        percent = max(percent, 100.0 * MIN_PAGES / pages)
    percent = min(100.0, percent)
    rows, method = _pg_sample(s, "system", percent)
    if len(rows) * 2 < s.limit and percent < 100:
        percent = min(100.0, percent * 4)
        rows, method = _pg_sample(s, "system", percent)
        if len(rows) * 2 < s.limit and percent < 100:
            s.warnings.append("page sampling returned too few rows (clustered or bloated table): "
                              "sampled row by row")
            percent = min(100.0, percent * 2)
            rows, method = _pg_sample(s, "bernoulli", percent)
    if percent >= 100 and len(rows) < s.limit:
        s.population = len(rows)
        return s.result(rows, f"whole {s.noun()} ({len(rows):,} rows)")
    return s.result(rows, method)


def _pg_sample(s: Sampling, how: str, percent: float) -> tuple[list[Any], str]:
    sampler = func.system if how == "system" else func.bernoulli
    sampled = tablesample(s.relation, sampler(percent), name="sampled")
    statement = select(*(sampled.c[name] for name in s.target.columns)).order_by(func.random()).limit(s.limit)
    return s.run(statement), f"TABLESAMPLE {how.upper()} ({percent:.3g}%)"


# -- MySQL / MariaDB -------------------------------------------------------------------------------------------

MYSQL_RELATION = text("""
    SELECT TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = :schema AND TABLE_NAME = :name
""")
MYSQL_KEY = text("""
    SELECT c.COLUMN_NAME, c.DATA_TYPE FROM information_schema.KEY_COLUMN_USAGE k
    JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME
         AND c.COLUMN_NAME = k.COLUMN_NAME
    WHERE k.TABLE_SCHEMA = :schema AND k.TABLE_NAME = :name AND k.CONSTRAINT_NAME = 'PRIMARY'
""")
_MYSQL_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"}


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def sample_mysql(s: Sampling) -> RowSample:
    params = {"schema": s.schema, "name": s.name}
    found = s.conn.execute(MYSQL_RELATION, params).first()
    if found is None:
        raise DatasetGone("the relation no longer exists")
    if _text(found[0]) == "VIEW":
        return s.head("first rows of a view")
    s.population = int(found[1]) if found[1] is not None else s.target.row_estimate
    small = s.small_table(s.limit // 2)  # InnoDB's TABLE_ROWS can be off by half
    if small is not None:
        return small
    keys = [(_text(name), _text(type_).lower()) for name, type_ in s.conn.execute(MYSQL_KEY, params)]
    if len(keys) == 1 and keys[0][1] in _MYSQL_INTEGERS:
        return s.key_ranges(literal_column(_quoted(s, keys[0][0])), "primary-key")
    s.warnings.append(HEAD_WARNING.format(what="table (no single integer primary key)"))
    return s.head()


def _quoted(s: Sampling, name: str) -> str:
    """A key column that may not be among the catalog columns, quoted by the dialect's own preparer."""
    return s.conn.dialect.identifier_preparer.quote_identifier(name)


# -- SQLite ----------------------------------------------------------------------------------------------------

_WITHOUT_ROWID = re.compile(r"WITHOUT\s+ROWID", re.IGNORECASE)


def _without_rowid(sql: str | None) -> bool:
    """Table options (`WITHOUT ROWID`, `STRICT`) follow the column list's closing parenthesis."""
    return bool(_WITHOUT_ROWID.search((sql or "").rsplit(")", 1)[-1]))


def sample_sqlite(s: Sampling) -> RowSample:
    master = f"{_quoted(s, s.schema)}.sqlite_master"
    found = s.conn.execute(
        text(f"SELECT type, sql FROM {master} WHERE name = :name AND type IN ('table', 'view')"),  # noqa: S608
        {"name": s.name},
    ).first()
    if found is None:
        raise DatasetGone("the relation no longer exists")
    if found[0] == "view":
        return s.head("first rows of a view")
    small = s.small_table(s.limit // 2)
    if small is not None:
        return small
    columns = s.conn.execute(text("SELECT name, type, pk FROM pragma_table_info(:name, :schema)"),
                             {"name": s.name, "schema": s.schema}).all()
    keys = [(name, (type_ or "").upper()) for name, type_, pk in columns if pk]
    if len(keys) == 1 and keys[0][1] == "INTEGER":
        return s.key_ranges(literal_column(_quoted(s, keys[0][0])), "primary-key")
    names = {str(name).lower() for name, _, _ in columns}
    if not _without_rowid(found[1]):
        for alias in ("rowid", "_rowid_", "oid"):
            if alias not in names:
                return s.key_ranges(literal_column(alias), "rowid")
    s.warnings.append(HEAD_WARNING.format(what="table (WITHOUT ROWID and no integer primary key)"))
    return s.head()


# -- the session -----------------------------------------------------------------------------------------------

SAMPLERS: dict[str, Callable[[Sampling], RowSample]] = {
    "postgresql": sample_postgres, "mysql": sample_mysql, "mariadb": sample_mysql, "sqlite": sample_sqlite,
}


def sample_generic(s: Sampling) -> RowSample:
    if s.target.kind == DatasetKind.VIEW:
        return s.head("first rows of a view")
    return s.head("first rows")


@contextmanager
def guarded(conn: Connection, timeout_s: int) -> Iterator[None]:
    """A read-only transaction whose statements each give up after `timeout_s` seconds, as far as the dialect
    lets us say so."""
    name = conn.dialect.name
    if name in ("mysql", "mariadb"):
        if getattr(conn.dialect, "is_mariadb", False):
            conn.exec_driver_sql(f"SET SESSION max_statement_time = {int(timeout_s)}")
        else:
            conn.exec_driver_sql(f"SET SESSION max_execution_time = {int(timeout_s) * 1000}")
        conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")  # for the transactions that follow
        conn.commit()
    with conn.begin():
        if name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_s) * 1000}")
        if name == "sqlite":
            with _sqlite_deadline(conn, timeout_s):
                yield
        else:
            yield


@contextmanager
def _sqlite_deadline(conn: Connection, timeout_s: int) -> Iterator[None]:
    """SQLite has no statement timeout: a progress handler interrupts any statement of the sample running past
    the budget (the budget covers the sample's few statements together)."""
    raw: Any = conn.connection.dbapi_connection
    deadline = time.monotonic() + timeout_s
    raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)
