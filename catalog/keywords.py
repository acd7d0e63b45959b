"""The keyword side of search: BM25 over names and descriptions in a SQLite FTS5 file, updated in place.

Why a separate SQLite file (CATALOG_HOME/search/keywords.sqlite) and not the metadata store's own full-text search:
it behaves the same whether the store is SQLite or PostgreSQL, it takes documents one by one (adding 1,000 columns
is one small transaction, not a rebuild), and every web worker can open it read-only next to the one writer (WAL).

What goes in: each document's name and text, already tokenized by `catalog.keyword_tokens` (identifier-aware,
abbreviations expanded, plurals also stored singular), so FTS5 only ever sees plain space-separated terms; the
`name` column weighs more than the `text` column in BM25. A plain table keeps each name's normalised key, so an
exact name match is found by lookup, whatever its BM25 rank.

Query text is data: it is tokenized the same way and every term is quoted as an FTS5 string, so quotes, `*`,
`NEAR`, `OR`, `-` or `:` typed by a user are never syntax. Each `upsert` and `remove` is one transaction: a crash
in the middle leaves the previous state (SQLite's atomic commit), never half a batch.

Why searches take a connection of their own (up to READERS at once) instead of sharing the writer's behind a lock:
a search is four statements, SQLite runs each without holding Python's interpreter lock, and in WAL mode readers
never block each other nor the writer. Under load a shared connection made searches queue behind one another
(bench/load.py, issue 11), each waiting for the interpreter lock again between its statements while holding the
connection. Every statement runs in autocommit, so a reader sees what the writer committed before it started.

Why a postings snapshot next to the file (`catalog.keyword_snapshot`, from SNAPSHOT_MIN_DOCS documents on): FTS5
computes bm25() for every matching row before it sorts, so a word held by most of a million documents costs
seconds. The snapshot answers the same three candidate queries with numpy (`catalog.keyword_bm25`: the same sets
and scores), the documents changed since it was built are excluded from it and scored from their current text
(`catalog.keyword_view`), and the writer rebuilds it when those pass REBUILD_SHARE of it. FTS5 stays the source of
truth: without a usable snapshot (none yet, missing, corrupt) searches run through FTS5 as before.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from catalog.keyword_bm25 import FtsScorer, Scorer, SnapshotScorer
from catalog.keyword_snapshot import SnapshotError, build, fts5_totals, load, remove_generations, snapshot_root
from catalog.keyword_tokens import TOKENS_VERSION, index_terms, last_segment_key, name_key, stem, token_groups, tokens
from catalog.keyword_view import SnapshotReader

__all__ = ["KeywordHit", "KeywordIndex", "tokens"]

NAME_WEIGHT = 5.0  # BM25 weight of the name column against 1.0 for the text column
BATCH = 2000  # documents per executemany inside one upsert transaction
MAX_QUERY_CHARS = 2000  # the rest of a longer query is not read
MAX_QUERY_GROUPS = 32  # words of a query that are searched
MIN_DEPTH = 50
MAX_DEPTH = 20_000  # candidates read at most when a filter keeps asking for more
READERS = 4  # connections answering searches at the same time in one process (more only wait for the cores)
SNAPSHOT_MIN_DOCS = 50_000  # below this FTS5 alone is fast enough and no postings snapshot is kept
REBUILD_SHARE = 0.10  # documents changed since the snapshot, as a share of it, past which the writer rebuilds it

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL,
                                  last_key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS names_by_key ON names (name_key);
CREATE INDEX IF NOT EXISTS names_by_last_key ON names (last_key);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5 (name, text, tokenize = 'unicode61 remove_diacritics 0');
CREATE TABLE IF NOT EXISTS changed (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS changed_by_seq ON changed (seq);
"""


@dataclass(frozen=True)
class KeywordHit:
    id: int  # the search document's id
    score: float  # higher is better: the negated FTS5 bm25
    matched: tuple[str, ...]  # the query's tokens the document contains ("why it matched")
    exact_name: bool  # the query is the document's name, or the last segment of a dataset's name


@dataclass(frozen=True)
class _Query:
    words: tuple[str, ...]  # the query's tokens and expansions, as reported in `matched`
    groups: tuple[tuple[str, ...], ...]  # per query word: its tokens, expansions and their singulars
    key: str  # the query as a name key, for exact matches

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for group in self.groups for t in group))


class KeywordIndex:
    """FTS5 index: columns `name` (identifier tokens, weighted higher) and `text` (description, context, labels),
    plus a table of raw names and their keys for exact matching. Safe to share between threads: writes and
    bookkeeping go through one connection behind a lock, searches through a small pool of reading connections."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.Lock()
        self._readers: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._reader_slots = threading.BoundedSemaphore(READERS)
        self._snapshots = SnapshotReader(snapshot_root(self.path), NAME_WEIGHT)
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"keyword index {self.path} does not exist (run `catalog index`)")
            self._conn = self._open_read_only()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('tokens_version', ?)", (TOKENS_VERSION,))
        self._conn.execute("PRAGMA busy_timeout=5000")

    def _open_read_only(self) -> sqlite3.Connection:
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)

    def _open_reader(self) -> sqlite3.Connection:
        """A connection for searches: read-only (the file's `mode=ro`, or `query_only` next to this writer)."""
        if self.read_only:
            conn = self._open_read_only()
        else:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=1")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """One of at most READERS reading connections, opened on first need and kept for the next search."""
        with self._reader_slots:
            try:
                conn = self._readers.get_nowait()
            except queue.Empty:
                conn = self._open_reader()
            try:
                yield conn
            finally:
                self._readers.put(conn)

    @property
    def stale(self) -> bool:
        """True when the file was written by another tokenizer version: its terms no longer meet the queries', so
        the caller should `clear()` it and upsert every document again."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'tokens_version'").fetchone()
        return row is None or row[0] != TOKENS_VERSION

    def upsert(self, documents: Iterable[tuple[int, str, str]]) -> None:
        """Add or replace documents (id, name, text) in one transaction; a later duplicate id in the same call wins."""
        self._writable()
        with self._lock:
            with self._transaction():
                tracked = self._tracking()
                iterator = iter(documents)
                while batch := list(islice(iterator, BATCH)):
                    written = {int(doc_id): (name or "", text or "") for doc_id, name, text in batch}
                    self._write_batch(written)
                    self._track(tracked, written)
            self._rebuild_if_due(tracked)

    def remove(self, ids: Iterable[int]) -> None:
        """Drop documents by id, in one transaction; unknown ids are ignored."""
        self._writable()
        with self._lock:
            with self._transaction():
                tracked = self._tracking()
                iterator = iter(int(i) for i in ids)
                while batch := list(islice(iterator, BATCH)):
                    rows = [(i,) for i in batch]
                    self._conn.executemany("DELETE FROM terms WHERE rowid = ?", rows)
                    self._conn.executemany("DELETE FROM names WHERE id = ?", rows)
                    self._track(tracked, batch)
            self._rebuild_if_due(tracked)

    def clear(self) -> None:
        """Remove every document and stamp the current tokenizer version (before a full rebuild)."""
        self._writable()
        with self._lock:
            with self._transaction():
                self._conn.execute("DELETE FROM terms")
                self._conn.execute("DELETE FROM names")
                self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('tokens_version', ?)", (TOKENS_VERSION,))
                self._drop_snapshot()
            remove_generations(snapshot_root(self.path), None)

    def maintain(self) -> str:
        """What `catalog index` calls at its end: build the first snapshot once the index holds SNAPSHOT_MIN_DOCS
        documents, rebuild it when the documents changed since pass REBUILD_SHARE of it, drop it when the index
        shrank below SNAPSHOT_MIN_DOCS, and replace a current one that no longer loads (deleted, damaged, from
        an older backup). Returns what it did: "built", "dropped" or "kept"."""
        self._writable()
        with self._lock:
            generation, documents = self._snapshot_marks()
            count = self._conn.execute("SELECT count(*) FROM names").fetchone()[0]
            if generation is None:
                return self._rebuild() if count >= SNAPSHOT_MIN_DOCS else "kept"
            if count < SNAPSHOT_MIN_DOCS:
                return self._rebuild()  # drops it
            changed = self._conn.execute("SELECT count(*) FROM changed").fetchone()[0]
            if changed > REBUILD_SHARE * documents:
                return self._rebuild()
            tokens_version = self._conn.execute("SELECT value FROM meta WHERE key = 'tokens_version'").fetchone()
            try:
                load(snapshot_root(self.path), generation, weight=NAME_WEIGHT, tokens_version=tokens_version[0])
            except SnapshotError as error:
                log.warning("%s; building a new one", error)
                return self._rebuild()
            return "kept"

    def rebuild_snapshot(self) -> str:
        """Write a new snapshot generation of the whole index now (or drop it below SNAPSHOT_MIN_DOCS)."""
        self._writable()
        with self._lock:
            return self._rebuild()

    def search(self, query: str, limit: int, allowed: Callable[[int], bool] | None = None) -> list[KeywordHit]:
        """The best `limit` documents for `query`: exact-name matches first, then documents matching more of the
        query's words, then by BM25 (the name weighing more). Any single matching word is enough to be returned
        (OR), so a multi-word query with one unknown word still finds what the other words name. `allowed` drops
        ids the caller may not show; the search then reads deeper until `limit` allowed hits are found or the
        matches run out."""
        parsed = _parse(query)
        if limit <= 0 or not (parsed.groups or parsed.key):
            return []
        with self._reader() as conn:
            view = self._snapshots.view(conn)
            if view is not None:
                try:
                    with self._snapshots.scratch() as scratch:
                        scorer = SnapshotScorer(view, parsed.terms, parsed.groups, scratch)
                        return _deepening(conn, parsed, limit, allowed, scorer)
                except (IndexError, ValueError, OSError) as error:  # a snapshot corrupted after it was checked
                    self._snapshots.forget(view.generation, error)
            return _deepening(conn, parsed, limit, allowed, FtsScorer(conn, parsed.terms, parsed.groups, NAME_WEIGHT))

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM names").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                return

    def _writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"keyword index {self.path} is open read-only")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    def _snapshot_marks(self) -> tuple[int | None, int]:
        """(current snapshot generation or None, the documents it holds), read through the writing connection."""
        values = dict(self._conn.execute("SELECT key, value FROM meta WHERE key IN "
                                         "('snapshot_generation', 'snapshot_documents')").fetchall())
        generation = values.get("snapshot_generation")
        return (int(generation) if generation else None), int(values.get("snapshot_documents") or 0)

    def _tracking(self) -> int | None:
        """Inside a write transaction: the sequence number this write records its ids under, or None when there
        is no snapshot to keep fresh."""
        if self._snapshot_marks()[0] is None:
            return None
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'change_seq'").fetchone()
        sequence = int(row[0]) + 1 if row else 1
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('change_seq', ?)", (str(sequence),))
        return sequence

    def _track(self, sequence: int | None, ids: Iterable[int]) -> None:
        """Record ids upserted or removed after the snapshot, in the same transaction as the change itself."""
        if sequence is not None:
            self._conn.executemany("INSERT OR REPLACE INTO changed (id, seq) VALUES (?, ?)",
                                   [(i, sequence) for i in ids])

    def _rebuild_if_due(self, sequence: int | None) -> None:
        """After a write that was tracked: rebuild when the changed documents passed REBUILD_SHARE of the snapshot
        (a search then scores fewer of them one by one)."""
        if sequence is None:
            return
        _, documents = self._snapshot_marks()
        changed = self._conn.execute("SELECT count(*) FROM changed").fetchone()[0]
        if changed > REBUILD_SHARE * documents:
            self._rebuild()

    def _rebuild(self) -> str:
        """A new generation from the whole FTS5 table, in one write transaction: the rows read, the files written
        and renamed, then `meta` pointed at it and `changed` emptied. A crash before the commit leaves the previous
        generation current (the new folder is removed by the next rebuild); readers switch at their next search."""
        root = snapshot_root(self.path)
        generation: int | None = None
        with self._transaction():
            count = self._conn.execute("SELECT count(*) FROM names").fetchone()[0]
            if count >= SNAPSHOT_MIN_DOCS:
                row = self._conn.execute("SELECT value FROM meta WHERE key = 'snapshot_counter'").fetchone()
                generation = int(row[0]) + 1 if row else 1
                self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('snapshot_counter', ?)", (str(generation),))
                tokens_version = self._conn.execute("SELECT value FROM meta WHERE key = 'tokens_version'"
                                                    ).fetchone()[0]
                averages = self._conn.execute("SELECT block FROM terms_data WHERE id = 1").fetchone()
                rows = self._conn.execute("SELECT rowid, name, text FROM terms ORDER BY rowid")
                try:
                    build(rows, root, generation, weight=NAME_WEIGHT, tokens_version=tokens_version,
                          expected=fts5_totals(averages[0] if averages else b""))
                except SnapshotError as error:
                    log.warning("%s; searching through FTS5", error)
                    generation = None
            if generation is None:
                self._drop_snapshot()
            else:
                self._conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                    ("snapshot_generation", str(generation)), ("snapshot_documents", str(count))])
                self._conn.execute("DELETE FROM changed")
        remove_generations(root, generation)
        return "dropped" if generation is None else "built"

    def _drop_snapshot(self) -> None:
        """Inside a write transaction: no snapshot is current any more (its folders are removed after commit)."""
        self._conn.execute("DELETE FROM meta WHERE key IN ('snapshot_generation', 'snapshot_documents')")
        self._conn.execute("DELETE FROM changed")

    def _write_batch(self, batch: dict[int, tuple[str, str]]) -> None:
        existing = [(i,) for i in self._existing(list(batch))]
        if existing:
            self._conn.executemany("DELETE FROM terms WHERE rowid = ?", existing)
        self._conn.executemany("INSERT INTO terms (rowid, name, text) VALUES (?, ?, ?)",
                               [(i, index_terms(name), index_terms(text)) for i, (name, text) in batch.items()])
        self._conn.executemany("INSERT OR REPLACE INTO names (id, name, name_key, last_key) VALUES (?, ?, ?, ?)",
                               [(i, name, name_key(name), last_segment_key(name)) for i, (name, _) in batch.items()])

    def _existing(self, ids: list[int]) -> list[int]:
        rows = self._conn.execute("SELECT id FROM names WHERE id IN (SELECT value FROM json_each(?))",
                                  (json.dumps(ids),))
        return [row[0] for row in rows]


def _deepening(conn: sqlite3.Connection, parsed: _Query, limit: int, allowed: Callable[[int], bool] | None,
               scorer: Scorer) -> list[KeywordHit]:
    """`_ranked` at growing depth until `limit` allowed hits are found or the matches run out.

    The first depth is twice `limit`: the OR and the AND lists each bring that many candidates, for the coverage
    ordering to choose from. Four times cost ~6 ms more at p95 at 1M documents (reading and matching twice the
    candidates' terms) and gave the same recall@10 and MRR on bench/search_eval.py."""
    depth = max(limit * 2, MIN_DEPTH)
    while True:
        hits, exhausted = _ranked(conn, parsed, depth, allowed, scorer)
        if len(hits) >= limit or exhausted or depth >= MAX_DEPTH:
            return hits[:limit]
        depth *= 4


def _ranked(conn: sqlite3.Connection, parsed: _Query, depth: int, allowed: Callable[[int], bool] | None,
            scorer: Scorer) -> tuple[list[KeywordHit], bool]:
    """Candidates from an AND of the query's words (every complete match within `depth`) and an OR of all its
    terms, plus the exact-name matches; the allowed ones ranked. `exhausted` when the OR found fewer than
    `depth`. The scorer is FTS5's bm25 or the snapshot's numpy equivalent: the same lists either way."""
    scores, found = scorer.any_term(depth) if parsed.groups else ({}, 0)
    if len(parsed.groups) > 1:
        scores.update(scorer.every_word(depth))
    exact = _exact(conn, parsed.key, depth)
    missing = [i for i in exact if i not in scores]
    if missing and parsed.groups:
        scores.update(scorer.any_term_of(missing))
    candidates = scores.keys() | exact
    hits, order = [], {}
    for doc_id, doc_terms in _terms(conn, [i for i in candidates if allowed is None or allowed(i)]).items():
        matched = tuple(t for t in parsed.words if t in doc_terms or stem(t) in doc_terms)
        hit = KeywordHit(doc_id, round(scores.get(doc_id, 0.0), 6), matched, doc_id in exact)
        hits.append(hit)
        order[doc_id] = (not hit.exact_name, -_coverage(parsed, doc_terms), -hit.score, doc_id)
    hits.sort(key=lambda h: order[h.id])
    return hits, found < depth


def _exact(conn: sqlite3.Connection, key: str, depth: int) -> set[int]:
    if not key:
        return set()
    rows = conn.execute("SELECT id FROM names WHERE name_key = ? UNION SELECT id FROM names "
                        "WHERE last_key = ? LIMIT ?", (key, key, depth))
    return {row[0] for row in rows}


class _Terms:
    """A document's stored terms (name and text) as one space-padded string, asked `term in terms`.

    Why not a set: a search ranks a few hundred candidates, a dataset's document names up to 60 columns, and
    building a set of every term of every candidate cost more than the SQL of the search; the query has only a
    few terms, and a substring test for " term " is exact because stored terms are single-space separated."""

    __slots__ = ("_padded",)

    def __init__(self, name: str, text: str) -> None:
        self._padded = f" {name} {text} "

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and f" {term} " in self._padded


def _terms(conn: sqlite3.Connection, ids: list[int]) -> dict[int, _Terms]:
    """Each document's terms (name and text), to tell which query words it matched."""
    rows = conn.execute("SELECT rowid, name, text FROM terms WHERE rowid IN "
                        "(SELECT value FROM json_each(?))", (json.dumps(ids),))
    return {row[0]: _Terms(row[1], row[2]) for row in rows}


def _coverage(parsed: _Query, terms: _Terms) -> int:
    """How many of the query's words the terms contain (a word counts once, whichever of its forms matched)."""
    return sum(1 for group in parsed.groups if any(term in terms for term in group))


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error, so one call is all or nothing."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._conn.execute("COMMIT" if kind is None else "ROLLBACK")


def _parse(query: str) -> _Query:
    """The query's words as groups of alternatives: each token with its expansions and singulars, and two adjacent
    words also joined ("sign up" also looks for `signup`, "user name" for `username`)."""
    text = (query or "")[:MAX_QUERY_CHARS]
    own = [list(group) for group in dict.fromkeys(token_groups(text))][:MAX_QUERY_GROUPS]
    for first, second in zip(own, own[1:], strict=False):
        if first[0].isalpha() and second[0].isalpha():
            joined = first[0] + second[0]
            first.append(joined)
            second.append(joined)
    groups = (tuple(dict.fromkeys(t for token in group for t in (token, stem(token)))) for group in own)
    words = tuple(dict.fromkeys(t for group in own for t in group))
    return _Query(words, tuple(dict.fromkeys(groups)), name_key(text))
