"""The vector side of hybrid search: a FAISS index of search-document ids -> normalised vectors, kept as snapshots.

Why exact search below HNSW_THRESHOLD and HNSW above (measured on the 2-core machine, 384-d MiniLM-derived vectors,
other processes sharing the cores; see bench/search_latency.py): an exact inner-product scan costs about 4.5 ms per
query at 50,000 vectors and grows linearly (16 ms at 200,000, 42 ms p50 / 51 ms p95 at 1M), while HNSW (M=32,
efConstruction=80, efSearch=400) answers in 0.8 ms p50 / 1.2 ms p95 at 1M with recall@10 0.97 against the exact
scan. Below 50,000 the exact scan has perfect recall, needs no build and updates for free, and stays under 5 ms even
when a few requests share the two cores; HNSW costs about 6,000 vectors/s to build (8 s at 50,000, 3 minutes at 1M)
and answers approximately. IVF was not chosen: it needs training on the data and retraining as the catalog drifts,
and its recall depends on nprobe tuning per size. efSearch=400 rather than FAISS's default 16: at 1M recall@10 was
0.92 at 128, 0.94 at 200, 0.97 at 400 for under a millisecond more, and the query embedding (10-15 ms) dominates.

Why tombstones: FAISS HNSW cannot remove vectors. A removed or re-embedded id keeps its old position marked -1 in
`labels`; searches skip such positions, and the index is compacted (rebuilt from its own stored vectors, no
re-embedding) once tombstones pass REBUILD_RATIO of the positions. FAISS numbers vectors by insertion position, so
`labels[position]` is the id and a dict maps each live id to its position.

Why search deepens: results removed by tombstones or by the caller's `allowed` filter (visibility, facets) would
leave fewer than k; the search asks FAISS for more candidates (and a larger HNSW efSearch) until k allowed results
are found or the candidates run out; HNSW gives up deepening at MAX_HNSW_FETCH and then scans the allowed vectors
exactly, so a very selective filter still returns every allowed match, just more slowly: a predicate is then called
once per live id (about 0.1 s per million in Python). A caller that knows the allowed ids passes them as a set
instead, and a set too small to be found among MAX_HNSW_FETCH candidates is scanned exactly right away.

Concurrency: searching one instance from many threads is safe (FAISS releases the GIL). Mutations (upsert, remove)
must not run while the same instance is searched; a web worker instead loads a fresh instance when `is_stale()`
and swaps its reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from catalog.errors import CatalogError
from catalog.vector_files import (
    committed_number,
    next_number,
    prune,
    read_newest,
    snapshot_name,
    write_snapshot,
    writer_lock,
)

HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 400
MAX_HNSW_FETCH = 1024
EXACT_SET_SIZE = 4096  # an allowed-id set this small is scanned exactly (a gather of a few MB) instead of searched
REBUILD_RATIO = 0.10

Allowed = Callable[[int], bool] | AbstractSet[int] | None


class IndexMismatch(CatalogError):
    """The snapshot on disk was built for another vector size (another embedding model): rebuild the index."""


def default_index_folder(home: Path) -> Path:
    """Where the catalog keeps its index snapshots under CATALOG_HOME."""
    return home / "search" / "faiss"


def _new_index(kind: str, dimension: int) -> Any:
    if kind == "flat":
        return faiss.IndexFlatIP(dimension)
    index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def _normalised(vectors: np.ndarray, dimension: int) -> np.ndarray:
    array = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
    if array.ndim != 2 or array.shape[1] != dimension:
        raise ValueError(f"vectors must have shape (n, {dimension}), got {np.shape(vectors)}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    np.divide(array, norms, out=array, where=norms > 0)
    return array


class VectorIndex:
    """A FAISS index of int64 ids (search_documents.id) -> normalised vectors, persisted as snapshots in a folder."""

    def __init__(self, folder: Path, dimension: int, *, hnsw_threshold: int | None = None) -> None:
        """An empty index; use `load` to start from the newest snapshot on disk."""
        self.read_only = False
        self.folder = Path(folder)
        self.dimension = dimension
        self.hnsw_threshold = HNSW_THRESHOLD if hnsw_threshold is None else hnsw_threshold
        self.kind = "flat"
        self._index: Any = _new_index("flat", dimension)
        self._labels = np.zeros(0, dtype=np.int64)
        self._positions: dict[int, int] = {}
        self.snapshot = 0
        self._dirty = False

    @classmethod
    def load(cls, folder: Path, dimension: int, *, hnsw_threshold: int | None = None,
             read_only: bool = False) -> VectorIndex:
        """The newest complete snapshot in `folder` (CURRENT first, then newest valid file), or an empty index.

        `read_only=True` (for search workers) memory-maps the snapshot: at 1M vectors it loads in milliseconds instead
        of seconds, and workers on one host share a single copy in the page cache; the instance then refuses upsert,
        remove and save.
        """
        result = cls(folder, dimension, hnsw_threshold=hnsw_threshold)
        found = read_newest(result.folder, mapped=read_only)
        result.read_only = read_only
        if found is None:
            return result
        if found.index.d != dimension:
            raise IndexMismatch(f"the vector index in {folder} holds {found.index.d}-dimension vectors, the embedding "
                                f"model gives {dimension}; rebuild the index")
        result._index, result._labels, result.snapshot = found.index, found.labels, found.number
        result.kind = str(found.meta.get("kind", "flat"))
        live = np.flatnonzero(found.labels >= 0)
        result._positions = dict(zip(found.labels[live].tolist(), live.tolist(), strict=True))
        return result

    @property
    def size(self) -> int:
        """Number of live ids."""
        return len(self._positions)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._positions

    def ids(self) -> np.ndarray:
        """The live ids, sorted (so a caller can diff them against its documents)."""
        return np.sort(np.fromiter(self._positions.keys(), dtype=np.int64, count=len(self._positions)))

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors by id; an existing id's old vector is replaced (tombstoned). Duplicate ids: the last wins."""
        self._check_writable()
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        array = _normalised(vectors, self.dimension)
        if array.shape[0] != id_array.shape[0]:
            raise ValueError(f"{id_array.shape[0]} ids but {array.shape[0]} vectors")
        if id_array.size == 0:
            return
        if id_array.min() < 0:
            raise ValueError("ids must be >= 0")
        _, last = np.unique(id_array[::-1], return_index=True)
        keep = np.sort(id_array.size - 1 - last)
        id_array, array = id_array[keep], array[keep]
        self._tombstone(id_array.tolist())
        if self.kind == "flat" and self.size + id_array.size >= self.hnsw_threshold:
            self._rebuild("hnsw")
        start = self._index.ntotal
        self._index.add(array)
        self._labels = np.concatenate([self._labels, id_array])
        self._positions.update(zip(id_array.tolist(), range(start, start + id_array.size), strict=True))
        self._dirty = True
        self._maybe_compact()

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids (unknown ids are ignored)."""
        self._check_writable()
        if self._tombstone([int(id_) for id_ in ids]):
            self._dirty = True
            self._maybe_compact()

    def _check_writable(self) -> None:
        if self.read_only:
            raise CatalogError(f"the vector index in {self.folder} was loaded read-only (memory-mapped) for searching; "
                               "load it with read_only=False to change it")

    def _tombstone(self, ids: list[int]) -> int:
        positions = [pos for pos in (self._positions.pop(id_, None) for id_ in ids) if pos is not None]
        if positions:
            self._labels[np.asarray(positions, dtype=np.int64)] = -1
        return len(positions)

    def _maybe_compact(self) -> None:
        dead = self._index.ntotal - self.size
        if dead > 0 and dead > REBUILD_RATIO * self._index.ntotal:
            shrink_to_flat = self.kind == "hnsw" and self.size < self.hnsw_threshold // 2
            self._rebuild("flat" if shrink_to_flat else self.kind)

    def _stored_vectors(self) -> np.ndarray:
        """A zero-copy view of every stored vector by position (valid while the current FAISS index lives)."""
        flat = faiss.downcast_index(self._index.storage) if self.kind == "hnsw" else self._index
        total = flat.ntotal
        if total == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return faiss.rev_swig_ptr(flat.get_xb(), total * self.dimension).reshape(total, self.dimension)

    def _rebuild(self, kind: str) -> None:
        """A fresh index of `kind` holding only the live vectors, from the stored ones (no re-embedding)."""
        live = np.flatnonzero(self._labels >= 0)
        vectors = self._stored_vectors()[live]
        index = _new_index(kind, self.dimension)
        if live.size:
            index.add(vectors)
        self._index, self.kind = index, kind
        self._labels = self._labels[live]
        self._positions = dict(zip(self._labels.tolist(), range(live.size), strict=True))
        self._dirty = True

    def search(self, query: np.ndarray, k: int, allowed: Allowed = None) -> list[tuple[int, float]]:
        """The k best (id, cosine score) pairs, best first, among the ids `allowed` accepts (all when None).

        `allowed` is a predicate on ids, or a set of ids: a small set is scanned exactly right away instead of
        searching the whole index for the few candidates it lets through.
        """
        if k <= 0 or self.size == 0:
            return []
        q = _normalised(query, self.dimension)[:1]
        if isinstance(allowed, AbstractSet) and len(allowed) <= max(EXACT_SET_SIZE, k * self.size // MAX_HNSW_FETCH):
            return self._exact_among(q, k, self._positions_of(allowed))
        test = allowed.__contains__ if isinstance(allowed, AbstractSet) else allowed
        total = self._index.ntotal
        fetch = min(total, k if self.size == total and test is None else max(2 * k, 32))
        while True:
            scores, positions = self._raw_search(q, fetch)
            found = self._collect(scores, positions, k, test)
            if len(found) >= k or fetch >= total:
                return found
            if self.kind == "hnsw" and fetch >= MAX_HNSW_FETCH:
                return self._exact_among(q, k, self._positions_passing(test))
            fetch = min(total, fetch * 4, MAX_HNSW_FETCH if self.kind == "hnsw" else total)

    def _raw_search(self, q: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, fetch))
            scores, positions = self._index.search(q, fetch, params=params)
        else:
            scores, positions = self._index.search(q, fetch)
        return scores[0], positions[0]

    def _collect(self, scores: np.ndarray, positions: np.ndarray, k: int,
                 test: Callable[[int], bool] | None) -> list[tuple[int, float]]:
        valid = positions >= 0
        ids = self._labels[positions[valid]]
        found: list[tuple[int, float]] = []
        for id_, score in zip(ids.tolist(), scores[valid].tolist(), strict=True):
            if id_ >= 0 and (test is None or test(id_)):
                found.append((id_, score))
                if len(found) == k:
                    break
        return found

    def _positions_of(self, ids: AbstractSet[int]) -> np.ndarray:
        found = (self._positions.get(id_) for id_ in ids)
        return np.fromiter((pos for pos in found if pos is not None), dtype=np.int64)

    def _positions_passing(self, test: Callable[[int], bool] | None) -> np.ndarray:
        live = np.flatnonzero(self._labels >= 0)
        if test is None:
            return live
        return live[np.fromiter(map(test, self._labels[live].tolist()), dtype=bool, count=live.size)]

    def _exact_among(self, q: np.ndarray, k: int, positions: np.ndarray) -> list[tuple[int, float]]:
        """Exact top k among the given positions: the answer for filters too selective for HNSW candidates."""
        if positions.size == 0:
            return []
        if positions.size <= 65_536:  # gather and multiply: a few MB at most
            scores = self._stored_vectors()[positions] @ q[0]
            top = np.argpartition(-scores, k - 1)[:k] if scores.size > k else np.arange(scores.size)
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(int(self._labels[positions[i]]), float(scores[i])) for i in top]
        mask = np.zeros(self._index.ntotal, dtype=bool)
        mask[positions] = True
        bitmap = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(mask.size, faiss.swig_ptr(bitmap))
        flat = faiss.downcast_index(self._index.storage) if self.kind == "hnsw" else self._index
        scores, found = flat.search(q, k, params=faiss.SearchParameters(sel=selector))
        return [(int(self._labels[p]), float(s)) for s, p in zip(scores[0], found[0], strict=True) if p >= 0]

    def save(self) -> Path:
        """Write a new snapshot atomically (nothing is written when nothing changed since the last load/save)."""
        self._check_writable()
        if self.kind == "flat" and self.size >= self.hnsw_threshold:  # e.g. the threshold was lowered since
            self._rebuild("hnsw")
        with writer_lock(self.folder):
            current = self.folder / snapshot_name(self.snapshot)
            if not self._dirty and self.snapshot and current.exists():
                return current
            number = next_number(self.folder, self.snapshot)
            meta = {"format": 1, "dimension": self.dimension, "kind": self.kind, "live": self.size}
            path = write_snapshot(self.folder, number, self._index, self._labels, meta)
            self.snapshot, self._dirty = number, False
            prune(self.folder)
        return path

    def is_stale(self) -> bool:
        """True when a newer snapshot was committed on disk (by another process) than the one this instance holds."""
        return committed_number(self.folder) > self.snapshot
