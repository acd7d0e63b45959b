"""Snapshot files of the vector index: one self-checking file per snapshot and a CURRENT pointer, written atomically.

Why one file per snapshot: the FAISS index and its position -> id labels must never disagree, so both live in the
same file: `[faiss index][labels: int64 x count][meta JSON][meta length: u64][magic: 8 bytes]`. FAISS reads its part
from the start of the file and ignores the trailer; the trailer is written last, so a file without the magic at
its end, or whose size disagrees with the meta, is a torn write and is skipped.

Why the write order (temp file, fsync, rename, fsync folder, then CURRENT the same way): a crash at any point
leaves either the previous CURRENT pointing at a complete snapshot, or a complete new snapshot nobody points at yet
(found by the fallback scan). Snapshot files are never modified in place (only created by rename and deleted), so
a reader that memory-maps one keeps a valid view even after a writer prunes it. Readers try CURRENT first, then
every snapshot newest first, so a missing or torn file costs a fallback, never a broken index. Writers hold an
advisory lock on `.lock` so two `catalog index` processes never pick the same snapshot number or delete each
other's temp files.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

MAGIC = b"CATVEC01"
CURRENT = "CURRENT"
KEEP_SNAPSHOTS = 2
_NAME = re.compile(r"^index-(\d+)\.faiss$")
_TRAILER = struct.Struct("<Q8s")
_BAD: set[tuple[str, int, int]] = set()  # (path, size, mtime_ns) of files that failed to load in this process


@dataclass
class Snapshot:
    """One loaded snapshot: its number, the FAISS index, and the id stored at every index position (-1 = removed)."""

    number: int
    index: Any
    labels: np.ndarray
    meta: dict[str, Any]


def snapshot_name(number: int) -> str:
    return f"index-{number:08d}.faiss"


def snapshot_number(name: str) -> int | None:
    match = _NAME.match(name)
    return int(match.group(1)) if match else None


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_mark(path: Path) -> tuple[str, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path), stat.st_size, stat.st_mtime_ns


def _numbers_on_disk(folder: Path) -> list[int]:
    """Snapshot numbers of every snapshot file in the folder, newest first (complete or not)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted((n for n in map(snapshot_number, names) if n is not None), reverse=True)


def read_current(folder: Path) -> int | None:
    """The snapshot number CURRENT points at, or None when it is missing or unreadable."""
    try:
        return snapshot_number((folder / CURRENT).read_text().strip())
    except OSError:
        return None


def committed_number(folder: Path) -> int:
    """The number a fresh `load` would most likely return, cheaply: CURRENT when its file exists and has not failed
    to load in this process, else the newest snapshot file not known to be bad; 0 when there is none."""
    current = read_current(folder)
    if current is not None:
        mark = _file_mark(folder / snapshot_name(current))
        if mark is not None and mark not in _BAD:
            return current
    for number in _numbers_on_disk(folder):
        mark = _file_mark(folder / snapshot_name(number))
        if mark is not None and mark not in _BAD:
            return number
    return 0


def _read_one(path: Path, mapped: bool) -> Snapshot:
    """Read and check one snapshot file; raises ValueError (or OSError / RuntimeError from FAISS) when unusable.

    `mapped` memory-maps the vectors instead of reading them (FAISS's IO_FLAG_MMAP_IFC): loading takes milliseconds
    instead of seconds at 1M vectors and every process mapping the file shares one copy in the page cache, but the
    index must never be modified (FAISS aborts the process on a write to a mapped vector).
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size < _TRAILER.size:
            raise ValueError("too short")
        handle.seek(size - _TRAILER.size)
        meta_length, magic = _TRAILER.unpack(handle.read(_TRAILER.size))
        if magic != MAGIC or meta_length > size - _TRAILER.size:
            raise ValueError("no trailer (torn write)")
        handle.seek(size - _TRAILER.size - meta_length)
        meta = json.loads(handle.read(meta_length))
    count, faiss_bytes = int(meta["count"]), int(meta["faiss_bytes"])
    if faiss_bytes + 8 * count + meta_length + _TRAILER.size != size:
        raise ValueError("size does not match the trailer")
    labels = np.fromfile(path, dtype=np.int64, count=count, offset=faiss_bytes)
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mapped else 0)
    if index.ntotal != count or index.d != int(meta["dimension"]):
        raise ValueError("index does not match its labels")
    return Snapshot(int(meta["snapshot"]), index, labels, meta)


def read_newest(folder: Path, mapped: bool = False) -> Snapshot | None:
    """The snapshot CURRENT points at if it loads, else the newest snapshot that does; None when none does."""
    current = read_current(folder)
    candidates = ([current] if current is not None else []) + [n for n in _numbers_on_disk(folder) if n != current]
    for number in candidates:
        path = folder / snapshot_name(number)
        try:
            return _read_one(path, mapped)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            mark = _file_mark(path)
            if mark is not None:
                _BAD.add(mark)
    return None


@contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """Exclusive advisory lock for writers of this folder (readers never take it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def next_number(folder: Path, loaded: int) -> int:
    """A snapshot number above everything on disk and above the one this process loaded (call under the lock)."""
    return max([loaded, read_current(folder) or 0, *_numbers_on_disk(folder)]) + 1


def write_snapshot(folder: Path, number: int, index: Any, labels: np.ndarray, meta: dict[str, Any]) -> Path:
    """Write snapshot `number` atomically and point CURRENT at it (call under `writer_lock`)."""
    final = folder / snapshot_name(number)
    temp = folder / f".{final.name}.{os.getpid()}.tmp"
    try:
        faiss.write_index(index, str(temp))
        faiss_bytes = temp.stat().st_size
        body = json.dumps({**meta, "snapshot": number, "count": int(labels.shape[0]),
                           "faiss_bytes": faiss_bytes}).encode()
        with temp.open("ab") as handle:
            handle.write(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
            handle.write(body)
            handle.write(_TRAILER.pack(len(body), MAGIC))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)
        _fsync_folder(folder)
    finally:
        temp.unlink(missing_ok=True)
    _write_current(folder, final.name)
    return final


def _write_current(folder: Path, name: str) -> None:
    temp = folder / f".{CURRENT}.{os.getpid()}.tmp"
    with temp.open("w") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, folder / CURRENT)
    _fsync_folder(folder)


def prune(folder: Path, keep: int = KEEP_SNAPSHOTS) -> None:
    """Delete snapshots beyond the newest `keep` and temp files of crashed writers (call under `writer_lock`)."""
    current = read_current(folder)
    numbers = _numbers_on_disk(folder)
    kept = set(numbers[:keep]) | ({current} if current is not None else set())
    for number in numbers:
        if number not in kept:
            (folder / snapshot_name(number)).unlink(missing_ok=True)
    for name in os.listdir(folder):
        if name.startswith(".") and name.endswith(".tmp"):
            (folder / name).unlink(missing_ok=True)
