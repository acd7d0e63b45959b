"""BM25 candidates for a keyword query, two ways with one interface: FTS5's own bm25() (the source of truth, and
what small indexes use) and a numpy re-implementation over a postings snapshot (`catalog.keyword_view`).

Why a re-implementation can return the *same* lists: FTS5's bm25 (ext/fts5/fts5_aux.c) is

    score = sum over the query's phrases i of  idf_i * ((f_i * (k1 + 1)) / (f_i + k1 * (1 - b + b * D / avgdl)))

with k1 = 1.2, b = 0.75, f_i the column-weighted count of phrase i in the row, D the row's length in tokens over
all columns, avgdl the table's total tokens / rows, and idf_i = log((N - n_i + 0.5) / (n_i + 0.5)), set to 1e-6
when not positive (N rows, n_i rows holding phrase i). Every phrase of the expression counts, repeated ones too
(a term shared by two query words appears twice in the AND expression). The numpy side evaluates the same double
operations in the same order (the per-document denominator first, then phrase by phrase, summed in phrase order by
`bincount`), so scores agree to the last bit in practice. Ties: `ORDER BY score DESC LIMIT n` over rows visited
in ascending rowid keeps, among equal scores, the lowest ids (SQLite's sorter drops a row that does not beat the
current last one); `_top` does the same. `_ranked` in `catalog.keywords` then orders the union exactly as before.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from catalog.keyword_view import Segment, View

K1 = 1.2
B = 0.75
MIN_IDF = 1e-6
COMMON_SHARE = 0.25  # a term held by this share of the documents is "common": its idf is at most log(3)
PRUNE_MIN = 20_000  # segments smaller than this are summed whole (pruning would not pay)


def term_parts(freqs: np.ndarray, lengths: np.ndarray, avgdl: float) -> np.ndarray:
    """f * (k1 + 1) / (f + k1 * (1 - b + b * D / avgdl)) per (weighted frequency, length), evaluated as the C
    expression is; a term's score in a document is its idf times this."""
    f = np.asarray(freqs, dtype=np.float64)
    return (f * (K1 + 1.0)) / (f + K1 * ((1 - B) + (B * np.asarray(lengths, dtype=np.float64)) / avgdl))


def idf(documents: int, hits: int) -> float:
    value = math.log((documents - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else MIN_IDF


class Scorer(Protocol):
    """The three candidate lists `_ranked` needs, each id -> score (the negated FTS5 bm25)."""

    def any_term(self, depth: int) -> tuple[dict[int, float], int]:
        """The best `depth` documents holding any query term, and how many were found (at least `depth` when
        more documents match)."""

    def every_word(self, depth: int) -> dict[int, float]:
        """The best `depth` documents holding at least one term of every query word."""

    def any_term_of(self, ids: list[int]) -> dict[int, float]:
        """The any-term score of those of `ids` that hold a query term."""


class FtsScorer:
    """FTS5's MATCH and bm25(): exact by definition; each call scores every matching row."""

    def __init__(self, conn: sqlite3.Connection, terms: tuple[str, ...], groups: tuple[tuple[str, ...], ...],
                 weight: float) -> None:
        self._conn = conn
        self._weight = weight
        self._any = " OR ".join(_quote(t) for t in terms)
        self._every = " AND ".join("(" + " OR ".join(_quote(t) for t in g) + ")" for g in groups)

    def any_term(self, depth: int) -> tuple[dict[int, float], int]:
        found = self._bm25(self._any, depth)
        return found, len(found)

    def every_word(self, depth: int) -> dict[int, float]:
        return self._bm25(self._every, depth)

    def any_term_of(self, ids: list[int]) -> dict[int, float]:
        return self._bm25(self._any, len(ids), ids)

    def _bm25(self, expression: str, depth: int, only: list[int] | None = None) -> dict[int, float]:
        sql = "SELECT rowid, -bm25(terms, ?, 1.0) AS score FROM terms WHERE terms MATCH ?"
        params: list[object] = [self._weight, expression]
        if only is not None:
            sql += " AND rowid IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(only))
        rows = self._conn.execute(sql + " ORDER BY score DESC LIMIT ?", (*params, depth))
        return {row[0]: row[1] for row in rows}


class Scratch:
    """Zeroed work arrays over all positions of a segment, reused by one search at a time (whoever writes into
    one zeroes again what it wrote). Why reused: a fresh array of a million doubles is fresh pages from the
    kernel each time, which cost more and varied more than the sums themselves."""

    def __init__(self) -> None:
        self._arrays: dict[tuple[int, str], np.ndarray] = {}

    def zeros(self, size: int, dtype: type = np.float64) -> np.ndarray:
        key = (size, np.dtype(dtype).str)
        if key not in self._arrays:
            if len(self._arrays) > 8:  # sizes of changed-documents segments come and go
                self._arrays.clear()
            self._arrays[key] = np.zeros(size, dtype=dtype)
        return self._arrays[key]


class SnapshotScorer:
    """The same lists from a view's segments, without touching every posting of a very common term.

    Exactness first: every score returned is computed by `_exact`, phrase by phrase in the expression's order,
    for a set of candidate positions. Finding the candidates is where the time goes, and two ideas keep it small:
    - any term: terms held by at least COMMON_SHARE of the documents ("column", "main": their idf is tiny) are
      left out of a first, approximate pass over the other terms' postings; each can add at most idf x (k1 + 1) to
      a score, so only documents whose first-pass score is within that sum of the cut can still reach the best
      `depth`, and only those are scored exactly (MaxScore). When the bound cannot decide (every term is common,
      or too few documents hold a rarer one), all postings are summed (`_summed`);
    - every word: the intersection of the words' postings, smallest word first, is the candidate set.
    """

    def __init__(self, view: View, terms: tuple[str, ...], groups: tuple[tuple[str, ...], ...],
                 scratch: Scratch | None = None) -> None:
        self._view = view
        self._scratch = scratch or Scratch()
        self._terms = [t.lower() for t in terms]  # the snapshot's terms are lower-cased as unicode61 folds them
        self._groups = tuple(tuple(t.lower() for t in g) for g in groups)
        self._idf = {t: idf(view.documents, view.hits(t)) for g in self._groups for t in g}
        self._common = {t for t in self._terms if view.hits(t) >= COMMON_SHARE * view.documents}
        self._any: dict[int, tuple[dict[int, float], int]] = {}

    def any_term(self, depth: int) -> tuple[dict[int, float], int]:
        if depth not in self._any:
            found, total = [], 0
            for segment in self._view.segments:
                positions, scores, count = self._any_top(segment, depth)
                found.append((segment, positions, scores))
                total += count
            self._any[depth] = (_merge(found, depth), total)
        scores, total = self._any[depth]
        return dict(scores), total

    def every_word(self, depth: int) -> dict[int, float]:
        phrases = [t for g in self._groups for t in g]
        found = []
        for segment in self._view.segments:
            candidates = self._complete(segment)
            scores = self._exact(segment, candidates, phrases)
            chosen = _top(scores, depth)
            found.append((segment, candidates[chosen], scores[chosen]))
        return _merge(found, depth)

    def any_term_of(self, ids: list[int]) -> dict[int, float]:
        wanted = np.array(sorted(set(ids)), dtype=np.int64)
        found = []
        for segment in self._view.segments:
            if not segment.size or not len(wanted):
                continue
            positions = np.searchsorted(segment.ids, wanted).clip(0, segment.size - 1)
            positions = np.unique(positions[segment.ids[positions] == wanted])
            if segment.excluded is not None:
                positions = positions[~segment.excluded[positions]]
            scores = self._exact(segment, positions, self._terms)
            found.append((segment, positions, scores))
        return _merge(found, len(wanted))

    def _any_top(self, segment: Segment, depth: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(positions, exact scores) of the segment's best `depth` any-term documents, and how many documents
        match at all (exact when fewer than `depth`, else a number at least `depth`)."""
        rare = [t for t in self._terms if t not in self._common]
        if self._common and rare and segment.size >= PRUNE_MIN:
            with self._summed(segment, rare) as first:
                matched = int(np.count_nonzero(first))
                reach = sum(self._idf[t] * (K1 + 1.0) for t in self._common)
                candidates = _candidates(first, depth, reach) if matched >= depth else None
            if candidates is not None:  # documents holding only common terms stay below the cut
                scores = self._exact(segment, candidates, self._terms)
                chosen = _top(scores, depth)
                return candidates[chosen], scores[chosen], matched
        with self._summed(segment, self._terms) as summed:
            chosen = _top(summed, depth)
            return chosen, summed[chosen], int(np.count_nonzero(summed))

    @contextmanager
    def _summed(self, segment: Segment, phrases: list[str]) -> Iterator[np.ndarray]:
        """Per position: the sum over `phrases`, in order, of each one's BM25 term; 0 where none occurs (every
        term is positive, so a positive score means a match) and at excluded positions. A scratch array, zeroed
        again where it was written once the caller is done."""
        scores = self._scratch.zeros(segment.size)
        touched: list[np.ndarray] = []
        try:
            for term in phrases:
                positions, keys = segment.postings(term)
                if len(positions):
                    scores[positions] += self._term_scores(segment, term, keys)  # distinct positions
                    touched.append(positions)
            if segment.excluded_positions is not None:
                scores[segment.excluded_positions] = 0.0
            yield scores
        finally:
            for positions in touched:
                scores[positions] = 0.0

    def _exact(self, segment: Segment, candidates: np.ndarray, phrases: list[str]) -> np.ndarray:
        """The exact any-phrase score of each candidate position (ascending, none excluded), summed phrase by
        phrase in the expression's order, as FTS5 sums them."""
        scores = np.zeros(len(candidates))
        if not len(candidates):
            return scores
        for term in phrases:
            positions, keys = segment.postings(term)
            if not len(positions):
                continue
            if len(positions) <= len(candidates):  # look the term's documents up among the candidates
                where = np.searchsorted(candidates, positions).clip(0, len(candidates) - 1)
                held = candidates[where] == positions
                scores[where[held]] += self._term_scores(segment, term, keys[held])
            else:  # look the candidates up in the term's postings
                where = np.searchsorted(positions, candidates).clip(0, len(positions) - 1)
                held = positions[where] == candidates
                scores[held] += self._term_scores(segment, term, keys[where[held]])
        return scores

    def _term_scores(self, segment: Segment, term: str, keys: np.ndarray) -> np.ndarray:
        return self._idf[term] * segment.part(keys)

    def _complete(self, segment: Segment) -> np.ndarray:
        """Positions (ascending, none excluded) holding a term of every query word. A word with a term that every
        document holds narrows nothing and is skipped. When the smallest word is small, its positions are looked
        up in the others' postings; otherwise each word sets its bit in a scratch array over all positions (one
        pass over the postings, no sort), and the complete positions are those with every bit."""
        everywhere = {t for g in self._groups for t in g if self._view.hits(t) == self._view.documents}
        words = sorted(([p for p in (segment.postings(t)[0] for t in g) if len(p)] for g in self._groups
                        if not everywhere.intersection(g)), key=lambda postings: sum(len(p) for p in postings))
        if not words:  # every word is held by every document
            words = [[segment.postings(t)[0] for t in sorted(everywhere)[:1]]]
        if not words[0]:
            return np.zeros(0, np.int64)
        sizes = [sum(len(p) for p in postings) for postings in words]
        if len(words) > 1 and sizes[0] * 16 > sum(sizes[1:]):
            candidates = _marked(self._scratch.zeros(segment.size, np.uint32), words)
        else:
            first = words[0]
            candidates = np.asarray(first[0] if len(first) == 1 else np.unique(np.concatenate(first)), np.int64)
            for postings in words[1:]:
                if not len(candidates):
                    break
                held = np.zeros(len(candidates), dtype=bool)
                for positions in postings:
                    where = np.searchsorted(positions, candidates).clip(0, len(positions) - 1)
                    held |= positions[where] == candidates
                candidates = candidates[held]
        if segment.excluded is not None and len(candidates):
            candidates = candidates[~segment.excluded[candidates]]
        return candidates


def _marked(bits: np.ndarray, words: list[list[np.ndarray]]) -> np.ndarray:
    """Positions holding a term of every word, by setting word i's bit i (at most 32 words) in a zeroed scratch
    array, zeroed again afterwards."""
    touched: list[np.ndarray] = []
    try:
        for i, postings in enumerate(words):
            for positions in postings:
                bits[positions] |= np.uint32(1 << i)
                touched.append(positions)
        return np.flatnonzero(bits == np.uint32((1 << len(words)) - 1))
    finally:
        for positions in touched:
            bits[positions] = 0


def _merge(found: list[tuple[Segment, np.ndarray, np.ndarray]], depth: int) -> dict[int, float]:
    """The best `depth` (score, then lowest id) over all segments' (positions, scores), as id -> score."""
    pairs: list[tuple[float, int]] = []
    for segment, positions, scores in found:
        pairs += zip(scores.tolist(), segment.ids[positions].tolist(), strict=True)
    pairs.sort(key=lambda pair: (-pair[0], pair[1]))
    return {doc_id: score for score, doc_id in pairs[:depth] if score > 0.0}


def _candidates(first: np.ndarray, depth: int, reach: float) -> np.ndarray | None:
    """Positions whose first-pass score is within `reach` of the `depth`-th best one (those whose exact score
    can still make the cut), or None when documents with no first-pass score at all could (fall back)."""
    floor = _floor(first, depth)
    above = np.flatnonzero(first >= floor)
    values = first[above]
    cut = float(np.partition(values, len(values) - depth)[len(values) - depth])  # the depth-th best
    threshold = cut - reach - 1e-9 * max(1.0, cut)  # and a margin for the first pass's summing order
    if threshold <= 0.0:
        return None
    return above[values >= threshold] if threshold >= floor else np.flatnonzero(first >= threshold)


def _floor(scores: np.ndarray, depth: int) -> float:
    """A value at most the `depth`-th highest positive score, cheaply: the `depth`-th highest of a strided
    sample (its members are scores too), or of all scores when the sample holds too few."""
    for stride in (64, 8, 1):
        sample = scores[::stride]
        positive = sample[sample > 0.0]
        if len(positive) >= depth:
            return float(np.partition(positive, len(positive) - depth)[len(positive) - depth])
    return 0.0


def _top(scores: np.ndarray, depth: int) -> np.ndarray:
    """Indexes of the `depth` highest positive scores; among equal scores at the cut, the lowest indexes (lowest
    ids), as FTS5's ORDER BY ... LIMIT keeps them."""
    floor = _floor(scores, depth) if len(scores) > 8 * depth else 0.0
    matched = np.flatnonzero(scores >= floor) if floor > 0.0 else np.flatnonzero(scores)
    if len(matched) <= depth:
        return matched
    values = scores[matched]
    cut = np.partition(values, len(values) - depth)[len(values) - depth]
    above = matched[values > cut]
    tied = matched[values == cut][:depth - len(above)]
    return np.sort(np.concatenate([above, tied]))


def _quote(term: str) -> str:
    """An FTS5 string literal: whatever the term holds, it is matched as text, never read as query syntax."""
    return '"' + term.replace('"', '""') + '"'
