"""Hybrid search over datasets and columns: a keyword index and a vector index, fused, filtered, explained.

- `build_index` (what `catalog index` runs): brings the search documents in line with the store, embeds the texts
  that changed (a vector is computed once per text and model: `catalog.vectors`), updates both index files
  incrementally and saves them atomically, then records what the files hold. A crash anywhere leaves the previous
  snapshots in place and the next run redoes only what was not recorded. At its end the keyword index builds or
  rebuilds its postings snapshot when due (`KeywordIndex.maintain`: large indexes only).
- `search`: both sides are asked for more candidates than needed; candidates the caller may not discover or that
  the filters exclude are dropped; the rest are fused by reciprocal rank (k = 60), exact name matches first. Every
  result says why it matched (the words it matched, semantic similarity, an exact name). A multi-word query
  returns whatever matches any of its words.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, can, require
from catalog.db import session_factory
from catalog.errors import InvalidInput
from catalog.keyword_tokens import token_groups
from catalog.models import SearchDocument, utcnow
from catalog.search_documents import document_facts, pending, sync_documents
from catalog.search_facts import add_descriptions, dataset_marks
from catalog.settings import Settings

MODES = ("hybrid", "keyword", "vector")
RRF_K = 60
MAX_LIMIT = 100
MAX_QUERY = 500
DEPTH = 5  # candidates asked of each side per result wanted (filters and visibility drop some)
EMBED_BATCH = 512


def index_folder(settings: Settings) -> Path:
    return settings.home / "search"


@dataclass
class _Indexes:
    """The index files of one catalog home, opened once per process and reopened when a newer snapshot exists."""

    keywords: Any
    vectors: Any
    embedder: Any


_open: dict[Path, _Indexes] = {}
_open_lock = threading.Lock()


def _indexes(settings: Settings) -> _Indexes:
    from annotator.embed import Embedder
    from catalog.keywords import KeywordIndex
    from catalog.vector_index import VectorIndex

    folder = index_folder(settings)
    current = _open.get(folder)
    if current is not None and not current.vectors.is_stale():
        return current  # the common case, without the lock: concurrent searches need not take turns to look
    with _open_lock:
        current = _open.get(folder)
        if current is None:
            folder.mkdir(parents=True, exist_ok=True)
            embedder = Embedder(settings.embedding_model)
            current = _Indexes(KeywordIndex(folder / "keywords.sqlite"),
                               VectorIndex.load(folder / "vectors", embedder.dimension), embedder)
            _open[folder] = current
        elif current.vectors.is_stale():  # after a delta save elsewhere, reads only the new deltas
            current.vectors = current.vectors.refresh()
        return current


def build_index(settings: Settings, actor: Actor | None = None,
                progress: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """Index what changed since the last run (see the module docstring); returns counts and timings."""
    from catalog.vectors import VectorCache, embed_cached

    if actor is not None:
        require(actor, Action.MANAGE, Resource.catalog())
    started = time.perf_counter()
    indexes = _indexes(settings)
    sessions = session_factory(settings)
    marker = index_folder(settings) / "synced_at"
    sync_started = utcnow()
    with sessions.begin() as session:
        synced = sync_documents(session, _last_sync(marker))
        rebuilt = _reset_if_inconsistent(session, indexes)
    with sessions() as session:
        changed, orphans = pending(session)
        work = [(row.id, row.name, row.text, row.text_hash) for row in changed]
    cache = VectorCache(index_folder(settings) / "vectors.sqlite", indexes.embedder.dimension)
    computed = 0
    for start in range(0, len(work), EMBED_BATCH):
        batch = work[start:start + EMBED_BATCH]
        vectors, fresh = embed_cached(indexes.embedder, cache, [text for _, _, text, _ in batch])
        computed += fresh
        indexes.vectors.upsert(np.array([i for i, _, _, _ in batch], dtype=np.int64), vectors)
        indexes.keywords.upsert((i, name, text) for i, name, text, _ in batch)
        if progress:
            progress("indexed", len(batch))
    if orphans:
        indexes.vectors.remove(orphans)
        indexes.keywords.remove(orphans)
    indexes.vectors.save()
    keyword_snapshot = indexes.keywords.maintain()  # the first postings snapshot, or a rebuild when due
    with sessions.begin() as session:
        if work:  # one bulk UPDATE by primary key, not one statement per document
            session.execute(update(SearchDocument), [{"id": doc_id, "indexed_hash": digest}
                                                     for doc_id, _, _, digest in work])
        if orphans:
            session.query(SearchDocument).filter(SearchDocument.id.in_(orphans)).delete(synchronize_session=False)
    _write_marker(marker, sync_started)
    return {"documents": indexes.vectors.size, "indexed": len(work), "embedded": computed,
            "cached": len(work) - computed, "removed": len(orphans), "written": synced["written"], "rebuilt": rebuilt,
            "datasets_read": synced["datasets"], "keyword_snapshot": keyword_snapshot,
            "seconds": round(time.perf_counter() - started, 3)}


SYNC_MARGIN = timedelta(minutes=5)  # clock differences between the machines that write the store


def _last_sync(marker: Path) -> datetime | None:
    """When the previous complete index run started (minus a margin); None means: read every dataset."""
    try:
        return datetime.fromisoformat(marker.read_text(encoding="utf-8").strip()) - SYNC_MARGIN
    except (OSError, ValueError):
        return None


def _write_marker(marker: Path, moment: datetime) -> None:
    """Written last and atomically: a run that crashed before it leaves the older marker, so nothing is skipped."""
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(moment.isoformat(), encoding="utf-8")
    os.replace(temporary, marker)


def _reset_if_inconsistent(session: Session, indexes: _Indexes) -> bool:
    """Start both index files afresh when they cannot hold what the store says they hold: a file deleted or
    restored from an older backup, or written by another tokenizer version. Returns True when it did."""
    recorded = session.scalar(select(func.count()).select_from(SearchDocument)
                              .where(SearchDocument.indexed_hash.is_not(None))) or 0
    if not indexes.keywords.stale and len(indexes.keywords) == recorded and indexes.vectors.size == recorded:
        return False
    sync_documents(session)  # a full rebuild: every dataset's text, not only the recent ones
    indexes.keywords.clear()
    indexes.vectors.remove([int(i) for i in indexes.vectors.ids()])
    session.execute(update(SearchDocument).values(indexed_hash=None))
    return True


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    kind: str | None = None  # dataset kind: table, view, collection, file_set
    pii: bool | None = None  # True: only results with personal data; False: only without
    tag: str | None = None  # only datasets (and their columns) with this tag
    owner: str | None = None  # only datasets (and their columns) this person or team owns


def search(session: Session, actor: Actor, settings: Settings, query: str, *, limit: int = 10,
           mode: str = "hybrid", filters: Filters | None = None) -> dict[str, Any]:
    """Datasets and columns for `query`, best first (the `catalog search --json` shape, plus explanations)."""
    require(actor, Action.DISCOVER, Resource.catalog())
    query = " ".join((query or "").split())
    if not query:
        raise InvalidInput("query must not be empty")
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"query is longer than {MAX_QUERY} characters")
    if mode not in MODES:
        raise InvalidInput(f"mode '{mode}' is not one of {', '.join(MODES)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    filters = filters or Filters()
    keyword_hits, vector_hits = _candidates(_indexes(settings), query, mode, max(limit * DEPTH, 50))
    candidates = {h.id for h in keyword_hits} | {i for i, _ in vector_hits}
    facts = _visible(session, actor, document_facts(session, list(candidates)))
    marks = dataset_marks(session, (f["dataset_id"] for f in facts.values()))
    labels = {i: marks.labels_of(f["dataset_id"], f["column"]) for i, f in facts.items()}
    for f in facts.values():
        f.update(tags=marks.tags.get(f["dataset_id"], []), owners=marks.owners.get(f["dataset_id"], []))
    kept = {i for i, f in facts.items() if _passes(f, labels.get(i, []), filters)}
    ranked = _fuse([h for h in keyword_hits if h.id in kept], [v for v in vector_hits if v[0] in kept],
                   token_groups(query))
    matched = {h.id: list(h.matched) for h in keyword_hits}
    results = [_result(doc_id, score, why, facts[doc_id], labels.get(doc_id, [])) | {
        "matched_words": matched.get(doc_id, [])} for doc_id, score, why in ranked]
    shown = results[:limit]
    add_descriptions(session, shown, facts)
    return {"query": query, "mode": mode, "results": shown, "facets": _facets(results)}


def _candidates(indexes: _Indexes, query: str, mode: str, depth: int
                ) -> tuple[list[Any], list[tuple[int, float]]]:
    """Both sides' candidates. The query's embedding is started first and the keyword query runs while it is
    computed (in the model's query thread, batched with other waiting searches: `Embedder.embed_query`)."""
    embedding = indexes.embedder.embed_query(query) if mode != "keyword" else None
    keyword_hits = indexes.keywords.search(query, depth) if mode != "vector" else []
    vector_hits = indexes.vectors.search(embedding.result(), depth) if embedding is not None else []
    return keyword_hits, vector_hits


def _visible(session: Session, actor: Actor, facts: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Only what the caller may discover (the governance policy decides; embedded mode allows all)."""
    allowed: dict[str, bool] = {}
    for f in facts.values():
        if f["dataset"] not in allowed:
            allowed[f["dataset"]] = can(actor, Action.DISCOVER, Resource.dataset(f["dataset"]))
    return {i: f for i, f in facts.items() if allowed[f["dataset"]]}


def _passes(facts: dict[str, Any], labels: list[str], filters: Filters) -> bool:
    if filters.source and facts["dataset"].split("/", 1)[0] != filters.source:
        return False
    if filters.kind and facts["dataset_kind"] != filters.kind:
        return False
    if filters.tag and filters.tag.lower() not in facts["tags"]:
        return False
    if filters.owner and filters.owner not in facts["owners"]:
        return False
    has_pii = any(label.startswith("pii.") for label in labels)
    return filters.pii is None or filters.pii == has_pii


def _fuse(keyword_hits: list[Any], vector_hits: list[tuple[int, float]], groups: list[tuple[str, ...]]
          ) -> list[tuple[int, float, list[str]]]:
    """Reciprocal-rank fusion; exact name matches first; each id with the reasons it matched.

    A keyword hit counts in proportion to the share of the query's words it matched: a document that matches one
    word of "why was the order returned" must not push out what the vector side understood of the whole question.
    """
    scores: dict[int, float] = {}
    why: dict[int, list[str]] = {}
    exact: set[int] = set()
    for rank, hit in enumerate(keyword_hits):
        matched = set(hit.matched)
        coverage = sum(1 for g in groups if matched & set(g)) / len(groups) if groups else 1.0
        scores[hit.id] = scores.get(hit.id, 0.0) + max(coverage, 0.25) / (RRF_K + rank + 1)
        if hit.exact_name:
            exact.add(hit.id)
            why.setdefault(hit.id, []).append("exact name")
        why.setdefault(hit.id, []).append("matches " + ", ".join(f"'{t}'" for t in hit.matched))
    for rank, (doc_id, similarity) in enumerate(vector_hits):
        scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        why.setdefault(doc_id, []).append(f"similar meaning ({similarity:.2f})")
    order = sorted(scores, key=lambda i: (i not in exact, -scores[i]))
    return [(i, round(scores[i] + (1.0 if i in exact else 0.0), 6), why[i]) for i in order]


def _result(doc_id: int, score: float, why: list[str], facts: dict[str, Any], labels: list[str]
            ) -> dict[str, Any]:
    return {"kind": "column" if facts["column"] else "dataset", "dataset": facts["dataset"],
            "column": facts["column"], "score": score, "description": None, "why": why,
            "classifications": labels, "dataset_kind": facts["dataset_kind"], "tags": facts["tags"],
            "owners": facts["owners"], "id": doc_id}


def _facets(results: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Counts over every candidate that passed the filters, for the search page's facet links."""
    facets: dict[str, dict[str, int]] = {"source": {}, "kind": {}, "pii": {}, "tag": {}, "owner": {}}
    for r in results:
        for facet, values in (("tag", r["tags"]), ("owner", r["owners"])):
            for value in values:
                facets[facet][value] = facets[facet].get(value, 0) + 1
        source = r["dataset"].split("/", 1)[0]
        facets["source"][source] = facets["source"].get(source, 0) + 1
        facets["kind"][r["dataset_kind"]] = facets["kind"].get(r["dataset_kind"], 0) + 1
        pii = "personal data" if any(label.startswith("pii.") for label in r["classifications"]) else "none"
        facets["pii"][pii] = facets["pii"].get(pii, 0) + 1
    return facets
