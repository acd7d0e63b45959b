"""The PostgreSQL COPY export path against the generic cursor path on a real server: identical Arrow tables for
hostile content and every supported type, bounded batches, a fallback for types COPY cannot reproduce exactly,
and clear errors."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from psycopg import sql
from sqlalchemy import Connection, create_engine
from sqlalchemy.exc import DataError, ProgrammingError

from connectors.sql.export import arrow_type, export_rows, generic_rows
from connectors.sql.export_copy import copy_batches, copy_plan
from connectors.sql.types import normalize_type
from tests.conftest import scratch_name

TABLE = 'odd "table", ü; DROP TABLE x'
ODD_COLUMN = 'a "quoted", col ü'

STRINGS: list[str | None] = [
    "", None, "\\N", "NULL", "null", '"', '""', "a,b", ",", "line1\nline2", "cr\ronly", "crlf\r\n", "\n",
    "  spaced  ", "ünïcødé 日本 🎉", "\\.", "it's", "\t tab", "\\", '"\\N"', "\\N\n", "x" * 200_000,
    'he said "hi", then\nleft', "∅", "y" * (3 << 20),
]
NUMERICS = ["0.0000001", "-0.0000001", "0.00000010", "0.0000000", "0.000000", "0.000001", "12.50",
            "123456789012345678901234567890.123456789", "100000000000000000000", "NaN", "-5", None]
FLOATS = [0.1, -0.0, 1e-300, 1.7976931348623157e308, float("inf"), float("-inf"), float("nan"), 1 / 3, None]
TIMES = [datetime(2024, 1, 2, 3, 4, 5, 123456), datetime(2024, 1, 2, 3, 4, 5), datetime(1, 1, 1),
         datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(1999, 12, 31, 23, 59, 59, 500000), None]
ZONED = [datetime(2024, 3, 10, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
         datetime(2024, 7, 1, 0, 0, 0, 1, tzinfo=UTC), datetime(1900, 1, 1, tzinfo=UTC), None]
DATES = [date(2024, 2, 29), date(1, 1, 1), date(9999, 12, 31), date(99, 1, 1), None]
BYTES = [b"", b"\x00\x01\xff", b'\\x41,"\n', bytes(range(256)), None]
INT_ARRAYS: list[Any] = [[1, 2, 3], [], [None, -5], [[1, 2], [3, 4]], None]


@pytest.fixture
def pg_conn(pg_url: str) -> Iterator[tuple[Connection, str]]:
    """A SQLAlchemy connection and a fresh schema with a hostile name, dropped afterwards (on a connection of its
    own, so a test that leaves its connection broken still cleans up)."""
    name = scratch_name("copy") + ' "s", ü'
    schema = sql.Identifier(name)
    admin = psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    admin.execute(sql.SQL("CREATE TYPE {}.mood AS ENUM ('new', 'a,\"b\"')").format(schema))
    admin.execute(sql.SQL("CREATE DOMAIN {}.label AS text").format(schema))
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            yield conn, name
    finally:
        engine.dispose()
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))
        admin.close()


def _create(conn: Connection, schema: str, name: str, ddl: str, rows: list[tuple[Any, ...]]) -> list[tuple[str, str]]:
    """Create and fill `schema.name`, commit, and answer its (column, normalized type) as a crawl would."""
    raw = conn.connection.driver_connection
    target = sql.Identifier(schema, name)
    raw.execute(sql.SQL("CREATE TABLE {} (" + ddl + ")").format(target, odd=sql.Identifier(ODD_COLUMN)))
    if rows:
        with raw.cursor() as cursor:
            marks = sql.SQL(", ").join(sql.Placeholder() * len(rows[0]))
            cursor.executemany(sql.SQL("INSERT INTO {} VALUES ({})").format(target, marks), rows)
    found = raw.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                        (target.as_string(raw),)).fetchall()
    conn.connection.driver_connection.commit()
    return [(column, normalize_type(native)) for column, native in found]


def _hostile(conn: Connection, schema: str) -> list[tuple[str, str]]:
    ddl = (f"id bigint, small smallint, i4 integer, txt text, vc varchar, ch char(4), f8 double precision, "
           f"f4 real, num numeric, flag boolean, d date, ts timestamp, tstz timestamptz, b bytea, ia int[], "
           f"u uuid, m {sql.Identifier(schema, 'mood').as_string()}, "
           f"lbl {sql.Identifier(schema, 'label').as_string()}, cash money, doc xml, {{odd}} text")
    rows = []
    for i in range(60):
        text = STRINGS[i % len(STRINGS)]
        rows.append((
            i if i % 7 else None, (i * 37) % 32767 - 100, -(2**31) if i == 5 else i, text,
            text, None if text is None else text[:4], FLOATS[i % len(FLOATS)], 1.1 if i % 2 else 3.4e38,
            None if NUMERICS[i % len(NUMERICS)] is None else Decimal(NUMERICS[i % len(NUMERICS)]),
            [True, False, None][i % 3], DATES[i % len(DATES)], TIMES[i % len(TIMES)], ZONED[i % len(ZONED)],
            BYTES[i % len(BYTES)], INT_ARRAYS[i % len(INT_ARRAYS)], uuid.UUID(int=i * 2**100) if i % 4 else None,
            ["new", 'a,"b"', None][i % 3], STRINGS[(i + 3) % len(STRINGS)],
            None if i % 5 == 0 else Decimal(i * 1234567) / 100, [None, "<a x='1'>b,\n\"c\"</a>"][i % 2],
            STRINGS[(i + 7) % len(STRINGS)],
        ))
    rows[0] = (2**63 - 1, *rows[0][1:])
    return _create(conn, schema, TABLE, ddl, rows)


def _table(batches: Iterator[pa.RecordBatch], columns: list[tuple[str, str]]) -> tuple[pa.Table, list[int]]:
    listed = list(batches)
    schema = pa.schema([(c, arrow_type(t)) for c, t in columns])
    return pa.Table.from_batches(listed, schema=schema), [b.num_rows for b in listed]


def _comparable(table: pa.Table) -> dict[str, list[Any]]:
    """Column values with NaN made comparable and -0.0 told apart from 0.0."""
    return {name: [repr(v) if isinstance(v, float) and (math.isnan(v) or v == 0) else v
                   for v in table.column(name).to_pylist()] for name in table.column_names}


def _both(conn: Connection, schema: str, columns: list[tuple[str, str]], batch_rows: int
          ) -> tuple[tuple[pa.Table, list[int]], tuple[pa.Table, list[int]]]:
    generic = _table(generic_rows(conn, schema, TABLE, columns, batch_rows), columns)
    conn.rollback()
    plan = copy_plan(conn, schema, TABLE, columns, generic[0].schema)
    assert plan is not None, "this table should take the COPY path"
    fast = _table(copy_batches(conn, plan, batch_rows), columns)
    conn.rollback()
    return generic, fast


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_copy_path_gives_the_generic_paths_arrow_table(pg_conn: tuple[Connection, str], zone: str) -> None:
    conn, schema = pg_conn
    columns = _hostile(conn, schema)
    assert dict(columns)["num"] == "decimal" and dict(columns)["ia"] == "array" and dict(columns)["b"] == "binary"
    raw = conn.connection.driver_connection
    raw.execute(sql.SQL("SET TIME ZONE {}").format(sql.Literal(zone)))
    raw.commit()  # a SET inside a transaction would end with the rollback between the two paths
    (generic, generic_sizes), (fast, fast_sizes) = _both(conn, schema, columns, batch_rows=17)
    assert fast.schema == generic.schema
    assert fast_sizes == generic_sizes == [17, 17, 17, 9]
    assert _comparable(fast) == _comparable(generic)
    texts = fast.column("txt").to_pylist()
    assert texts[:4] == ["", None, "\\N", "NULL"], "empty string, NULL and the marker text stay distinct"
    assert len(texts[21]) == 200_000 and len(texts[24]) == 3 << 20, "a row longer than one CSV block"
    assert fast.column("num").to_pylist()[:5] == ["1E-7", "-1E-7", "1.0E-7", "0E-7", "0.000000"]
    assert fast.column("ia").to_pylist()[:4] == ["[1, 2, 3]", "[]", "[null, -5]", "[[1, 2], [3, 4]]"]
    assert fast.column("tstz").to_pylist()[0] == datetime(2024, 3, 10, 6, 30)
    assert raw.execute("SHOW TIME ZONE").fetchone() == (zone,)


def test_a_single_text_column_keeps_empty_lines_and_end_markers(pg_conn: tuple[Connection, str]) -> None:
    """One-column rows are whole CSV lines: an empty string is an empty line, `\\.` alone ends COPY's own input."""
    conn, schema = pg_conn
    values = ["", None, "\\N", "\\.", "", "x", None]
    columns = _create(conn, schema, TABLE, "{odd} text", [(v,) for v in values])
    (generic, _), (fast, _) = _both(conn, schema, columns, batch_rows=3)
    assert fast.column(ODD_COLUMN).to_pylist() == generic.column(ODD_COLUMN).to_pylist() == values


def test_export_rows_takes_copy_and_batches_stay_bounded(pg_conn: tuple[Connection, str]) -> None:
    conn, schema = pg_conn
    columns = _create(conn, schema, TABLE, "id bigint, note text, at timestamptz", [])
    conn.connection.driver_connection.execute(sql.SQL(
        "INSERT INTO {} SELECT g, repeat('n,\"' || g, g % 5), now() FROM generate_series(1, 20000) g"
    ).format(sql.Identifier(schema, TABLE)))
    conn.connection.driver_connection.commit()
    sizes = [b.num_rows for b in export_rows(conn, schema, TABLE, columns, 1500)]
    assert len(sizes) == 14 and max(sizes) <= 1500 and sum(sizes) == 20000
    conn.rollback()
    (generic, _), (fast, _) = _both(conn, schema, columns, batch_rows=1500)
    assert fast.equals(generic)


def test_stopping_early_leaves_a_usable_connection(pg_conn: tuple[Connection, str]) -> None:
    conn, schema = pg_conn
    columns = _create(conn, schema, TABLE, "id bigint, note text", [])
    conn.connection.driver_connection.execute(sql.SQL(
        "INSERT INTO {} SELECT g, md5(g::text) FROM generate_series(1, 200000) g"
    ).format(sql.Identifier(schema, TABLE)))
    conn.connection.driver_connection.commit()
    batches = export_rows(conn, schema, TABLE, columns, 1000)
    assert next(batches).num_rows == 1000
    batches.close()
    conn.rollback()
    assert conn.exec_driver_sql("SELECT 1").scalar() == 1


@pytest.mark.parametrize("ddl, value", [
    ("doc jsonb, n int", ({"b": [1, 2.5, None], "a": "ü"}, 1)),
    ("tags text[], n int", (["a", 'b,"c'], 1)),
    ("t time, n int", ("12:34:56.5", 1)),
    ("span interval, n int", ("1 day 2 hours", 1)),
])
def test_types_copy_cannot_reproduce_fall_back_to_the_generic_path(pg_conn: tuple[Connection, str], ddl: str,
                                                                    value: tuple[Any, ...]) -> None:
    conn, schema = pg_conn
    row = (psycopg.types.json.Jsonb(value[0]), value[1]) if "jsonb" in ddl else value
    columns = _create(conn, schema, TABLE, ddl, [row])
    arrow_schema = pa.schema([(c, arrow_type(t)) for c, t in columns])
    assert copy_plan(conn, schema, TABLE, columns, arrow_schema) is None
    conn.rollback()
    exported, _ = _table(export_rows(conn, schema, TABLE, columns, 10), columns)
    conn.rollback()
    generic, _ = _table(generic_rows(conn, schema, TABLE, columns, 10), columns)
    assert exported.equals(generic)


def test_a_value_arrow_cannot_hold_names_its_column(pg_conn: tuple[Connection, str]) -> None:
    conn, schema = pg_conn
    columns = _create(conn, schema, TABLE, "id int, {odd} date", [(1, date(2024, 1, 1)), (2, "infinity")])
    with pytest.raises(ValueError, match=f"column '{ODD_COLUMN}' holds a value that does not fit date32"):
        list(export_rows(conn, schema, TABLE, columns, 10))


def test_an_error_in_mid_stream_is_the_drivers_error_as_on_the_generic_path(pg_conn: tuple[Connection, str]) -> None:
    """A view that fails after thousands of rows: the server's error ends the COPY data, wrapped by SQLAlchemy."""
    conn, schema = pg_conn
    raw = conn.connection.driver_connection
    raw.execute(sql.SQL("CREATE VIEW {} AS SELECT g AS id, 100 / (g - 30000) AS q FROM generate_series(1, 40000) g")
                .format(sql.Identifier(schema, TABLE)))
    raw.commit()
    columns = [("id", "integer"), ("q", "integer")]
    for batches in (export_rows(conn, schema, TABLE, columns, 1000), generic_rows(conn, schema, TABLE, columns, 1000)):
        with pytest.raises(DataError, match="division by zero"):
            list(batches)
        conn.rollback()
    assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_a_vanished_table_is_a_sqlalchemy_error(pg_conn: tuple[Connection, str]) -> None:
    conn, schema = pg_conn
    with pytest.raises(ProgrammingError, match="does not exist"):
        list(export_rows(conn, schema, "gone", [("id", "integer")], 10))
