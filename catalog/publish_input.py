"""What a publish reads from, turned into one staged deterministic Parquet file with its digest.

Inputs: an Arrow table or pandas DataFrame; a file (Parquet, CSV, TSV, JSON lines, a JSON array, Arrow/Feather)
or a folder of such files (one format, Hive partitions become columns); or a crawled dataset of the catalog
(SQL tables and views, published datasets), read in full through its connector. Everything except a Parquet
file the catalog itself wrote is re-encoded by `parquet_io.write_batches`, so the same rows give the same bytes
and so the same version whatever they came from.

A file that cannot be parsed is an `InvalidInput` naming the file and the parser's reason; nothing is staged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from catalog.db import first_line
from catalog.errors import InvalidInput
from catalog.parquet_io import Digest, hash_file, is_canonical, write_batches, write_canonical

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "json",
           ".ndjson": "json", ".json": "json-array", ".arrow": "ipc", ".feather": "ipc", ".ipc": "ipc"}
BATCH_ROWS = 65_536
MAX_JSON_ARRAY_BYTES = 512 * 1024 * 1024  # a JSON array is parsed whole; bigger inputs should be JSON lines


STALE_AFTER_S = 15 * 60  # a dead process's staged file untouched this long is swept (see `sweep_staging`)
_OWNED = re.compile(r"^(?:upload-)?(\d+)-[0-9a-f]{32}|^fetch-[0-9a-f]{32}-(\d+)$")


def staging_name(prefix: str = "", suffix: str = ".parquet") -> str:
    """A staging entry's name, carrying the writing process's id so `sweep_staging` can tell leftovers."""
    return f"{prefix}{os.getpid()}-{uuid.uuid4().hex}{suffix}"


def sweep_staging(staging: Path, stale_after_s: float = STALE_AFTER_S) -> list[str]:
    """Remove what killed publishes left in the staging folder: entries named by a process that no longer runs
    and untouched for `stale_after_s` (a staged version can be gigabytes; a process killed with -9 never runs
    its cleanup). The age guard keeps entries of live processes whose ids this process cannot see (another
    container sharing the volume). Returns the names removed."""
    removed = []
    now = time.time()
    for entry in staging.iterdir() if staging.is_dir() else ():
        found = _OWNED.match(entry.name)
        if found is None:
            continue
        pid = int(found.group(1) or found.group(2))
        try:
            if pid == os.getpid() or _alive(pid) or now - entry.stat().st_mtime < stale_after_s:
                continue
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            removed.append(entry.name)
        except FileNotFoundError:
            continue
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Hashing a staged gigabyte takes about as long as md5sum; it runs here while the checks read the same file.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="stage-hash")


@dataclass(frozen=True)
class Staged:
    """A version candidate on disk: checked next, then either accepted (moved into the cache) or deleted.

    The digest is computed in the background from the moment the file is complete; `digest` waits for it.
    """

    path: Path
    hashing: Future[Digest]
    rows: int
    schema: pa.Schema
    origin: str  # for people: "table", "file report.csv", "dataset shop/public/orders"

    @property
    def digest(self) -> Digest:
        return self.hashing.result()

    def discard(self) -> None:
        try:
            self.hashing.result()
        except OSError:
            pass
        self.path.unlink(missing_ok=True)


def stage(data: Any, staging: Path, origin: str) -> Staged:
    """Stage an in-memory table or DataFrame."""
    target = staging / staging_name()
    try:
        schema = write_canonical(data, target)
    except TypeError as exc:
        raise InvalidInput(str(exc)) from None
    return _finish(target, schema, origin)


def stage_batches(schema: pa.Schema, batches: Iterator[pa.RecordBatch], staging: Path, origin: str) -> Staged:
    """Stage streamed batches (a crawled dataset read through its connector)."""
    target = staging / staging_name()
    try:
        written = write_batches(schema, batches, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return _finish(target, written, origin)


def stage_path(path: Path, staging: Path, origin: str | None = None) -> Staged:
    """Stage a local file or folder."""
    path = path.expanduser()
    if not path.exists():
        raise InvalidInput(f"'{path}' does not exist")
    target = staging / staging_name()
    origin = origin or f"{'folder' if path.is_dir() else 'file'} {path.name}"
    try:
        if path.is_file() and is_canonical(path):
            shutil.copyfile(path, target)  # already deterministic: adopt the bytes (a copy: the input may change)
            return _finish(target, pq.read_schema(str(target)), origin)
        dataset = _open(path)
        schema = write_batches(dataset.schema, dataset.to_batches(batch_size=BATCH_ROWS), target)
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as exc:
        target.unlink(missing_ok=True)
        raise InvalidInput(f"cannot read '{path.name}': {first_line(exc)[:300]}") from None
    return _finish(target, schema, origin)


def _finish(target: Path, schema: pa.Schema, origin: str) -> Staged:
    rows = pq.read_metadata(str(target)).num_rows
    return Staged(target, _HASHING.submit(hash_file, target), rows, schema, origin)


def format_of(path: Path) -> str:
    """The reader for a path: by extension; a folder's by the extensions of its (non-hidden) files."""
    if path.is_file():
        found = FORMATS.get(path.suffix.lower())
        if found is None:
            raise InvalidInput(f"'{path.name}': unsupported file type (use {', '.join(sorted(FORMATS))})")
        return found
    kinds = {FORMATS.get(p.suffix.lower()) for p in path.rglob("*")
             if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)}
    kinds.discard(None)
    if not kinds:
        raise InvalidInput(f"folder '{path.name}' holds no readable data files ({', '.join(sorted(FORMATS))})")
    if len(kinds) > 1:
        raise InvalidInput(f"folder '{path.name}' mixes formats ({', '.join(sorted(k for k in kinds if k))}); "
                           "publish one format per version")
    return kinds.pop() or ""


def _open(path: Path) -> pads.Dataset:
    kind = format_of(path)
    if kind == "json-array":
        return pads.dataset(_json_array(path))
    if kind == "tsv":
        import pyarrow.csv as pacsv

        file_format: Any = pads.CsvFileFormat(parse_options=pacsv.ParseOptions(delimiter="\t"))
    else:
        file_format = kind
    return pads.dataset(str(path), format=file_format, partitioning="hive" if path.is_dir() else None,
                        ignore_prefixes=[".", "_"])


def _json_array(path: Path) -> pa.Table:
    """JSON arrays of objects (pyarrow reads only JSON lines); folders of them are not supported."""
    if path.is_dir():
        raise InvalidInput(f"folder '{path.name}': publish JSON lines (.jsonl) files, not JSON arrays, from folders")
    if path.stat().st_size > MAX_JSON_ARRAY_BYTES:
        raise InvalidInput(f"'{path.name}' is a JSON array over 512 MiB: convert it to JSON lines first")
    records = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("expected a JSON array of objects")
    return pa.Table.from_pylist(records)
