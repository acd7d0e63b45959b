"""PostgreSQL fast path for `export_rows`: `COPY (SELECT ...) TO STDOUT (FORMAT csv)` parsed by Arrow's CSV reader.

Why: the generic path turns every value into a Python object twice (driver, then `_convert`), so Python's speed
per value bounds it (about 200k rows/s at best); COPY hands Arrow raw CSV bytes that it parses in C++, and the
Python cost is one small call per row.

The fast path must give exactly the Arrow table the generic path gives, so it is only taken when every column's
PostgreSQL type (as the server describes it, domains already resolved to their base type) is one whose CSV text
Arrow parses to the value the driver + `_convert` would give; otherwise `copy_plan` answers None and the whole
table goes the generic way. Known differences are bridged in SQL or after parsing:

* timestamptz: the generic path stores the UTC instant (Arrow converts aware datetimes), so `AT TIME ZONE 'UTC'`.
* bytea: `encode(col, 'hex')`, decoded after parsing (independent of the session's `bytea_output`).
* numeric: the generic path writes `str(Decimal)`, which PostgreSQL's text matches except below 1e-6
  (`0.0000001` -> `1E-7`); those few values are rewritten after parsing.
* integer arrays: `json.dumps(list)` == `array_to_json` with ", " separators (digits, commas, brackets, null).
* types psycopg loads as plain text (text, varchar, char, enums, citext, xml, ...) are that same text in CSV.
* json/jsonb, float/text/date arrays, time, interval, inet: their Python text differs -> generic path.
* a session DateStyle other than ISO (dates are written in it) -> generic path for tables with dates.

NULL is written as an unquoted marker; PostgreSQL quotes any value equal to it, and the reader keeps quoted
values, so the empty string, NULL and the text of the marker stay three different things.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import pq, sql
from psycopg.postgres import types as pg_types
from sqlalchemy import Connection, column, select, table
from sqlalchemy.exc import DBAPIError

NULL_MARKER = "\\N"
# Arrow parses the stream in blocks of this size (batches are re-cut to `batch_rows`) and reads ~32 blocks ahead.
BLOCK_BYTES = 1 << 20
_DATE_TYPES = (pa.date32(), pa.timestamp("us"))
# Arrow type -> PostgreSQL types whose CSV text Arrow parses to what the driver + `_convert` give.
_PLAIN: dict[pa.DataType, frozenset[str]] = {
    pa.int64(): frozenset({"int2", "int4", "int8"}),
    pa.float64(): frozenset({"float4", "float8"}),
    pa.bool_(): frozenset({"bool"}),
    pa.date32(): frozenset({"date"}),
    pa.timestamp("us"): frozenset({"timestamp"}),
    pa.string(): frozenset({"uuid", "int2", "int4", "int8"}),
}
_INT_ARRAYS = frozenset({"_int2", "_int4", "_int8"})
# str(Decimal) switches to exponent notation when the first significant digit is past the 6th decimal place.
_TINY_DECIMAL = r"^-?0\.0{6}\d"


def _type_names() -> dict[int, str]:
    """Built-in OID -> name ("int4"), and "_int4" for its array: user types have no fixed OID."""
    names: dict[int, str] = {}
    for info in pg_types:
        names.setdefault(info.oid, info.name)
        if info.array_oid:
            names.setdefault(info.array_oid, f"_{info.name}")
    return names


_TYPE_NAMES = _type_names()


@dataclass(frozen=True)
class _Column:
    name: str
    expression: sql.Composable
    read_type: pa.DataType
    finish: Callable[[pa.Array], pa.Array] | None = None


@dataclass(frozen=True)
class CopyPlan:
    """What `copy_batches` runs: the COPY statement and how each CSV column becomes its Arrow column."""

    statement: sql.Composed
    columns: tuple[_Column, ...]
    schema: pa.Schema


def copy_plan(conn: Connection, schema: str, name: str, columns: Sequence[tuple[str, str]],
              arrow_schema: pa.Schema) -> CopyPlan | None:
    """A plan when `conn` is PostgreSQL via psycopg 3 and every column has an exact CSV equivalent, else None.

    Runs `SELECT cols FROM relation LIMIT 0` through SQLAlchemy (which also begins the transaction the COPY then
    runs in) to learn each column's type as the server sends it.
    """
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg" or not columns:
        return None
    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection) or raw.info.encoding != "utf-8":
        return None
    relation = table(name, *(column(c) for c, _ in columns), schema=schema or None)
    result = conn.execute(select(relation).limit(0))
    oids = [int(d.type_code) for d in result.cursor.description]
    result.close()
    text_loader = raw.adapters.get_loader(_oid("text"), pq.Format.TEXT)
    planned: list[_Column] = []
    for (column_name, _), field, oid in zip(columns, arrow_schema, oids, strict=True):
        is_text = raw.adapters.get_loader(oid, pq.Format.TEXT) in (None, text_loader)  # None: loaded as text
        if (plan := _plan_column(column_name, field.type, _TYPE_NAMES.get(oid), is_text)) is None:
            return None
        planned.append(plan)
    if any(f.type in _DATE_TYPES for f in arrow_schema) and not _iso_dates(raw):
        return None
    target = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    statement = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT WITH (FORMAT csv, NULL {})").format(
        sql.SQL(", ").join(p.expression for p in planned), target, sql.Literal(NULL_MARKER))
    return CopyPlan(statement, tuple(planned), arrow_schema)


def _oid(type_name: str) -> int:
    info = pg_types.get(type_name)
    assert info is not None
    return info.oid


def _iso_dates(raw: psycopg.Connection[Any]) -> bool:
    """COPY writes dates in the session's DateStyle; only ISO is what Arrow parses (MDY/DMY order is moot)."""
    return (raw.info.parameter_status("DateStyle") or "").upper().startswith("ISO")


def _plan_column(name: str, data_type: pa.DataType, pg_type: str | None, is_text: bool) -> _Column | None:
    """How to select and parse one column, or None when its CSV text cannot reproduce the generic value."""
    ident = sql.Identifier(name)
    if pg_type in _PLAIN.get(data_type, ()) or (data_type == pa.string() and is_text):
        return _Column(name, ident, data_type)
    if data_type == pa.timestamp("us") and pg_type == "timestamptz":
        return _Column(name, sql.SQL("({} AT TIME ZONE 'UTC')").format(ident), data_type)
    if data_type == pa.binary() and pg_type == "bytea":
        return _Column(name, sql.SQL("encode({}, 'hex')").format(ident), pa.string(), _from_hex)
    if data_type == pa.string() and pg_type == "numeric":
        return _Column(name, ident, data_type, _decimal_text)
    if data_type == pa.string() and pg_type in _INT_ARRAYS:
        return _Column(name, sql.SQL("replace(array_to_json({})::text, ',', ', ')").format(ident), data_type)
    return None


def _from_hex(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else bytes.fromhex(v) for v in values.to_pylist()], type=pa.binary())


def _decimal_text(values: pa.Array) -> pa.Array:
    """PostgreSQL's numeric text as `str(Decimal(text))`; only values below 1e-6 differ, so only they are redone."""
    tiny = pc.match_substring_regex(values, _TINY_DECIMAL)
    if not pc.any(tiny).as_py():
        return values
    return pa.array([str(Decimal(v)) if flag else v for v, flag in zip(values.to_pylist(), tiny.to_pylist(),
                                                                            strict=True)], type=pa.string())


def copy_batches(conn: Connection, plan: CopyPlan, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Batches of exactly `batch_rows` rows (the last one shorter), like the generic path.

    Memory is flat in the table size: about one batch plus Arrow's read-ahead of CSV blocks, because the COPY
    output is pulled through `_CopyStream` as Arrow asks for blocks, never read whole. The COPY is one statement
    in the connection's current transaction, so it reads one snapshot, and the connection is busy with it until
    the last batch. Stopping early cancels it, which leaves the transaction aborted (roll back to reuse it).
    """
    raw = conn.connection.driver_connection
    read_options = pa_csv.ReadOptions(column_names=[f"c{i}" for i in range(len(plan.columns))],
                                      block_size=BLOCK_BYTES)
    parse_options = pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)
    convert_options = pa_csv.ConvertOptions(
        column_types={f"c{i}": c.read_type for i, c in enumerate(plan.columns)}, null_values=[NULL_MARKER],
        strings_can_be_null=True, quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"])
    pending = _Rechunker(batch_rows)
    try:
        with raw.cursor() as cursor, cursor.copy(plan.statement) as copy:
            stream = _CopyStream(copy)
            try:
                reader = _arrow(stream, plan, lambda: pa_csv.open_csv(
                    stream, read_options=read_options, parse_options=parse_options, convert_options=convert_options))
                while (batch := _arrow(stream, plan, reader.read_next_batch)) is not None:
                    yield from pending.add(_finish(batch, plan))
            finally:
                stream.close()
    except psycopg.Error as exc:
        raise DBAPIError.instance(plan.statement.as_string(raw), None, exc, psycopg.Error) from None
    yield from pending.rest()


def _arrow(stream: _CopyStream, plan: CopyPlan, call: Callable[[], Any]) -> Any:
    """Run an Arrow CSV call; a driver error raised inside the stream wins, a parse error names its column."""
    try:
        return call()
    except StopIteration:
        return None
    except pa.ArrowException as exc:
        if stream.error is not None:
            raise stream.error from None
        raise _value_error(exc, plan) from None


def _value_error(exc: Exception, plan: CopyPlan) -> ValueError:
    """The generic path's message for a value its column type cannot hold (CSV columns are named c0, c1...)."""
    match = re.search(r"column #(\d+)", str(exc))
    if match and int(match.group(1)) < len(plan.columns):
        index = int(match.group(1))
        return ValueError(f"column '{plan.columns[index].name}' holds a value that does not fit "
                          f"{plan.schema.field(index).type}: {exc}")
    return ValueError(f"the exported rows could not be read: {exc}")


def _finish(batch: pa.RecordBatch, plan: CopyPlan) -> pa.RecordBatch:
    arrays = [c.finish(batch.column(i)) if c.finish else batch.column(i) for i, c in enumerate(plan.columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=plan.schema)


class _Rechunker:
    """Cuts Arrow's block-sized batches into `batch_rows`-row batches (block size is bytes, not rows)."""

    def __init__(self, batch_rows: int) -> None:
        self.batch_rows = batch_rows
        self.pending: list[pa.RecordBatch] = []
        self.count = 0

    def add(self, batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        self.pending.append(batch)
        self.count += batch.num_rows
        if self.count < self.batch_rows:
            return
        whole = pa.concat_batches(self.pending) if len(self.pending) > 1 else self.pending[0]
        start = 0
        while whole.num_rows - start >= self.batch_rows:
            yield whole.slice(start, self.batch_rows)
            start += self.batch_rows
        self.pending = [whole.slice(start)] if start < whole.num_rows else []
        self.count = whole.num_rows - start

    def rest(self) -> Iterator[pa.RecordBatch]:
        if self.count:
            yield pa.concat_batches(self.pending)


class _CopyStream:
    """A read-only file over a COPY TO whose reads end on row boundaries, pulled on demand.

    `read(n)` returns whole rows, at least n bytes of them (fewer only at the end): Arrow's streaming CSV reader
    takes what one `read` returns as one block, and fails on a row that straddles two block boundaries, so a value
    longer than the block size must arrive in one piece rather than cut at n bytes.

    libpq hands out one row per call. `Copy.read` costs a generator and a wait per row, half the client's CPU,
    so rows libpq already holds are taken with the non-blocking `PGconn.get_copy_data(1)`; only when none is
    buffered does `Copy.read` wait for the network (interruptibly, as psycopg does). When the non-blocking call
    meets the end of the data, the statement's results are collected here as psycopg would, errors included.

    Arrow reads ahead from its own I/O thread; the lock makes `close` wait for a read in flight, so the
    connection is never used by two threads, and no read reaches the COPY once it is being finished.
    """

    closed = False

    def __init__(self, copy: psycopg.Copy) -> None:
        self._copy = copy
        self._pgconn = copy.connection.pgconn
        self._encoding = copy.connection.info.encoding
        self._lock = threading.Lock()
        self._done = False
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytearray:
        with self._lock:
            if self.closed:
                return bytearray()
            try:
                return self._read(size)
            except BaseException as exc:
                self.error = exc
                raise

    def _read(self, size: int) -> bytearray:
        buffer = bytearray()
        get_copy_data, wait_for_row = self._pgconn.get_copy_data, self._copy.read
        while not self._done and (size < 0 or len(buffer) < size):
            nbytes, row = get_copy_data(1)
            if nbytes > 0:
                buffer += row
            elif nbytes == 0:  # nothing buffered: wait the way psycopg does
                if row := wait_for_row():
                    buffer += row
                else:
                    self._done = True
            else:  # the end (or an error) arrived with rows already buffered
                self._finish()
        return buffer

    def _finish(self) -> None:
        """The statement's results after the end of COPY data: the command tag, or the error that ended it."""
        self._done = True
        failed = None
        while (result := self._pgconn.get_result()) is not None:  # drained to the end, as psycopg does
            if result.status == pq.ExecStatus.FATAL_ERROR and failed is None:
                failed = result
        if failed is not None:
            raise psycopg.errors.error_from_result(failed, self._encoding)

    def close(self) -> None:
        with self._lock:
            self.closed = True
