"""Files of the vector index: a base snapshot, append-only delta files and a CURRENT manifest, all written atomically.

Why a base plus deltas: a full snapshot at 1M 384-d vectors is 1.7 GB, so rewriting it to add 1,000 columns took
6.5 s. A save after a small change instead appends one delta file holding only the change; a full snapshot is
written again (compaction, decided by `catalog.vector_index`) once the deltas grow past a share of the base.

The files, all numbered from one sequence (a save takes the next number, whatever it writes):
- `index-NNNNNNNN.faiss`, a base: `[faiss index][labels: int64 x count][meta JSON][meta length: u64][magic]`. The
  FAISS index and its position -> id labels must never disagree, so both live in one file. FAISS reads its part
  from the start and ignores the trailer; the trailer is written last, so a file without the magic at its end, or
  whose size disagrees with the meta, is a torn write and is skipped.
- `delta-NNNNNNNN-base-BBBBBBBB.vec`, a delta on base B: `[labels of the positions it appends: int64 x count]
  [their vectors: float32 x count x dimension][positions it tombstones: int64 x tombstoned][meta][length][magic]`.
  Its meta names its `parent` (the number of the state it extends), `start` (its first position) and a CRC-32 of
  the body. Positions rather than ids are tombstoned: positions never change between compactions, and applying
  them is one array assignment. A delta is small and read whole; the checksum catches any damage.
- `CURRENT`, the manifest: the committed state's file names, one a line, base first then deltas in order (a
  single line, a base alone, is the format older versions wrote and is still read).

Why the write order (temp file, fsync, rename, fsync folder, then CURRENT the same way): a crash at any point
leaves either the previous CURRENT naming complete files, or a complete new file nobody names yet (found by the
fallback scan). Files are never modified in place (only created by rename and deleted), so a reader that
memory-maps a base keeps a valid view even after a writer prunes it. Readers follow CURRENT first; when a file it
names is missing or torn they fall back to the newest consistent state on disk: the highest-numbered file whose
chain of parents down to a base loads, so a half-written or damaged delta costs a fallback, never a half-applied
change. Writers hold an advisory lock on `.lock` so two `catalog index` processes never pick the same number or
delete each other's temp files. Pruning keeps the newest KEEP_SNAPSHOTS bases, CURRENT's base, and the deltas of
kept bases: nothing CURRENT names is ever deleted.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

MAGIC = b"CATVEC01"
DELTA_MAGIC = b"CATDEL01"
CURRENT = "CURRENT"
KEEP_SNAPSHOTS = 2
_NAME = re.compile(r"^index-(\d+)\.faiss$")
_DELTA_NAME = re.compile(r"^delta-(\d+)-base-(\d+)\.vec$")
_TRAILER = struct.Struct("<Q8s")
_BAD: set[tuple[str, int, int]] = set()  # (path, size, mtime_ns) of files that failed to load in this process
_UNUSABLE = (OSError, ValueError, KeyError, TypeError, RuntimeError)


@dataclass
class Snapshot:
    """One loaded base: its number, the FAISS index, and the id stored at every index position (-1 = removed)."""

    number: int
    index: Any
    labels: np.ndarray
    meta: dict[str, Any]


@dataclass
class Delta:
    """One loaded delta: ids and vectors appended at positions `start`.., and positions tombstoned before it."""

    number: int
    base: int
    parent: int
    start: int
    labels: np.ndarray
    vectors: np.ndarray
    tombstoned: np.ndarray


@dataclass
class State:
    """A consistent state: a base and the deltas that extend it, in order."""

    base: Snapshot
    deltas: list[Delta] = field(default_factory=list)

    @property
    def chain(self) -> list[int]:
        return [self.base.number, *(d.number for d in self.deltas)]

    @property
    def number(self) -> int:
        return self.chain[-1]


def snapshot_name(number: int) -> str:
    return f"index-{number:08d}.faiss"


def delta_name(number: int, base: int) -> str:
    return f"delta-{number:08d}-base-{base:08d}.vec"


def snapshot_number(name: str) -> int | None:
    match = _NAME.match(name)
    return int(match.group(1)) if match else None


def _parse_delta_name(name: str) -> tuple[int, int] | None:
    match = _DELTA_NAME.match(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def chain_names(chain: Sequence[int]) -> list[str]:
    """File names of a chain: its base, then its deltas (which carry the base's number in their names)."""
    return [snapshot_name(chain[0]), *(delta_name(number, chain[0]) for number in chain[1:])]


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder so that the names written or renamed in it survive a power loss)."""
    fd = os.open(path, os.O_RDONLY)
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


def _mark_bad(path: Path) -> None:
    mark = _file_mark(path)
    if mark is not None:
        _BAD.add(mark)


def _usable(path: Path) -> bool:
    """The file exists and has not failed to load in this process (as it is now: a rewrite clears the mark)."""
    mark = _file_mark(path)
    return mark is not None and mark not in _BAD


def _files_on_disk(folder: Path) -> dict[int, tuple[str, int | None]]:
    """number -> (file name, base number for a delta or None for a base) of every complete-named file."""
    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    found: dict[int, tuple[str, int | None]] = {}
    for name in names:
        base_number = snapshot_number(name)
        if base_number is not None:
            found[base_number] = (name, None)
        elif (delta := _parse_delta_name(name)) is not None:
            found[delta[0]] = (name, delta[1])
    return found


def read_manifest(folder: Path) -> list[int] | None:
    """The chain CURRENT names (base number first), or None when it is missing, unreadable or malformed."""
    try:
        lines = (folder / CURRENT).read_text().split()
    except (OSError, ValueError):  # ValueError: not text at all
        return None
    base = snapshot_number(lines[0]) if lines else None
    if base is None:
        return None
    chain = [base]
    for line in lines[1:]:
        delta = _parse_delta_name(line)
        if delta is None or delta[1] != base or delta[0] <= chain[-1]:
            return None
        chain.append(delta[0])
    return chain


def read_current(folder: Path) -> int | None:
    """The number of the newest file CURRENT names (the committed state), or None."""
    chain = read_manifest(folder)
    return chain[-1] if chain else None


def chain_exists(folder: Path, chain: Sequence[int]) -> bool:
    return bool(chain) and all((folder / name).exists() for name in chain_names(chain))


def committed_number(folder: Path) -> int:
    """The number a fresh `load` would most likely return, cheaply (one small read and a stat per file): CURRENT's
    newest when every file it names exists and has not failed to load in this process, else the newest file not
    known to be bad (a fallback load marks every newer file it could not use); 0 when there is none."""
    chain = read_manifest(folder)
    if chain and all(_usable(folder / name) for name in chain_names(chain)):
        return chain[-1]
    for number, (name, _) in sorted(_files_on_disk(folder).items(), reverse=True):
        if _usable(folder / name):
            return number
    return 0


def _read_trailer(handle: Any, size: int, magic: bytes) -> tuple[dict[str, Any], int]:
    """The meta JSON and its length, from the end of an open file; ValueError when the trailer is missing."""
    if size < _TRAILER.size:
        raise ValueError("too short")
    handle.seek(size - _TRAILER.size)
    meta_length, found = _TRAILER.unpack(handle.read(_TRAILER.size))
    if found != magic or meta_length > size - _TRAILER.size:
        raise ValueError("no trailer (torn write)")
    handle.seek(size - _TRAILER.size - meta_length)
    return json.loads(handle.read(meta_length)), meta_length


def _read_base(path: Path, mapped: bool) -> Snapshot:
    """Read and check one base file; raises ValueError (or OSError / RuntimeError from FAISS) when unusable.

    `mapped` memory-maps the vectors instead of reading them (FAISS's IO_FLAG_MMAP_IFC): loading takes milliseconds
    instead of seconds at 1M vectors and every process mapping the file shares one copy in the page cache, but the
    index must never be modified (FAISS aborts the process on a write to a mapped vector).
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        meta, meta_length = _read_trailer(handle, size, MAGIC)
    count, faiss_bytes = int(meta["count"]), int(meta["faiss_bytes"])
    if faiss_bytes + 8 * count + meta_length + _TRAILER.size != size:
        raise ValueError("size does not match the trailer")
    labels = np.fromfile(path, dtype=np.int64, count=count, offset=faiss_bytes)
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mapped else 0)
    if index.ntotal != count or index.d != int(meta["dimension"]):
        raise ValueError("index does not match its labels")
    return Snapshot(int(meta["snapshot"]), index, labels, meta)


def _read_delta(path: Path) -> Delta:
    """Read and check one delta file whole (it is small); raises ValueError and the like when unusable."""
    data = path.read_bytes()
    if len(data) < _TRAILER.size:
        raise ValueError("too short")
    meta_length, magic = _TRAILER.unpack_from(data, len(data) - _TRAILER.size)
    if magic != DELTA_MAGIC or meta_length > len(data) - _TRAILER.size:
        raise ValueError("no trailer (torn write)")
    body_end = len(data) - _TRAILER.size - meta_length
    meta = json.loads(data[body_end:len(data) - _TRAILER.size])
    count, dead, dimension = int(meta["count"]), int(meta["tombstoned"]), int(meta["dimension"])
    if 8 * count + 4 * count * dimension + 8 * dead != body_end:
        raise ValueError("size does not match the trailer")
    if zlib.crc32(memoryview(data)[:body_end]) != int(meta["crc32"]):
        raise ValueError("checksum mismatch")
    vectors_at = 8 * count
    tombstones_at = vectors_at + 4 * count * dimension
    start = int(meta["start"])
    tombstoned = np.frombuffer(data, dtype=np.int64, count=dead, offset=tombstones_at)
    if dead and (tombstoned.min() < 0 or tombstoned.max() >= start):
        raise ValueError("tombstones outside the positions before the delta")
    return Delta(int(meta["snapshot"]), int(meta["base"]), int(meta["parent"]), start,
                 np.frombuffer(data, dtype=np.int64, count=count),
                 np.frombuffer(data, dtype=np.float32, count=count * dimension, offset=vectors_at)
                 .reshape(count, dimension), tombstoned)


class _Reader:
    """Loads files for one `read_newest` call, each at most once, marking the ones that fail as bad."""

    def __init__(self, folder: Path, mapped: bool) -> None:
        self.folder, self.mapped = folder, mapped
        self.bases: dict[int, Snapshot | None] = {}
        self.deltas: dict[int, Delta | None] = {}

    def base(self, number: int) -> Snapshot | None:
        if number not in self.bases:
            self.bases[number] = self._try(snapshot_name(number), lambda p: _read_base(p, self.mapped))
        return self.bases[number]

    def delta(self, number: int, base: int) -> Delta | None:
        if number not in self.deltas:
            found = self._try(delta_name(number, base), _read_delta)
            ok = found is not None and found.number == number and found.base == base
            self.deltas[number] = found if ok else None
        return self.deltas[number]

    def _try(self, name: str, read: Any) -> Any:
        path = self.folder / name
        try:
            return read(path)
        except _UNUSABLE:
            _mark_bad(path)
            return None

    def state(self, chain: Sequence[int]) -> State | None:
        """The state of this chain when every file loads and each delta extends the one before it, else None."""
        deltas = [self.delta(number, chain[0]) for number in chain[1:]]
        if any(d is None for d in deltas):  # deltas first: they are small, the base may take seconds
            return None
        base = self.base(chain[0])
        if base is None:
            return None
        state = State(base, [d for d in deltas if d is not None])
        return state if deltas_extend(state.deltas, base.number, base.labels.size, base.index.d) else None


def deltas_extend(deltas: Sequence[Delta], parent: int, total: int, dimension: int) -> bool:
    """True when each delta extends the state before it: `parent` number, `total` positions, vector size."""
    for delta in deltas:
        if delta.parent != parent or delta.start != total or delta.vectors.shape[1:] != (dimension,):
            return False
        parent, total = delta.number, total + delta.labels.size
    return True


def read_newest(folder: Path, mapped: bool = False) -> State | None:
    """The state CURRENT names if all of it loads, else the newest consistent state on disk; None when none is."""
    reader = _Reader(folder, mapped)
    chain = read_manifest(folder)
    if chain:
        state = reader.state(chain)
        if state is not None:
            return state
    return _newest_consistent(reader, _files_on_disk(folder))


def _newest_consistent(reader: _Reader, files: dict[int, tuple[str, int | None]]) -> State | None:
    """The highest-numbered file whose chain of parents down to a base loads; every newer file is marked bad so
    that `committed_number` agrees with what a load returns (else readers would reload on every request)."""
    for head in sorted(files, reverse=True):
        chain = _chain_to(reader, files, head)
        state = reader.state(chain) if chain else None
        if state is not None:
            for number, (name, _) in files.items():
                if number > head:
                    _mark_bad(reader.folder / name)
            return state
    for name, _ in files.values():
        _mark_bad(reader.folder / name)
    return None


def _chain_to(reader: _Reader, files: dict[int, tuple[str, int | None]], head: int) -> list[int] | None:
    """The chain ending at file `head`, following each delta's parent down to its base; None when a link is lost."""
    chain = [head]
    while (base := files[chain[-1]][1]) is not None:
        delta = reader.delta(chain[-1], base)
        if delta is None or delta.parent >= chain[-1] or delta.parent not in files:
            return None
        parent_base = files[delta.parent][1]
        if delta.parent != base and parent_base != base:
            return None
        chain.append(delta.parent)
    return chain[::-1]


def read_deltas(folder: Path, chain: Sequence[int], known: int) -> list[Delta] | None:
    """The deltas of `chain` after its first `known` files, or None when one is missing or unusable."""
    reader = _Reader(folder, mapped=False)
    found = [reader.delta(number, chain[0]) for number in chain[known:]]
    return None if any(d is None for d in found) else [d for d in found if d is not None]


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
    """A number above every file on disk and above the one this process loaded (call under the lock)."""
    return max([loaded, read_current(folder) or 0, *_files_on_disk(folder)]) + 1


def _finish(handle: Any, temp: Path, final: Path, body: bytes, magic: bytes) -> None:
    """Append meta and trailer, fsync, and rename into place: the file appears complete or not at all."""
    handle.write(body)
    handle.write(_TRAILER.pack(len(body), magic))
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(temp, final)
    fsync_path(final.parent)


def write_snapshot(folder: Path, number: int, index: Any, labels: np.ndarray, meta: dict[str, Any]) -> Path:
    """Write base `number` atomically and point CURRENT at it alone (call under `writer_lock`)."""
    final = folder / snapshot_name(number)
    temp = folder / f".{final.name}.{os.getpid()}.tmp"
    try:
        faiss.write_index(index, str(temp))
        faiss_bytes = temp.stat().st_size
        body = json.dumps({**meta, "snapshot": number, "count": int(labels.shape[0]),
                           "faiss_bytes": faiss_bytes}).encode()
        with temp.open("ab") as handle:
            handle.write(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
            _finish(handle, temp, final, body, MAGIC)
    finally:
        temp.unlink(missing_ok=True)
    write_current(folder, [number])
    return final


def write_delta(folder: Path, chain: Sequence[int], number: int, start: int, labels: np.ndarray,
                vectors: np.ndarray, tombstoned: np.ndarray) -> Path:
    """Write delta `number` extending `chain` atomically, then point CURRENT at the chain plus it (under the lock)."""
    final = folder / delta_name(number, chain[0])
    temp = folder / f".{final.name}.{os.getpid()}.tmp"
    parts = [np.ascontiguousarray(labels, dtype=np.int64).tobytes(),
             np.ascontiguousarray(vectors, dtype=np.float32).tobytes(),
             np.ascontiguousarray(tombstoned, dtype=np.int64).tobytes()]
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    body = json.dumps({"format": 1, "snapshot": number, "base": chain[0], "parent": chain[-1], "start": start,
                       "count": int(labels.shape[0]), "tombstoned": int(tombstoned.shape[0]),
                       "dimension": int(vectors.shape[1]), "crc32": crc}).encode()
    try:
        with temp.open("wb") as handle:
            for part in parts:
                handle.write(part)
            _finish(handle, temp, final, body, DELTA_MAGIC)
    finally:
        temp.unlink(missing_ok=True)
    write_current(folder, [*chain, number])
    return final


def write_current(folder: Path, chain: Sequence[int]) -> None:
    """Point CURRENT at `chain` atomically: the commit point of a save."""
    temp = folder / f".{CURRENT}.{os.getpid()}.tmp"
    with temp.open("w") as handle:
        handle.write("".join(name + "\n" for name in chain_names(chain)))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, folder / CURRENT)
    fsync_path(folder)


def prune(folder: Path, keep: int = KEEP_SNAPSHOTS) -> None:
    """Delete bases beyond the newest `keep` (never CURRENT's), deltas of deleted bases, and temp files of crashed
    writers (call under `writer_lock`)."""
    chain = read_manifest(folder) or []
    files = _files_on_disk(folder)
    bases = sorted((number for number, (_, base) in files.items() if base is None), reverse=True)
    kept = set(bases[:keep]) | set(chain[:1])
    for number, (name, base) in files.items():
        if (number if base is None else base) not in kept:
            (folder / name).unlink(missing_ok=True)
    for name in os.listdir(folder):
        if name.startswith(".") and name.endswith(".tmp"):
            (folder / name).unlink(missing_ok=True)
