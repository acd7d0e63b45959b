"""Read one file's facts: its columns, row count and format details, touching as few bytes as possible.

Parquet: one suffix read of the footer (schema and exact row count, no data). Arrow/Feather: the footer through
random access. CSV/TSV and JSON/JSON lines: a bounded head sample (dialect and header sniffed, types inferred).
Images: the header only, for dimensions. Each reader returns `FileFacts`; a file that cannot be read gets
`error` set (the crawl reports it by name and goes on), a readable file with oddities gets `problems`.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from connectors.objects.arrow_columns import FieldSpec, fields_from_arrow
from connectors.objects.formats import Family, FileKind
from connectors.objects.sampling import Head, decode, read_head, whole_lines
from connectors.objects.stores import LocalStore, ObjectInfo, ObjectStore, StoreError

PARQUET_TAIL = 64 * 1024
ARROW_FULL_READ_LIMIT = 64 * 1024 * 1024
IMAGE_HEAD = 64 * 1024


@dataclass(frozen=True)
class Limits:
    sample_bytes: int = 1024 * 1024
    max_fields: int = 500


@dataclass
class FileFacts:
    info: ObjectInfo
    kind: FileKind
    fields: list[FieldSpec] | None = None
    rows: int | None = None
    rows_exact: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    error: str | None = None


def read_facts(store: ObjectStore, info: ObjectInfo, kind: FileKind, limits: Limits,
               want_dimensions: bool = False) -> FileFacts:
    """Never raises for a bad file: the problem goes into the returned facts."""
    facts = FileFacts(info, kind)
    if info.size == 0:
        facts.error = "empty file (0 bytes)"
        return facts
    try:
        if kind.family is Family.TABULAR:
            if kind.compression and kind.format in ("parquet", "arrow"):
                facts.error = f"{kind.compression}-compressed {kind.format} cannot be read without decompressing " \
                              "it whole; store it uncompressed (it compresses internally)"
            else:
                _TABULAR[kind.format](store, facts, limits)
        elif kind.family is Family.IMAGE and want_dimensions:
            _read_image(store, facts)
    except StoreError as exc:
        facts.error = str(exc)
    except (ValueError, pa.ArrowException, csv.Error, json.JSONDecodeError, OSError) as exc:
        facts.error = f"unreadable {kind.label}: {_first_line(exc)}"
    return facts


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _read_parquet(store: ObjectStore, facts: FileFacts, limits: Limits) -> None:
    import pyarrow.parquet as pq

    size = facts.info.size
    tail = store.read_tail(facts.info.key, PARQUET_TAIL, size)
    if size < 12 or tail[-4:] != b"PAR1":
        raise ValueError("no Parquet footer (the file does not end with PAR1): truncated or not Parquet")
    footer_length = struct.unpack("<I", tail[-8:-4])[0]
    if footer_length + 8 > size - 4:
        raise ValueError(f"footer length {footer_length} does not fit in a {size}-byte file")
    if footer_length + 8 > len(tail):
        tail = store.read_tail(facts.info.key, footer_length + 8, size)
    metadata = pq.read_metadata(pa.BufferReader(tail[-(footer_length + 8):]))
    facts.fields = fields_from_arrow(metadata.schema.to_arrow_schema())
    facts.rows, facts.rows_exact = metadata.num_rows, True
    facts.details = {"row_groups": metadata.num_row_groups, "created_by": metadata.created_by}


def _read_arrow(store: ObjectStore, facts: FileFacts, limits: Limits) -> None:
    import pyarrow.ipc as ipc

    size = facts.info.size
    if isinstance(store, LocalStore):
        source: Any = pa.memory_map(str(store.local_path(facts.info.key)))
    elif size <= ARROW_FULL_READ_LIMIT:
        source = pa.BufferReader(store.read_range(facts.info.key, 0, size))
    else:
        source = pa.PythonFile(RangeFile(store, facts.info), mode="r")
    with source:
        try:
            reader = ipc.open_file(source)
        except pa.ArrowInvalid:
            source.seek(0)
            if source.read(4) == b"FEA1":
                raise ValueError("Feather version 1 is not supported; rewrite it as Feather v2 / Arrow IPC") from None
            source.seek(0)
            table = ipc.open_stream(source).read_all()  # an Arrow IPC stream rather than a file
            facts.fields, facts.rows, facts.rows_exact = fields_from_arrow(table.schema), table.num_rows, True
            facts.details = {"ipc": "stream"}
            return
        facts.fields = fields_from_arrow(reader.schema)
        facts.details = {"record_batches": reader.num_record_batches}
        if size <= ARROW_FULL_READ_LIMIT or isinstance(store, LocalStore):
            facts.rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
            facts.rows_exact = True


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote object through range reads (for large Arrow files)."""

    def __init__(self, store: ObjectStore, info: ObjectInfo) -> None:
        self.store, self.info, self.position = store, info, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.info.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        length = min(len(buffer), self.info.size - self.position)
        if length <= 0:
            return 0
        data = self.store.read_range(self.info.key, self.position, length)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def _text_head(store: ObjectStore, facts: FileFacts, limits: Limits, line_based: bool = True) -> tuple[str, Head]:
    head = read_head(store, facts.info, facts.kind.compression, limits.sample_bytes)
    decoded = decode(head.data, head.complete)
    if decoded.problem:
        facts.problems.append(decoded.problem)
    facts.details["encoding"] = decoded.encoding
    return (whole_lines(decoded.text, head.complete) if line_based else decoded.text), head


def _estimate_rows(facts: FileFacts, head: Head, sampled_rows: int) -> None:
    """Exact when the whole file was read; otherwise scaled from the stored bytes the sample cost."""
    if head.complete:
        facts.rows, facts.rows_exact = sampled_rows, True
    elif sampled_rows and head.consumed:
        facts.rows = round(facts.info.size * sampled_rows / head.consumed)


def _read_csv(store: ObjectStore, facts: FileFacts, limits: Limits) -> None:
    from connectors.objects.csv_sample import infer_csv

    text, head = _text_head(store, facts, limits)
    if not text.strip():
        raise ValueError("no complete line in the sample (no data, or one line longer than the sample)")
    result = infer_csv(text, "\t" if facts.kind.format == "tsv" else None, limits.max_fields)
    facts.fields = result.fields
    facts.problems.extend(result.problems)
    facts.details.update(result.details)
    _estimate_rows(facts, head, result.rows)


def _read_json(store: ObjectStore, facts: FileFacts, limits: Limits) -> None:
    from connectors.objects.json_sample import infer_json

    lines = facts.kind.format == "jsonl"
    text, head = _text_head(store, facts, limits, line_based=lines)  # a JSON document may be one long line
    result = infer_json(text, lines, head.complete, limits.max_fields)
    facts.fields = result.fields
    facts.problems.extend(result.problems)
    facts.details.update(result.details)
    _estimate_rows(facts, head, result.rows)


def _read_image(store: ObjectStore, facts: FileFacts) -> None:
    from PIL import Image, UnidentifiedImageError

    for length in (IMAGE_HEAD, 16 * IMAGE_HEAD):
        data = store.read_range(facts.info.key, 0, min(length, facts.info.size))
        try:
            with Image.open(io.BytesIO(data)) as image:
                facts.details = {"width": image.width, "height": image.height, "image_format": image.format,
                                 "mode": image.mode}
                return
        except UnidentifiedImageError:
            if len(data) >= facts.info.size:
                break
        except (OSError, SyntaxError, ValueError):
            if len(data) >= facts.info.size:
                break
    raise ValueError("not a readable image header")


_TABULAR = {"parquet": _read_parquet, "arrow": _read_arrow, "csv": _read_csv, "tsv": _read_csv,
            "json": _read_json, "jsonl": _read_json}
