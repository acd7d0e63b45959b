"""A persistent cache of embedding vectors: a vector is computed once per text and model.

Why: embedding is the slow part of indexing (about 450 short texts/s on 2 cores), and most documents do not change
between `catalog index` runs, nor when an index is rebuilt (a new HNSW graph, a recovered snapshot). Keying by
sha256(model id + text) makes the cache correct without invalidation: changed text or another model is another key.

Why SQLite in WAL mode: one file under CATALOG_HOME, safe for a web worker embedding queries while `catalog index`
writes, and a blob of 384 float32 values per row (1.5 kB) keeps even a million vectors at a manageable size.

Why 16 KiB pages (PAGE_SIZE): the table is WITHOUT ROWID (rows clustered by key), and an index-format B-tree keeps
at most about a quarter of a page of a row inline. With SQLite's default 4 KiB pages each 1.6 kB row spilled
~600 bytes into an overflow page of its own: 4.7 kB on disk per vector, 4.6 GB at 1M columns (bench/search_http.py).
With 16 KiB pages a row fits inline: 1.9 kB per vector, and lookups read half the pages. The page size is fixed
when the file is created; a cache made with 4 KiB pages still works, only larger (delete it to rebuild it smaller,
at the cost of embedding every text again).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from annotator.embed import Embedder

_CHUNK = 2000  # keys per lookup (passed as one JSON array, so no statement is built from strings)
PAGE_SIZE = 16384  # bytes per SQLite page of a new cache file (see the module docstring)
_STORE_EVERY = 1024  # texts embedded between two cache writes (about 2 s of work on 2 cores)


def text_key(model_id: str, text: str) -> str:
    """The cache key of `text` embedded by `model_id`: sha256 hex of model_id + NUL + text."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()


def default_cache_path(home: Path) -> Path:
    """Where the catalog keeps its vector cache under CATALOG_HOME."""
    return home / "search" / "vectors.sqlite"


class VectorCache:
    """Vectors by text key in one SQLite file (e.g. CATALOG_HOME/search/vectors.sqlite, WAL).

    A vector whose stored size does not match `dimension` is treated as missing, so a cache shared by models of
    different sizes never returns a wrong-shaped vector. One connection is shared by threads behind a lock.
    """

    def __init__(self, path: Path, dimension: int) -> None:
        self.path = Path(path)
        self.dimension = dimension
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only takes effect on a new, empty file
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL) "
                           "WITHOUT ROWID")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `keys` (float32, shape (dimension,)); missing keys are absent from the result."""
        found: dict[str, np.ndarray] = {}
        size = self.dimension * 4
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start:start + _CHUNK]
                rows = self._conn.execute("SELECT key, vector FROM vectors WHERE key IN "
                                          "(SELECT value FROM json_each(?))", (json.dumps(chunk),))
                for key, blob in rows:
                    if len(blob) == size:
                        found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, items: Mapping[str, np.ndarray]) -> None:
        """Store vectors by key in one transaction (replacing any stored under the same key)."""
        if not items:
            return
        rows = []
        for key, vector in items.items():
            array = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
            if array.shape[0] != self.dimension:
                raise ValueError(f"vector for {key} has {array.shape[0]} values, the cache holds {self.dimension}")
            rows.append((key, array.tobytes()))
        with self._transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def embed_cached(embedder: Embedder, cache: VectorCache, texts: Sequence[str]) -> tuple[np.ndarray, int]:
    """Vectors of `texts` in input order, and how many were computed (cache misses).

    Duplicate texts are looked up and computed once; computed vectors are stored every `_STORE_EVERY` texts, so an
    interrupted indexing run keeps what it already paid for.
    """
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32), 0
    keys = [text_key(embedder.model_id, text) for text in texts]
    found = cache.get_many(keys)
    missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
    pending = list(missing.items())
    for start in range(0, len(pending), _STORE_EVERY):
        chunk = pending[start:start + _STORE_EVERY]
        computed = embedder.embed([text for _, text in chunk])
        fresh = {key: vector for (key, _), vector in zip(chunk, computed, strict=True)}
        cache.put_many(fresh)
        found.update(fresh)
    return np.stack([found[key] for key in keys]).astype(np.float32, copy=False), len(missing)
