"""The first rows of one file, read boundedly: the row-reading counterpart of `connectors.objects.readers`.

Parquet: the footer, then row group after row group of only the columns the catalog names, until enough rows;
on S3 through range reads (`RangeFile`), never the whole object. Arrow/Feather: record batch after record batch
the same way. CSV/TSV and JSON/JSON lines: the same bounded head (`sample_bytes` of decompressed content) the
crawl reads, parsed and typed the same way, so a sample shows the columns the crawl found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from connectors.objects.arrow_columns import fields_from_arrow
from connectors.objects.csv_sample import csv_records
from connectors.objects.formats import FileKind
from connectors.objects.json_sample import parse_objects
from connectors.objects.readers import RangeFile
from connectors.objects.sampling import decode, read_head, whole_lines
from connectors.objects.stores import LocalStore, ObjectInfo, ObjectStore

FLAT, NESTED, DOCUMENT = "flat", "nested", "document"


@dataclass
class FileRows:
    """Rows of one file as records, and how their keys map onto catalog column names.

    `style` is FLAT (CSV: keys are column names), NESTED (Arrow: struct fields unescaped, `parents` from the
    file's schema) or DOCUMENT (JSON: keys escaped like MongoDB's). `names` are the file's top-level columns.
    """

    records: list[dict[str, Any]]
    style: str
    names: set[str]
    complete: bool  # every row of the file is in `records`
    parents: dict[str, str | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_rows(store: ObjectStore, info: ObjectInfo, kind: FileKind, columns: Sequence[str], count: int,
              sample_bytes: int) -> FileRows:
    """At most `count` rows; raises StoreError, ValueError or pyarrow errors for a file that cannot be read."""
    if info.size == 0:
        raise ValueError("empty file (0 bytes)")
    if kind.compression and kind.format in ("parquet", "arrow"):
        raise ValueError(f"{kind.compression}-compressed {kind.format} cannot be read without decompressing it whole")
    if kind.format == "parquet":
        return _parquet(store, info, columns, count)
    if kind.format == "arrow":
        return _arrow(store, info, columns, count)
    head = read_head(store, info, kind.compression, sample_bytes)
    text = decode(head.data, head.complete)
    problems = [text.problem] if text.problem else []
    if kind.format in ("csv", "tsv"):
        names, records = csv_records(whole_lines(text.text, head.complete), "\t" if kind.format == "tsv" else None)
        return FileRows(records[:count], FLAT, set(names), head.complete and len(records) <= count,
                        problems=problems)
    lines = kind.format == "jsonl"
    objects, read, _, found = parse_objects(whole_lines(text.text, head.complete) if lines else text.text, lines,
                                            head.complete)
    names = {key for record in objects[:count] for key in record}
    return FileRows(objects[:count], DOCUMENT, names, head.complete and read <= count,
                    problems=problems + found)


def _source(store: ObjectStore, info: ObjectInfo) -> Any:
    if isinstance(store, LocalStore):
        return pa.memory_map(str(store.local_path(info.key)))
    return pa.PythonFile(RangeFile(store, info), mode="r")


def _wanted(schema: pa.Schema, columns: Sequence[str]) -> list[str]:
    """The file's top-level columns that are, or hold, a catalog column."""
    prefixes = set(columns)
    return [name for name in schema.names
            if name in prefixes or any(c.startswith((name + ".", name + "[]")) for c in columns)]


def _nested(schema: pa.Schema, table: pa.Table, total: int | None, count: int) -> FileRows:
    parents = {spec.name: spec.nested_path for spec in fields_from_arrow(schema)}
    records = table.slice(0, count).to_pylist()
    complete = total is not None and total <= count
    return FileRows(records, NESTED, set(schema.names), complete, parents)


def _parquet(store: ObjectStore, info: ObjectInfo, columns: Sequence[str], count: int) -> FileRows:
    import pyarrow.parquet as pq

    with _source(store, info) as source:
        parquet = pq.ParquetFile(source)
        schema = parquet.schema_arrow
        names = _wanted(schema, columns)
        groups, rows = [], 0  # only the row groups that hold the first `count` rows: nothing else is fetched
        while rows < count and len(groups) < parquet.metadata.num_row_groups:
            rows += parquet.metadata.row_group(len(groups)).num_rows
            groups.append(len(groups))
        batches = parquet.iter_batches(batch_size=min(max(count, 1), 65_536), row_groups=groups, columns=names,
                                       use_threads=False)
        table = _first_rows(batches, count)
        return _nested(schema, table, parquet.metadata.num_rows, count)


def _arrow(store: ObjectStore, info: ObjectInfo, columns: Sequence[str], count: int) -> FileRows:
    import pyarrow.ipc as ipc

    with _source(store, info) as source:
        try:
            reader = ipc.open_file(source)
            batches: Iterable[pa.RecordBatch] = (reader.get_batch(i) for i in range(reader.num_record_batches))
            schema = reader.schema
        except pa.ArrowInvalid:
            source.seek(0)
            stream = ipc.open_stream(source)  # an Arrow IPC stream rather than a file
            batches, schema = stream, stream.schema
        names = _wanted(schema, columns)
        table = _first_rows((b.select(names) for b in batches), count)
        exhausted = table.num_rows < count
        return _nested(schema, table, table.num_rows if exhausted else None, count)


def _first_rows(batches: Iterable[pa.RecordBatch], count: int) -> pa.Table:
    """Batches until `count` rows are in (the last batch may overshoot; the caller slices)."""
    taken: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        taken.append(batch)
        rows += batch.num_rows
        if rows >= count:
            break
    return pa.Table.from_batches(taken) if taken else pa.table({})
