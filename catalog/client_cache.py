"""The client's local, content-addressed cache of version files.

`objects/<sha[:2]>/<sha>.parquet` holds a version's bytes under their sha256, written only after the bytes were
hashed and matched; `<sha>.ok` records the file's size, inode and modification time at that moment. A warm read
checks that record (a changed file is re-fetched) and reads with Parquet page checksums on, so a damaged page
raises instead of returning wrong rows; the client then drops the entry and fetches again. Re-hashing a gigabyte
on every read would cost more than reading it.

`refs/<catalog>.json` remembers which hash a pinned reference (`v3`, a hash prefix) resolved to, per catalog, so a
repeated `get` of a pinned version makes no network call at all. `latest` is never pinned: it is asked each time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DEFAULT_DIR = "~/.cache/catalog"


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

    def store(self, sha: str, chunks: Iterable[bytes]) -> Path:
        """Write streamed bytes, hashing them; the entry appears only when the hash matches."""
        target = self.path_of(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        handle, partial_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
        partial = Path(partial_name)
        try:
            with os.fdopen(handle, "wb") as writer:
                for chunk in chunks:
                    digest.update(chunk)
                    writer.write(chunk)
            if digest.hexdigest() != sha:
                raise CorruptDownload(f"downloaded bytes hash to {digest.hexdigest()[:12]}, not {sha[:12]}")
            partial.chmod(0o444)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
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
