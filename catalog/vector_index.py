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

Why saves write deltas (see catalog/vector_files.py for the files): positions only ever get appended or tombstoned
between rebuilds, so a save writes the positions appended and tombstoned since the previous save (kilobytes to a few
MB) instead of the whole index (1.7 GB at 1M). A full snapshot is written instead when positions were renumbered (a
rebuild), when the deltas since the base would pass DELTA_SHARE of its positions or DELTA_MAX_POSITIONS, or past
MAX_DELTAS files: loading cost and search cost (below) then stay bounded, and compaction costs what every save
cost before.

Why an overlay: vectors loaded from deltas, and vectors added to an index whose main part must not change, go into
a small exact (flat) "overlay" index at the positions after the main one; searches ask both and merge by score. It
keeps loading cheap (no HNSW insertion at 6,000 vectors/s while loading), lets a memory-mapped base (read-only, it
cannot grow) take deltas, and lets `refresh` share the main index between the old and the new instance, so a web
worker that sees a delta saved elsewhere reads only that delta instead of the whole base. Its exact scan is bounded
by DELTA_MAX_POSITIONS (about 1 ms at 20,000 384-d vectors); past it the overlay is folded into the main index.

Why search deepens: results removed by tombstones or by the caller's `allowed` filter (visibility, facets) would
leave fewer than k; the search asks FAISS for more candidates (and a larger HNSW efSearch) until k allowed results
are found or the candidates run out; HNSW gives up deepening at MAX_HNSW_FETCH and then scans the allowed vectors
exactly, so a very selective filter still returns every allowed match, just more slowly: a predicate is then called
once per live id (about 0.1 s per million in Python). A caller that knows the allowed ids passes them as a set
instead, and a set too small to be found among MAX_HNSW_FETCH candidates is scanned exactly right away.

Concurrency: searching one instance from many threads is safe (FAISS releases the GIL). Mutations (upsert, remove)
must not run while the same instance is searched; a web worker instead gets a fresh instance (`refresh`, or `load`)
when `is_stale()` and swaps its reference. A refreshed instance shares the main FAISS index with the one it came
from; neither adds to it in place afterwards (their adds go to their own overlays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from catalog.errors import CatalogError
from catalog.vector_files import (
    Delta,
    State,
    chain_exists,
    chain_names,
    committed_number,
    deltas_extend,
    next_number,
    prune,
    read_deltas,
    read_manifest,
    read_newest,
    write_delta,
    write_snapshot,
    writer_lock,
)

HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 400
MAX_HNSW_FETCH = 1024
EXACT_SET_SIZE = 4096  # an allowed-id set this small is scanned exactly (a gather of a few MB) instead of searched
GATHER_LIMIT = 65_536  # an exact scan of this many positions gathers and multiplies (a few MB at most)
REBUILD_RATIO = 0.10
DELTA_SHARE = 0.10  # compact once the positions appended since the base pass this share of the base's positions
DELTA_MAX_POSITIONS = 20_000  # ... or this many: bounds the overlay scan (~1 ms) and the HNSW fold (~3 s)
MAX_DELTAS = 32  # ... or once this many delta files follow the base: bounds the files a load opens

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


def _flat_vectors(flat: Any, dimension: int) -> np.ndarray:
    """A zero-copy view of a flat index's vectors by position (valid while that index lives)."""
    total = flat.ntotal
    if total == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    return faiss.rev_swig_ptr(flat.get_xb(), total * dimension).reshape(total, dimension)


def _selected_search(flat: Any, q: np.ndarray, k: int, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact top k of a flat index among the given positions, through a bitmap selector (no gather)."""
    mask = np.zeros(flat.ntotal, dtype=bool)
    mask[positions] = True
    bitmap = np.packbits(mask, bitorder="little")
    selector = faiss.IDSelectorBitmap(mask.size, faiss.swig_ptr(bitmap))
    scores, found = flat.search(q, min(k, positions.size), params=faiss.SearchParameters(sel=selector))
    return scores[0], found[0]


def _merge(parts: Sequence[tuple[np.ndarray, np.ndarray]], count: int) -> tuple[np.ndarray, np.ndarray]:
    """The best `count` (score, position) pairs of several result lists, best first; empty slots (-1) last."""
    scores = np.concatenate([s for s, _ in parts])
    positions = np.concatenate([p for _, p in parts])
    scores = np.where(positions >= 0, scores, -np.inf)
    order = np.argsort(-scores, kind="stable")[:count]
    return scores[order], positions[order]


class VectorIndex:
    """A FAISS index of int64 ids (search_documents.id) -> normalised vectors, persisted as snapshots in a folder."""

    def __init__(self, folder: Path, dimension: int, *, hnsw_threshold: int | None = None) -> None:
        """An empty index; use `load` to start from the newest snapshot on disk."""
        self.read_only = False
        self.folder = Path(folder)
        self.dimension = dimension
        self.hnsw_threshold = HNSW_THRESHOLD if hnsw_threshold is None else hnsw_threshold
        self.kind = "flat"
        self._index: Any = _new_index("flat", dimension)  # the main index: positions 0 .. ntotal
        self._overlay: Any = None  # a flat index of the positions after the main index's (see the module docstring)
        self._main_shared = False  # mapped, or shared with a refreshed instance: never add to it in place
        self._labels = np.zeros(0, dtype=np.int64)
        self._positions: dict[int, int] = {}
        self.snapshot = 0  # the number of the newest file of the state this instance was loaded from or saved as
        self._dirty = False
        self._chain: list[int] = []  # that state's files: base number, then delta numbers
        self._base_total = 0  # positions in that base
        self._saved_total = 0  # positions at the last load or save: a delta appends the ones after
        self._tombstoned: list[int] = []  # positions before _saved_total tombstoned since then
        self._renumbered = False  # positions rebuilt since the last load or save: only a full snapshot says that

    @classmethod
    def load(cls, folder: Path, dimension: int, *, hnsw_threshold: int | None = None,
             read_only: bool = False) -> VectorIndex:
        """The state CURRENT names (else the newest consistent one on disk), or an empty index.

        `read_only=True` (for search workers) memory-maps the base: at 1M vectors it loads in milliseconds instead
        of seconds, and workers on one host share a single copy in the page cache; the instance then refuses upsert,
        remove and save.
        """
        result = cls(folder, dimension, hnsw_threshold=hnsw_threshold)
        found = read_newest(result.folder, mapped=read_only)
        result.read_only = read_only
        if found is None:
            return result
        if found.base.index.d != dimension:
            raise IndexMismatch(f"the vector index in {folder} holds {found.base.index.d}-dimension vectors, the "
                                f"embedding model gives {dimension}; rebuild the index")
        result._adopt(found, mapped=read_only)
        return result

    def _adopt(self, state: State, mapped: bool) -> None:
        """Take a loaded base as the main index and apply its deltas."""
        base = state.base
        self._index, self.kind, self._main_shared = base.index, str(base.meta.get("kind", "flat")), mapped
        self._labels = base.labels
        live = np.flatnonzero(self._labels >= 0)
        self._positions = dict(zip(self._labels[live].tolist(), live.tolist(), strict=True))
        self._base_total = int(base.index.ntotal)
        self._apply(state.deltas, state.chain)

    def _apply(self, deltas: Sequence[Delta], chain: list[int]) -> None:
        """Append the deltas' positions (vectors into the overlay) and tombstones, in order; then this instance is
        the saved state `chain`."""
        self._labels = np.concatenate([self._labels, *(d.labels for d in deltas)])
        for delta in deltas:
            for position in delta.tombstoned.tolist():
                id_ = int(self._labels[position])
                if id_ >= 0 and self._positions.get(id_) == position:
                    del self._positions[id_]
            self._labels[delta.tombstoned] = -1
            live = np.flatnonzero(delta.labels >= 0)
            self._positions.update(zip(delta.labels[live].tolist(), (live + delta.start).tolist(), strict=True))
            if delta.labels.size:
                self._overlay_add(delta.vectors)
        self._mark_saved(chain)

    def _mark_saved(self, chain: list[int]) -> None:
        self._chain, self.snapshot = chain, chain[-1]
        self._saved_total, self._tombstoned = self._total, []
        self._dirty = self._renumbered = False

    def refresh(self) -> VectorIndex:
        """A new instance at the committed state, reading only the new deltas when that state extends this one's.

        Why: after a delta save elsewhere, a web worker holding the base needs only the delta (milliseconds)
        instead of reloading the base (seconds at 1M when read into memory). The new instance shares this one's
        main FAISS index (never modified in place by either afterwards) and copies the small rest, so this one
        stays searchable meanwhile. Anything else (a compaction, unsaved changes here, a bad delta) is a `load`.
        """
        chain = read_manifest(self.folder)
        known = len(self._chain)
        if chain and known and not self._dirty and len(chain) > known and chain[:known] == self._chain:
            deltas = read_deltas(self.folder, chain, known)
            if deltas is not None and deltas_extend(deltas, self.snapshot, self._total, self.dimension):
                return self._extended(deltas, chain)
        return VectorIndex.load(self.folder, self.dimension, hnsw_threshold=self.hnsw_threshold,
                                read_only=self.read_only)

    def _extended(self, deltas: Sequence[Delta], chain: list[int]) -> VectorIndex:
        result = VectorIndex(self.folder, self.dimension, hnsw_threshold=self.hnsw_threshold)
        result.read_only, result.kind, result._base_total = self.read_only, self.kind, self._base_total
        self._main_shared = result._main_shared = True
        result._index, result._labels, result._positions = self._index, self._labels, self._positions.copy()
        if self._overlay is not None:
            result._overlay = faiss.clone_index(self._overlay)
        result._apply(deltas, chain)
        return result

    @property
    def size(self) -> int:
        """Number of live ids."""
        return len(self._positions)

    @property
    def _total(self) -> int:
        """Number of positions, live or tombstoned (main index plus overlay)."""
        return int(self._index.ntotal) + (int(self._overlay.ntotal) if self._overlay is not None else 0)

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
        start = self._total
        self._append(array)
        self._labels = np.concatenate([self._labels, id_array])
        self._positions.update(zip(id_array.tolist(), range(start, start + id_array.size), strict=True))
        self._dirty = True
        self._maybe_compact()

    def _append(self, vectors: np.ndarray) -> None:
        """Add vectors at the next positions: into the main index while nothing follows it and it is this
        instance's own, else into the overlay (folded into the main index once it passes DELTA_MAX_POSITIONS)."""
        if self._overlay is None and not self._main_shared:
            self._index.add(vectors)
            return
        self._overlay_add(vectors)
        if self._overlay.ntotal > DELTA_MAX_POSITIONS:
            self._fold()

    def _overlay_add(self, vectors: np.ndarray) -> None:
        if self._overlay is None:
            self._overlay = faiss.IndexFlatIP(self.dimension)
        self._overlay.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def _fold(self) -> None:
        """Move the overlay's vectors into the main index (positions unchanged), copying a shared main index first."""
        if self._overlay is None:
            return
        if self._main_shared:
            self._index, self._main_shared = faiss.clone_index(self._index), False
        if self._overlay.ntotal:
            self._index.add(_flat_vectors(self._overlay, self.dimension))
        self._overlay = None

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
            self._tombstoned.extend(pos for pos in positions if pos < self._saved_total)
        return len(positions)

    def _maybe_compact(self) -> None:
        total = self._total
        dead = total - self.size
        if dead > 0 and dead > REBUILD_RATIO * total:
            shrink_to_flat = self.kind == "hnsw" and self.size < self.hnsw_threshold // 2
            self._rebuild("flat" if shrink_to_flat else self.kind)

    def _main_flat(self) -> Any:
        """The flat index holding the main index's vectors (HNSW keeps them in its storage)."""
        return faiss.downcast_index(self._index.storage) if self.kind == "hnsw" else self._index

    def _vectors_at(self, positions: np.ndarray) -> np.ndarray:
        """A copy of the vectors at these positions, wherever they live (main index or overlay)."""
        main_total = int(self._index.ntotal)
        out = np.empty((positions.size, self.dimension), dtype=np.float32)
        in_main = positions < main_total
        out[in_main] = _flat_vectors(self._main_flat(), self.dimension)[positions[in_main]]
        if not in_main.all():
            out[~in_main] = _flat_vectors(self._overlay, self.dimension)[positions[~in_main] - main_total]
        return out

    def _rebuild(self, kind: str) -> None:
        """A fresh index of `kind` holding only the live vectors, from the stored ones (no re-embedding)."""
        live = np.flatnonzero(self._labels >= 0)
        vectors = self._vectors_at(live)
        index = _new_index(kind, self.dimension)
        if live.size:
            index.add(vectors)
        self._index, self.kind, self._overlay, self._main_shared = index, kind, None, False
        self._labels = self._labels[live]
        self._positions = dict(zip(self._labels.tolist(), range(live.size), strict=True))
        self._dirty = self._renumbered = True

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
        total = self._total
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
        """The best `fetch` positions of the main index and the overlay together."""
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, fetch))
            scores, positions = self._index.search(q, fetch, params=params)
        else:
            scores, positions = self._index.search(q, fetch)
        if self._overlay is None or self._overlay.ntotal == 0:
            return scores[0], positions[0]
        extra_scores, extra = self._overlay.search(q, min(fetch, self._overlay.ntotal))
        extra = np.where(extra[0] >= 0, extra[0] + self._index.ntotal, -1)
        return _merge([(scores[0], positions[0]), (extra_scores[0], extra)], fetch)

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
        if positions.size <= GATHER_LIMIT:
            scores = self._vectors_at(positions) @ q[0]
            top = np.argpartition(-scores, k - 1)[:k] if scores.size > k else np.arange(scores.size)
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(int(self._labels[positions[i]]), float(scores[i])) for i in top]
        main_total = int(self._index.ntotal)
        in_main = positions < main_total
        parts = [_selected_search(self._main_flat(), q, k, positions[in_main])] if in_main.any() else []
        if not in_main.all():
            scores, found = _selected_search(self._overlay, q, k, positions[~in_main] - main_total)
            parts.append((scores, np.where(found >= 0, found + main_total, -1)))
        scores, found = _merge(parts, k)
        return [(int(self._labels[p]), float(s)) for s, p in zip(scores, found, strict=True) if p >= 0]

    def save(self, *, full: bool = False) -> Path:
        """Commit the changes since the last load/save atomically: a delta file holding only them, or a full
        snapshot when a delta cannot say it or the deltas grew too large (see the module docstring), or always when
        `full`. Nothing is written when nothing changed. Returns the file written (or the newest one committed)."""
        self._check_writable()
        if self.kind == "flat" and self.size >= self.hnsw_threshold:  # e.g. the threshold was lowered since
            self._rebuild("hnsw")
        with writer_lock(self.folder):
            if not self._dirty and not full and chain_exists(self.folder, self._chain):
                return self.folder / chain_names(self._chain)[-1]
            number = next_number(self.folder, self.snapshot)
            path = self._write_delta(number) if not full and self._delta_fits() else self._write_full(number)
            prune(self.folder)
        return path

    def _delta_fits(self) -> bool:
        """A delta can carry this save: positions were only appended and tombstoned since the last save, the chain
        it extends is still on disk (another writer may have pruned it), and the deltas stay within bounds."""
        if self._renumbered or not self._chain or len(self._chain) > MAX_DELTAS:
            return False
        appended = self._total - self._base_total
        if appended > min(DELTA_SHARE * self._base_total, DELTA_MAX_POSITIONS):
            return False
        return chain_exists(self.folder, self._chain)

    def _write_delta(self, number: int) -> Path:
        start = self._saved_total
        path = write_delta(self.folder, self._chain, number, start, self._labels[start:],
                           self._vectors_at(np.arange(start, self._total)),
                           np.asarray(self._tombstoned, dtype=np.int64))
        self._mark_saved([*self._chain, number])
        return path

    def _write_full(self, number: int) -> Path:
        self._fold()
        meta = {"format": 1, "dimension": self.dimension, "kind": self.kind, "live": self.size}
        path = write_snapshot(self.folder, number, self._index, self._labels, meta)
        self._base_total = int(self._index.ntotal)
        self._mark_saved([number])
        return path

    def is_stale(self) -> bool:
        """True when a newer state was committed on disk (by another process) than the one this instance holds."""
        return committed_number(self.folder) > self.snapshot
