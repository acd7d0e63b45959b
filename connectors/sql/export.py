"""Every row of one table or view as Arrow record batches, for publishing a crawled dataset as a version.

On PostgreSQL (psycopg 3) a table whose column types all have an exact CSV form is read with COPY instead
(`connectors.sql.export_copy`, several times faster); everything else streams through a server-side cursor
(`stream_results`). Either way memory holds one batch, not the table, and the batches are identical. Each
column gets an Arrow type from the catalog's normalized type; values a type cannot hold (a PostgreSQL range, a
MySQL SET) fall back to their text, so an export never fails on an exotic column.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, column, select, table

from connectors.sql.export_copy import copy_batches, copy_plan

ARROW_TYPES: dict[str, pa.DataType] = {
    "integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(), "date": pa.date32(),
    "timestamp": pa.timestamp("us"), "binary": pa.binary(),
}


def arrow_type(normalized_type: str) -> pa.DataType:
    return ARROW_TYPES.get(normalized_type, pa.string())


def _convert(value: Any, normalized_type: str) -> Any:
    """A driver value as its Arrow column type wants it; None stays None."""
    if value is None:
        return None
    if normalized_type == "integer" and isinstance(value, int | Decimal) and not isinstance(value, bool):
        return int(value)
    if normalized_type == "float" and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    if normalized_type == "boolean" and isinstance(value, bool | int):
        return bool(value)
    if normalized_type == "date":
        return date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if normalized_type == "timestamp":
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=None) if isinstance(parsed, datetime) and parsed.tzinfo is None else parsed
    if normalized_type == "binary" and isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value if isinstance(value, str) else str(value)


def export_rows(conn: Connection, schema: str, name: str, columns: Sequence[tuple[str, str]],
                batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Batches of `batch_rows` rows of `schema.name`; `columns` are (name, normalized type) in order.

    The one place that picks the path: COPY when `copy_plan` finds an exact plan, the generic cursor otherwise.
    """
    arrow_schema = pa.schema([(c, arrow_type(t)) for c, t in columns])
    plan = copy_plan(conn, schema, name, columns, arrow_schema)
    if plan is not None:
        yield from copy_batches(conn, plan, batch_rows)
    else:
        yield from generic_rows(conn, schema, name, columns, batch_rows)


def generic_rows(conn: Connection, schema: str, name: str, columns: Sequence[tuple[str, str]],
                 batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Any dialect: a server-side cursor, each value converted in Python by `_convert`."""
    arrow_schema = pa.schema([(c, arrow_type(t)) for c, t in columns])
    relation = table(name, *(column(c) for c, _ in columns), schema=schema or None)
    result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(select(relation))
    for rows in result.partitions(batch_rows):
        arrays = []
        for index, (column_name, normalized) in enumerate(columns):
            values = [_convert(row[index], normalized) for row in rows]
            arrays.append(_array(values, arrow_schema.field(index).type, column_name))
        yield pa.RecordBatch.from_arrays(arrays, schema=arrow_schema)


def _array(values: list[Any], data_type: pa.DataType, name: str) -> pa.Array:
    try:
        return pa.array(values, type=data_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise ValueError(f"column '{name}' holds a value that does not fit {data_type}: {exc}") from None
