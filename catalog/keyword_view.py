"""What a snapshot search scores against: the current snapshot minus the documents changed since it was built,
plus those documents as they are now, with the corpus statistics FTS5 itself would use.

Why changed documents are read back instead of waiting for the next snapshot: a search must never return a removed
document nor miss an upserted one. The writer records every id it upserts or removes after a snapshot in the
`changed` table, in the same transaction as the change, with an increasing sequence number; a reader notices a new
sequence (or a new generation) with one `meta` read per search, and then reads only the rows it has not seen, in one
read transaction so that generation, changed ids and their text agree.

Why the statistics are exact rather than the snapshot's: FTS5's bm25 uses the number of rows, the average length
and each term's document count of the table as it is *now*. All three follow from the snapshot's numbers minus the
excluded documents plus the changed ones, so results equal the FTS5 path's at any moment, not only right after a
rebuild (no drift to document, at the price of counting each query term's excluded postings once per view).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from catalog.keyword_bm25 import Scratch, term_parts
from catalog.keyword_snapshot import Snapshot, SnapshotError, document_terms, load

log = logging.getLogger(__name__)

_EMPTY = (np.zeros(0, np.int32), np.zeros(0, np.float64))


@dataclass(frozen=True)
class Segment:
    """Documents at positions 0..size-1 (ids ascending); each term's (positions, keys), where `part(keys)` is
    the BM25 per-posting part f * (k1 + 1) / (f + k1 * (1 - b + b * D / avgdl)) at the view's avgdl (a table
    lookup by pair code for the snapshot, the precomputed values themselves for changed documents); and, for the
    snapshot, which positions no longer count."""

    ids: np.ndarray
    part: Callable[[np.ndarray], np.ndarray]
    postings: Callable[[str], tuple[np.ndarray, np.ndarray]]
    excluded: np.ndarray | None = None  # bool per position
    excluded_positions: np.ndarray | None = None  # the same, as ascending positions

    @property
    def size(self) -> int:
        return len(self.ids)


@dataclass
class View:
    """An immutable moment of the index as seen through the snapshot; searches share it between threads."""

    generation: int
    sequence: int
    documents: int  # rows of the FTS5 table now
    avgdl: float  # its average length in tokens now
    segments: tuple[Segment, ...]
    _hits: dict[str, int] = field(default_factory=dict, repr=False)

    def hits(self, term: str) -> int:
        """How many documents hold `term` now (FTS5's nHit): the snapshot's minus the excluded, plus the changed."""
        found = self._hits.get(term)
        if found is None:
            found = 0
            for segment in self.segments:
                positions, _ = segment.postings(term)
                found += len(positions)
                excluded = segment.excluded_positions
                if excluded is None or not len(positions):
                    continue
                if len(excluded) < len(positions):
                    where = np.searchsorted(positions, excluded).clip(0, len(positions) - 1)
                    found -= int(np.count_nonzero(positions[where] == excluded))
                else:
                    found -= int(np.count_nonzero(segment.excluded[positions]))
            if len(self._hits) > 65536:
                self._hits.clear()
            self._hits[term] = found
        return found


class _Changed:
    """The documents changed since the snapshot, as read so far: their current terms (absent when removed) and
    which snapshot positions they hide. Mutated only under `SnapshotReader`'s lock; views copy what they keep."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.sequence = 0
        self.vocabulary: dict[str, int] = {}
        self.documents: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}
        self.excluded = np.zeros(snapshot.size, dtype=bool)
        self.excluded_positions = np.zeros(0, dtype=np.int64)
        self.excluded_count = 0
        self.excluded_length = 0
        self.length = 0  # sum of the changed documents' current lengths

    def apply(self, rows: list[tuple[int, str | None, str | None]], weight: float) -> None:
        lookup = self._term_id
        for doc_id, name, text in rows:
            old = self.documents.pop(doc_id, None)
            if old is not None:
                self.length -= old[2]
            if name is None and text is None:
                continue  # removed
            terms, freqs, length = document_terms(name or "", text or "", weight, lookup)
            self.documents[doc_id] = (np.array(terms, np.int32), np.array(freqs, np.float64), length)
            self.length += length
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        if self.snapshot.size and len(ids):
            positions = np.searchsorted(self.snapshot.ids, ids)
            inside = positions < self.snapshot.size
            positions, ids = positions[inside], ids[inside]
            positions = positions[self.snapshot.ids[positions] == ids]  # ids the snapshot holds
            fresh = np.unique(positions[~self.excluded[positions]])
            if len(fresh):
                self.excluded = self.excluded.copy()  # views built earlier keep the mask they were built with
                self.excluded[fresh] = True
                self.excluded_positions = np.union1d(self.excluded_positions, fresh)
                self.excluded_count += len(fresh)
                self.excluded_length += int(self.snapshot.lengths[fresh].sum(dtype=np.int64))

    def _term_id(self, term: str) -> int:
        return self.vocabulary.setdefault(term, len(self.vocabulary))

    def view(self, generation: int, sequence: int) -> View:
        documents = self.snapshot.size - self.excluded_count + len(self.documents)
        total = self.snapshot.total - self.excluded_length + self.length
        avgdl = total / documents if documents else 1.0
        snapshot = self.snapshot
        excluded = (self.excluded, self.excluded_positions) if self.excluded_count else (None, None)
        table = term_parts(snapshot.pair_freqs, snapshot.pair_lengths, avgdl)
        base = Segment(snapshot.ids, table.take, snapshot.term, *excluded)
        return View(generation, sequence, documents, avgdl, (base, self._segment(avgdl)))

    def _segment(self, avgdl: float) -> Segment:
        """The changed documents as a small segment with its own postings (rebuilt per view: their count is
        bounded by the rebuild threshold, and only numpy work is proportional to it)."""
        if not self.documents:
            return Segment(np.zeros(0, np.int64), _same, lambda term: _EMPTY)
        ids = np.array(sorted(self.documents), dtype=np.int64)
        parts = [self.documents[int(i)] for i in ids]
        sizes = np.array([len(p[0]) for p in parts], dtype=np.int64)
        terms = np.concatenate([p[0] for p in parts])
        order = np.argsort(terms, kind="stable")
        positions = np.repeat(np.arange(len(ids), dtype=np.int32), sizes)[order]
        freqs = np.concatenate([p[1] for p in parts])[order]
        size = len(self.vocabulary)
        starts = np.concatenate([[0], np.cumsum(np.bincount(terms, minlength=size))])
        vocabulary = self.vocabulary
        lengths = np.array([p[2] for p in parts], dtype=np.float64)
        values = term_parts(freqs, lengths[positions], avgdl)

        def postings(term: str) -> tuple[np.ndarray, np.ndarray]:
            index = vocabulary.get(term)
            if index is None or index >= size:
                return _EMPTY
            return positions[starts[index]:starts[index + 1]], values[starts[index]:starts[index + 1]]

        return Segment(ids, _same, postings)


def _same(values: np.ndarray) -> np.ndarray:
    """The changed documents' postings carry their per-posting BM25 part itself."""
    return values


class SnapshotReader:
    """Per index object (so per process): the loaded generation, the changed documents read so far and the
    current view. `view(conn)` costs one `meta` read when nothing changed."""

    def __init__(self, root: Path, weight: float) -> None:
        self.root = root
        self.weight = weight
        self._lock = threading.Lock()
        self._view: View | None = None
        self._changed: _Changed | None = None
        self._failed: set[int] = set()
        self._scratches: queue.LifoQueue[Scratch] = queue.LifoQueue()

    @contextmanager
    def scratch(self) -> Iterator[Scratch]:
        """Work arrays for one search: as many exist as searches ran at once (at most the index's READERS), not
        one per thread that ever searched. One whose search failed is dropped (it may be left partly written)."""
        try:
            scratch = self._scratches.get_nowait()
        except queue.Empty:
            scratch = Scratch()
        yield scratch
        self._scratches.put(scratch)

    def view(self, conn: sqlite3.Connection) -> View | None:
        """The view to search, or None when there is no usable snapshot (search through FTS5)."""
        generation, sequence, _ = _marks(conn)
        current = self._view
        if generation is None:
            return None
        if current is not None and (current.generation, current.sequence) == (generation, sequence):
            return current
        if generation in self._failed:
            return None
        with self._lock:
            return self._refresh(conn)

    def forget(self, generation: int, error: Exception) -> None:
        """Stop using a generation that failed during a search (corrupt postings): FTS5 answers from now on."""
        log.warning("keyword snapshot generation %s failed (%s); searching through FTS5", generation, error)
        with self._lock:
            self._failed.add(generation)
            if self._view is not None and self._view.generation == generation:
                self._view, self._changed = None, None

    def _refresh(self, conn: sqlite3.Connection) -> View | None:
        conn.execute("BEGIN")
        try:
            generation, sequence, tokens_version = _marks(conn)
            current = self._view
            if current is not None and (current.generation, current.sequence) == (generation, sequence):
                return current  # another thread refreshed while this one waited for the lock
            if generation is None or generation in self._failed:
                self._view = self._changed = None
                return None
            changed = self._changed
            if changed is None or changed.snapshot.generation != generation:
                try:
                    snapshot = load(self.root, generation, weight=self.weight, tokens_version=tokens_version)
                except SnapshotError as error:
                    log.warning("%s; searching through FTS5", error)
                    self._failed.add(generation)
                    self._view = self._changed = None
                    return None
                changed = _Changed(snapshot)
            rows = conn.execute("SELECT c.id, t.name, t.text FROM changed AS c LEFT JOIN terms AS t "
                                "ON t.rowid = c.id WHERE c.seq > ?", (changed.sequence,)).fetchall()
            changed.apply(rows, self.weight)
            changed.sequence = sequence
            self._changed = changed
            self._view = changed.view(generation, sequence)
            return self._view
        finally:
            conn.execute("COMMIT")


def _marks(conn: sqlite3.Connection) -> tuple[int | None, int, str]:
    """(snapshot generation or None, change sequence, tokenizer version) from the index's meta table."""
    values = dict(conn.execute("SELECT key, value FROM meta WHERE key IN "
                               "('snapshot_generation', 'change_seq', 'tokens_version')").fetchall())
    generation = values.get("snapshot_generation")
    return (int(generation) if generation else None, int(values.get("change_seq") or 0),
            str(values.get("tokens_version") or ""))
