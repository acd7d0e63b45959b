"""The client's local, content-addressed cache of version files.

`objects/<sha[:2]>/<sha>.parquet` holds a version's bytes under their sha256, written only after the bytes were
hashed and matched; `<sha>.ok` records the file's size, inode and modification time at that moment. A warm read
checks that record (a changed file is re-fetched) and reads with Parquet page checksums on, so a damaged page
raises instead of returning wrong rows; the client then drops the entry and fetches again. Re-hashing a gigabyte
on every read would cost more than reading it.

`refs/<catalog>.json` remembers which hash a pinned reference (`v3`, a hash prefix) resolved to, per catalog, so a
repeated `get` of a pinned version makes no network call at all. `latest` is never pinned: it is asked each time.

Bytes arrive through an `Incoming` entry: written into a temporary file in the cache folder through a shared
memory map, ideally read from the socket straight into the file's pages (`fill`), and hashed on a second thread
as they land (sha256 of a gigabyte is ~0.6 s of CPU, which inline would add to the download). The entry becomes
visible only in `commit`, after the size and the hash matched; anything else removes the temporary file.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DEFAULT_DIR = "~/.cache/catalog"
NOTIFY_STEP = 4 * 1024 * 1024  # the hashing thread wakes per 4 MiB arrived, not per 64 KiB network read
HASH_STEP = 8 * 1024 * 1024  # and hashes 8 MiB per call: few GIL hand-overs, the GIL is released while it hashes
FILL_STEP = 4 * 1024 * 1024  # the most `fill` asks a reader for at once (a socket hands over what it holds)


def default_cache_dir() -> Path:
    return Path(os.environ.get("CATALOG_CLIENT_CACHE") or DEFAULT_DIR).expanduser()


class CorruptDownload(Exception):
    """Bytes that do not hash to what the catalog said."""


class VersionCache:
    """Thread-safe enough for one process: writes go through temporary files and atomic renames."""

    def __init__(self, root: Path, catalog_key: str) -> None:
        self.root = root
        self.objects = root / "objects"
        self.refs_file = root / "refs" / f"{hashlib.sha256(catalog_key.encode()).hexdigest()[:16]}.json"
        self._lock = threading.Lock()

    # -- objects ------------------------------------------------------------------------------------------------
    def path_of(self, sha: str) -> Path:
        return self.objects / sha[:2] / f"{sha}.parquet"

    def _stamp_path(self, sha: str) -> Path:
        return self.objects / sha[:2] / f"{sha}.ok"

    @staticmethod
    def _stamp(path: Path) -> dict[str, int]:
        stat = path.stat()
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ino": stat.st_ino}

    def valid(self, sha: str) -> Path | None:
        """The cached file when it is exactly as it was when verified, else None (and the entry is dropped)."""
        path = self.path_of(sha)
        try:
            recorded = json.loads(self._stamp_path(sha).read_text())
            if recorded == self._stamp(path):
                return path
        except (OSError, ValueError):
            pass
        self.evict(sha)
        return None

    def evict(self, sha: str) -> None:
        for path in (self._stamp_path(sha), self.path_of(sha)):
            try:
                path.chmod(0o644)
                path.unlink()
            except OSError:
                pass

    def receive(self, sha: str, size: int) -> Incoming:
        """A temporary entry for `size` bytes that should hash to `sha` (use it in a `with` block)."""
        return Incoming(self, sha, size)

    def store(self, sha: str, chunks: Iterable[bytes], size: int) -> Path:
        """Write streamed bytes, hashing them; the entry appears only when the hash matches."""
        with self.receive(sha, size) as incoming:
            for chunk in chunks:
                incoming.write(chunk)
            incoming.finish()
            return incoming.commit()

    def _commit(self, partial: Path, sha: str) -> Path:
        """Make a verified temporary file the entry for `sha`: read-only, renamed atomically, then stamped."""
        target = self.path_of(sha)
        partial.chmod(0o444)
        os.replace(partial, target)
        self._stamp_path(sha).write_text(json.dumps(self._stamp(target)))
        return target

    # -- refs ---------------------------------------------------------------------------------------------------
    def _refs(self) -> dict[str, Any]:
        try:
            return json.loads(self.refs_file.read_text())
        except (OSError, ValueError):
            return {}

    def pinned(self, name: str, ref: str) -> dict[str, Any] | None:
        return self._refs().get(f"{name}@{ref}")

    def pin(self, name: str, refs: Iterable[str], meta: dict[str, Any]) -> None:
        with self._lock:
            known = self._refs()
            for ref in refs:
                known[f"{name}@{ref}"] = meta
            self.refs_file.parent.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=self.refs_file.parent, suffix=".part")
            with os.fdopen(handle, "w") as writer:
                json.dump(known, writer)
            os.replace(partial, self.refs_file)


class Incoming:
    """A version's bytes while they arrive, in a temporary file next to their entry.

    The file is allocated at its announced size and mapped shared, read-write. `fill` has a reader (a socket's
    `readinto`) put bytes straight into the file's pages: one copy, from the kernel's socket buffer to the page
    cache, and a Python call per few MiB instead of per 64 KiB. On the 2-core VM this made receiving a gigabyte
    about 3x cheaper than appending `write`s of the chunks an HTTP library hands over (each a fresh bytes
    object, then copied again by `os.write`). `write` remains for sources that only yield chunks.

    A second thread hashes what has arrived, reading the same map (page cache, no copy; queueing chunks instead
    would mean one GIL hand-over per chunk). `finish` checks the size and the hash, `commit` turns the file into
    the cache entry; leaving the `with` block without `commit` deletes it, so a partial file is never an entry.
    """

    def __init__(self, cache: VersionCache, sha: str, size: int) -> None:
        self.sha, self.size, self._cache = sha, size, cache
        self.arrived = 0
        self._ended = False
        self._verified = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._digest = hashlib.sha256()
        cache.path_of(sha).parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=cache.path_of(sha).parent, suffix=".part")
        self._fd = handle  # -1 once closed
        self._partial: Path | None = Path(name)
        self._map: mmap.mmap | None = None
        try:
            if size:
                # Blocks reserved up front: a full disk is an OSError here, never a SIGBUS while writing the map.
                os.posix_fallocate(handle, 0, size)
                self._map = mmap.mmap(handle, size, access=mmap.ACCESS_WRITE)
        except BaseException:
            self.close()
            raise
        self._hasher = threading.Thread(target=self._hash_arrivals, name="cache-hash", daemon=True)
        self._hasher.start()

    def __enter__(self) -> Incoming:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, chunk: bytes) -> None:
        """Append bytes; more than the announced size is a corrupt download, not a bigger file."""
        end = self.arrived + len(chunk)
        if end > self.size:
            raise CorruptDownload(f"the catalog sent more than the {self.size:,} bytes it announced")
        if chunk:
            self._writable()[self.arrived:end] = chunk
        self._advance(end)

    def fill(self, readinto: Callable[[memoryview], int | None]) -> None:
        """Have `readinto` (a socket's, a response's, a file's) put bytes straight into the file until the
        announced size or the end of the source. A source with more bytes than announced is a corrupt download;
        one with fewer is reported by `finish`."""
        while self.arrived < self.size:
            with memoryview(self._writable())[self.arrived:self.arrived + FILL_STEP] as window:
                count = readinto(window)
            if not count:
                return
            self._advance(self.arrived + count)
        with memoryview(bytearray(1)) as probe:
            if readinto(probe):
                raise CorruptDownload(f"the catalog sent more than the {self.size:,} bytes it announced")

    def _writable(self) -> mmap.mmap:
        if self._map is None or self._ended:
            raise RuntimeError("bytes written to a download that has ended")
        return self._map

    def _advance(self, end: int) -> None:
        """`end` bytes are in the file: wake the hashing thread (and any reader) once per `NOTIFY_STEP`."""
        crossed = end // NOTIFY_STEP != self.arrived // NOTIFY_STEP
        self.arrived = end
        if crossed:
            with self._changed:
                self._changed.notify_all()

    @property
    def partial_path(self) -> Path | None:
        """The temporary file the bytes land in (None once committed or discarded): a reader that waits with
        `wait_for` may map it and read what has arrived while the rest is still downloading."""
        return self._partial

    def wait_for(self, end: int) -> bool:
        """Block until the first `end` bytes have arrived (True) or the download ended short of them (False).
        Wakes with the hashing thread, once per `NOTIFY_STEP`, so a waiting reader costs the writer nothing."""
        arrived, _ended = self._wait_past(end)
        return arrived >= end

    def _wait_past(self, end: int) -> tuple[int, bool]:
        """Block until `end` bytes have arrived or the download ended; returns (arrived, ended)."""
        with self._changed:
            self._changed.wait_for(lambda: self.arrived >= end or self._ended)
            return self.arrived, self._ended

    def finish(self) -> None:
        """The download is over: wait for the hash, then check the size and the hash."""
        self._end()
        if self._error is not None:
            raise self._error
        if self.arrived != self.size:
            raise CorruptDownload(f"received {self.arrived:,} of the {self.size:,} bytes announced")
        if self._digest.hexdigest() != self.sha:
            raise CorruptDownload(f"downloaded bytes hash to {self._digest.hexdigest()[:12]}, not {self.sha[:12]}")
        self._verified = True

    def commit(self) -> Path:
        """Turn the verified file into the cache entry."""
        if not self._verified or self._partial is None:
            raise RuntimeError("commit before a successful finish")
        self._close_file()  # unmapped first: the stamp must see the file's final modification time
        partial, self._partial = self._partial, None
        return self._cache._commit(partial, self.sha)

    def close(self) -> None:
        """Stop the hashing thread, unmap, and delete the temporary file unless it was committed."""
        self._end()
        self._close_file()
        if self._partial is not None:
            self._partial.unlink(missing_ok=True)
            self._partial = None

    def _end(self) -> None:
        """No more bytes will come: let the hashing thread finish what has arrived, and wait for it."""
        with self._changed:
            self._ended = True
            self._changed.notify_all()
        if getattr(self, "_hasher", None) is not None and self._hasher is not threading.current_thread():
            self._hasher.join()

    def _close_file(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _hash_arrivals(self) -> None:
        """Hash what has arrived, in steps of `HASH_STEP`, until the download ends."""
        hashed = 0
        try:
            with memoryview(self._map if self._map is not None else b"") as data:
                while True:
                    arrived, ended = self._wait_past(hashed + HASH_STEP)
                    while hashed < arrived:
                        step = min(arrived, hashed + HASH_STEP)
                        self._digest.update(data[hashed:step])
                        hashed = step
                    if ended and hashed >= self.arrived:
                        return
        except BaseException as exc:  # reported by `finish`
            self._error = exc
