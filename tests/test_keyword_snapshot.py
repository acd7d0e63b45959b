"""The keyword index's postings snapshot: the same hits as FTS5's bm25, fresh after writes, safe after crashes.

Every comparison is against FTS5 itself on real SQLite files: the same index searched with its snapshot view
switched off, or a separate FTS5-only index of the same documents.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import catalog.keywords as keywords
from catalog.keyword_bm25 import FtsScorer, SnapshotScorer
from catalog.keyword_snapshot import generation_name, snapshot_root
from catalog.keywords import NAME_WEIGHT, KeywordHit, KeywordIndex, _parse

SOURCES = ["shop", "crm", "erp", "lake", "hr"]
TABLES = ["orders", "customers", "invoices", "shipments", "products", "employees", "tickets", "payments"]
QUALIFIERS = ["", "billing", "shipping", "primary", "last", "first", "original"]
BASES = [("email", "e-mail address"), ("phone", "telephone number"), ("name", "full name"),
         ("address", "street address"), ("city", "city"), ("zip", "postal code"), ("created_at", "creation time"),
         ("amount", "amount in euros"), ("currency", "currency code"), ("status", "processing status"),
         ("qty", "number of units"), ("birth_date", "date of birth"), ("iban", "bank account number"),
         ("sign_up_dt", "sign up date"), ("cust_nm", "customer name"), ("c_eml", "customer e-mail")]
TYPES = ["varchar(200)", "integer", "numeric(12,2)", "date", "timestamp", "text"]


def corpus(count: int, seed: int = 7, first_id: int = 1, tag: str = "") -> list[tuple[int, str, str]]:
    """Column and table documents shaped as catalog.search_documents writes them, with many near-duplicates
    (ties at every depth) and a few odd ones (accents, repeated words, an empty text)."""
    rng = random.Random(seed)
    out: list[tuple[int, str, str]] = []
    for doc_id in range(first_id, first_id + count):
        source, table = rng.choice(SOURCES), rng.choice(TABLES)
        path = f"{source}/main/{table}_{rng.randint(1, 40)}"
        if rng.random() < 0.05:
            columns = ", ".join(rng.choice(BASES)[1] for _ in range(rng.randint(3, 12)))
            out.append((doc_id, path, f"{table} records of {source}{tag} | table in source {source} | "
                                      f"columns: {columns}"))
            continue
        qualifier, (base, about) = rng.choice(QUALIFIERS), rng.choice(BASES)
        column = f"{qualifier}_{base}" if qualifier else base
        extra = rng.choice(["", "", " Café crème", " total total total", " customer's e-mail", " 𝒜lpha", " alpha"])
        text = (f"{qualifier} {about} of the {table.rstrip('s')}{extra}{tag} | {column} | column of {path} | "
                f"{rng.choice(TYPES)}")
        out.append((doc_id, column, "" if rng.random() < 0.01 else text))
    return out


def queries(seed: int = 11, count: int = 100) -> list[str]:
    """Single words, several words, unknown words, exact names, plurals, joined words and punctuation."""
    rng = random.Random(seed)
    fixed = ["email", "e-mail", "orders", "order", "customer email", "column", "main", "shop/main/orders_3",
             "orders_3", "billing_email", "c_eml", "cust_nm", "sign up", "signup date", "zzzunknown",
             "email zzzunknown", "total", "cafe", "crème", "the of and", "amount in euros", "currency code",
             "first name of the customer", "where is the billing address of orders stored", '"quoted" OR *',
             "hr employees birth", "customer customers", "name name", "phone", "status of tickets", "alpha",
             "𝒜lpha email", "ALPHA"]
    out = list(fixed)
    while len(out) < count:
        qualifier, (base, about) = rng.choice(QUALIFIERS), rng.choice(BASES)
        out.append(rng.choice([
            f"{qualifier} {base.replace('_', ' ')} of {rng.choice(TABLES)}", about, f"{about} in {rng.choice(SOURCES)}",
            f"column with {about}", f"{rng.choice(TABLES)} {about}", base, f"{qualifier}_{base}".strip("_")]))
    return out


def fts_only(path: Path) -> KeywordIndex:
    """The same file searched through FTS5 alone (the snapshot view switched off): the reference."""
    index = KeywordIndex(path, read_only=True)
    index._snapshots.view = lambda conn: None  # type: ignore[method-assign]
    return index


def snapshot_in_use(index: KeywordIndex) -> bool:
    with index._reader() as conn:
        return index._snapshots.view(conn) is not None


def assert_same(got: list[KeywordHit], expected: list[KeywordHit], context: str) -> None:
    assert [(h.id, h.matched, h.exact_name) for h in got] == [(h.id, h.matched, h.exact_name) for h in expected], \
        context
    for a, b in zip(got, expected, strict=True):
        assert a.score == pytest.approx(b.score, rel=1e-4, abs=1e-9), context


def assert_equivalent(index: KeywordIndex, reference: KeywordIndex, texts: list[str],
                      allowed: Callable[[int], bool] | None = None, limits: tuple[int, ...] = (1, 10, 60)) -> None:
    for text in texts:
        for limit in limits:
            assert_same(index.search(text, limit, allowed), reference.search(text, limit, allowed),
                        f"{text!r} limit {limit}")


@pytest.fixture
def small_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keywords, "SNAPSHOT_MIN_DOCS", 1)


@pytest.fixture
def built(tmp_path: Path, small_snapshots: None) -> Iterator[KeywordIndex]:
    index = KeywordIndex(tmp_path / "keywords.sqlite")
    index.upsert(corpus(3000))
    assert index.maintain() == "built"
    yield index
    index.close()


def meta(path: Path, key: str) -> str | None:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def changed_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM changed").fetchone()[0]


def test_snapshot_search_equals_fts5(built: KeywordIndex) -> None:
    assert snapshot_in_use(built)
    assert_equivalent(built, fts_only(built.path), queries())


def test_snapshot_search_equals_fts5_with_allowed_filters(built: KeywordIndex) -> None:
    reference = fts_only(built.path)
    for allowed in (lambda i: i % 7 == 0, lambda i: i % 97 == 3, lambda i: i > 2990):
        assert_equivalent(built, reference, queries(count=40), allowed, limits=(5, 30))


def test_scorer_lists_and_scores_equal_fts5(built: KeywordIndex) -> None:
    """The three candidate lists `_ranked` asks for, compared before any rounding: same ids, same scores."""
    with built._reader() as conn:
        view = built._snapshots.view(conn)
        assert view is not None
        for text in queries(count=60):
            parsed = _parse(text)
            if not parsed.groups:
                continue
            fts = FtsScorer(conn, parsed.terms, parsed.groups, NAME_WEIGHT)
            mine = SnapshotScorer(view, parsed.terms, parsed.groups)
            for depth in (1, 7, 50, 400, 5000):
                expected, found = fts.any_term(depth)
                got, total = mine.any_term(depth)
                assert got == pytest.approx(expected, rel=1e-12), (text, depth)
                assert (total < depth) == (found < depth)
                if len(parsed.groups) > 1:
                    assert mine.every_word(depth) == pytest.approx(fts.every_word(depth), rel=1e-12), (text, depth)
            some = list(range(1, 3001, 37))
            assert mine.any_term_of(some) == pytest.approx(fts.any_term_of(some), rel=1e-12), text


def test_ties_keep_the_lowest_ids_as_fts5_does(tmp_path: Path, small_snapshots: None) -> None:
    index = KeywordIndex(tmp_path / "keywords.sqlite")
    index.upsert([(i, "email", "customer e-mail address") for i in range(5000, 0, -1)]
                 + [(9000 + i, "phone", "telephone number") for i in range(300)])
    index.maintain()
    reference = fts_only(index.path)
    for limit in (1, 10, 50, 100):
        assert_same(index.search("email", limit), reference.search("email", limit), f"limit {limit}")
    assert [h.id for h in index.search("customer email", 5)] == [1, 2, 3, 4, 5]


def test_common_terms_do_not_change_the_results(tmp_path: Path, small_snapshots: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Pruning by the common terms' bound (on from PRUNE_MIN documents) returns what summing everything does."""
    monkeypatch.setattr("catalog.keyword_bm25.PRUNE_MIN", 100)
    index = KeywordIndex(tmp_path / "keywords.sqlite")
    index.upsert(corpus(4000, seed=3))
    index.maintain()
    assert_equivalent(index, fts_only(index.path), ["column with email", "main customer", "column main",
                                                    "column with full name in hr", "main column of the order",
                                                    "total column", "column"] + queries(count=30))


def test_upserts_and_removes_after_the_snapshot_stay_exact(built: KeywordIndex, tmp_path: Path) -> None:
    reader = KeywordIndex(built.path, read_only=True)
    assert reader.search("email", 5)  # the reader has the snapshot loaded before the writes
    fresh = corpus(120, seed=99, first_id=10_001, tag=" zebra")
    built.upsert(fresh)
    built.upsert([(i, name, text + " zebra") for i, name, text in corpus(3000)[:100]])  # rewritten
    removed = list(range(2000, 2050))
    built.remove(removed)
    assert changed_count(built.path) == 270 and meta(built.path, "snapshot_generation") == "1"
    assert snapshot_in_use(reader)
    texts = ["zebra", "zebra email", "email", "customer email"] + queries(count=40)
    assert_equivalent(reader, fts_only(built.path), texts)
    assert_equivalent(built, fts_only(built.path), texts[:10])
    final = {doc_id: (name, text) for doc_id, name, text in corpus(3000)}
    final.update({i: (name, text + " zebra") for i, name, text in corpus(3000)[:100]})
    final.update({i: (name, text) for i, name, text in fresh})
    for doc_id in removed:
        final.pop(doc_id)
    separate = KeywordIndex(tmp_path / "separate.sqlite")
    separate.upsert((i, name, text) for i, (name, text) in sorted(final.items()))
    assert_equivalent(reader, separate, texts)
    for text in ["email", "column", "main", "zebra"]:
        assert not {h.id for h in reader.search(text, 5000)} & set(removed), "a removed document came back"


def test_a_rewritten_document_is_found_by_its_new_words_only(built: KeywordIndex) -> None:
    built.upsert([(5, "walrus_count", "number of walruses")])
    assert [h.id for h in built.search("walrus", 5)] == [5]
    built.upsert([(5, "seal_count", "number of seals")])
    assert built.search("walrus", 5) == [] and [h.id for h in built.search("seal", 5)] == [5]
    built.remove([5])
    assert built.search("seal", 5) == []
    assert snapshot_in_use(built)


def test_rebuild_past_the_threshold_and_readers_follow(built: KeywordIndex) -> None:
    reader = KeywordIndex(built.path, read_only=True)
    reader.search("email", 5)
    root = snapshot_root(built.path)
    built.upsert(corpus(250, seed=5, first_id=20_001))  # 250 of 3,000: under 10%
    assert meta(built.path, "snapshot_generation") == "1" and changed_count(built.path) == 250
    built.upsert(corpus(100, seed=6, first_id=30_001))  # 350: past 10%, the writer rebuilds
    assert meta(built.path, "snapshot_generation") == "2" and changed_count(built.path) == 0
    assert sorted(p.name for p in root.iterdir()) == [generation_name(2)]
    texts = ["email", "customer email address"] + queries(count=20)
    assert_equivalent(reader, fts_only(built.path), texts)
    assert reader._snapshots._view is not None and reader._snapshots._view.generation == 2
    assert built.maintain() == "kept"


def test_maintain_builds_only_from_the_minimum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keywords, "SNAPSHOT_MIN_DOCS", 500)
    index = KeywordIndex(tmp_path / "keywords.sqlite")
    index.upsert(corpus(400))
    assert index.maintain() == "kept" and not snapshot_root(index.path).exists()
    assert index.search("email", 3) and not snapshot_in_use(index)
    index.upsert(corpus(200, seed=8, first_id=401))
    assert index.maintain() == "built" and snapshot_in_use(index)
    monkeypatch.setattr(keywords, "SNAPSHOT_MIN_DOCS", 1000)
    assert index.maintain() == "dropped" and not snapshot_in_use(index)
    assert meta(index.path, "snapshot_generation") is None and not any(snapshot_root(index.path).iterdir())
    monkeypatch.setattr(keywords, "SNAPSHOT_MIN_DOCS", 500)
    assert index.maintain() == "built"
    index.remove(range(1, 301))  # past 10% and below the minimum: the write's rebuild drops it
    assert meta(index.path, "snapshot_generation") is None and not snapshot_in_use(index)
    assert index.maintain() == "kept"
    assert_equivalent(index, fts_only(index.path), ["email", "customer"])


def test_clear_drops_the_snapshot(built: KeywordIndex) -> None:
    built.clear()
    assert meta(built.path, "snapshot_generation") is None and changed_count(built.path) == 0
    assert not any(snapshot_root(built.path).iterdir())
    assert built.search("email", 5) == []
    built.upsert(corpus(50))
    assert len(built.search("email", 5)) == 5 and not snapshot_in_use(built)


def test_a_snapshot_of_another_tokenizer_version_is_not_used(built: KeywordIndex,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    with sqlite3.connect(built.path) as conn:
        conn.execute("UPDATE meta SET value = 'old' WHERE key = 'tokens_version'")
    reader = KeywordIndex(built.path, read_only=True)
    with caplog.at_level(logging.WARNING):
        assert_equivalent(reader, fts_only(built.path), ["email", "customer email"])
    assert not snapshot_in_use(reader) and "tokenizer version" in caplog.text


def test_a_leftover_temporary_folder_breaks_nothing(built: KeywordIndex) -> None:
    leftover = snapshot_root(built.path) / f".tmp-{generation_name(7)}-12345"
    leftover.mkdir()
    (leftover / "postings.npy").write_bytes(b"half written")
    reader = KeywordIndex(built.path, read_only=True)
    assert_equivalent(reader, fts_only(built.path), ["email", "customer email"])
    assert snapshot_in_use(reader)
    built.rebuild_snapshot()
    assert not leftover.exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing", "missing folder", "bad info"])
def test_a_corrupt_current_snapshot_falls_back_to_fts5(built: KeywordIndex, damage: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    folder = snapshot_root(built.path) / generation_name(1)
    postings = folder / "postings.npy"
    if damage == "truncated":
        postings.write_bytes(postings.read_bytes()[:1000])
    elif damage == "garbage":
        postings.write_bytes(os.urandom(postings.stat().st_size))
    elif damage == "missing":
        (folder / "codes.npy").unlink()
    elif damage == "missing folder":
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
    else:
        (folder / "info.json").write_text("{not json", encoding="utf-8")
    reader = KeywordIndex(built.path, read_only=True)
    with caplog.at_level(logging.WARNING):
        assert_equivalent(reader, fts_only(built.path), ["email", "customer email", "orders"])
    assert not snapshot_in_use(reader) and "keyword snapshot" in caplog.text
    assert built.maintain() == "built", "`catalog index` replaces a snapshot that does not load"
    assert snapshot_in_use(reader), "the next generation is used again"


def test_postings_out_of_range_are_refused_when_loading(built: KeywordIndex,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Same shapes and header, values pointing outside the documents (negative ones would wrap around)."""
    postings = snapshot_root(built.path) / generation_name(1) / "postings.npy"
    values = np.load(postings)
    values[len(values) // 2] = -1
    np.save(postings, values)
    reader = KeywordIndex(built.path, read_only=True)
    with caplog.at_level(logging.WARNING):
        assert_equivalent(reader, fts_only(built.path), ["email", "customer email"])
    assert "outside" in caplog.text and not snapshot_in_use(reader)


def test_a_failure_during_a_snapshot_search_falls_back(built: KeywordIndex, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Whatever breaks while scoring from the mapped files (a file changed under the reader), the search is
    answered by FTS5 and that generation is not used again in this process."""
    reference = fts_only(built.path)
    expected = reference.search("customer email", 10)

    def broken(self: SnapshotScorer, depth: int) -> Any:
        raise IndexError("index 1000000000 is out of bounds")

    monkeypatch.setattr(SnapshotScorer, "any_term", broken)
    with caplog.at_level(logging.WARNING):
        assert_same(built.search("customer email", 10), expected, "after the failure")
    assert "failed" in caplog.text and not snapshot_in_use(built)
    monkeypatch.setattr(keywords, "SNAPSHOT_MIN_DOCS", 1)
    built.rebuild_snapshot()
    assert snapshot_in_use(built)


def test_a_rebuild_that_dies_before_its_commit_leaves_the_previous_generation(
        built: KeywordIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    built.upsert(corpus(20, seed=4, first_id=50_001, tag=" okapi"))

    def crash(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patched, pytest.raises(OSError, match="disk full"):
        patched.setattr("catalog.keyword_snapshot.os.replace", crash)
        built.rebuild_snapshot()
    assert meta(built.path, "snapshot_generation") == "1" and changed_count(built.path) == 20
    assert [p.name for p in snapshot_root(built.path).iterdir()] == [generation_name(1)]
    reader = KeywordIndex(built.path, read_only=True)
    assert_equivalent(reader, fts_only(built.path), ["okapi", "email okapi", "email"])
    assert built.rebuild_snapshot() == "built" and meta(built.path, "snapshot_generation") == "2"


def test_build_index_keeps_a_snapshot(settings: Any, actor: Any, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`catalog index` builds the snapshot at its end once the index is large enough."""
    from catalog.search import build_index, index_folder
    from tests.helpers import crawl, register

    monkeypatch.setattr(keywords, "SNAPSHOT_MIN_DOCS", 1)
    source = tmp_path / "shop.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE customers (cust_id INTEGER PRIMARY KEY, c_eml TEXT, cust_nm TEXT)")
    register(settings, "shop", f"sqlite:///{source}")
    crawl(settings, "shop")
    assert build_index(settings, actor)["keyword_snapshot"] == "built"
    assert build_index(settings, actor)["keyword_snapshot"] == "kept"
    path = index_folder(settings) / "keywords.sqlite"
    assert meta(path, "snapshot_generation") == "1"
    assert_equivalent(KeywordIndex(path, read_only=True), fts_only(path), ["customer email", "c_eml", "customers"])


def test_concurrent_searches_and_writes(built: KeywordIndex) -> None:
    """Searches from several threads share the view and the work arrays while the writer keeps writing: no
    error, and once the writes stop every thread sees exactly what FTS5 returns."""
    import threading

    texts = queries(count=24)
    errors: list[BaseException] = []
    done: list[int] = []
    stop = threading.Event()

    def searching() -> None:
        try:
            while not stop.is_set():
                for text in texts:
                    built.search(text, 20)
                    done.append(1)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=searching) for _ in range(4)]
    for thread in threads:
        thread.start()
    for round_ in range(5):
        built.upsert(corpus(40, seed=100 + round_, first_id=60_001 + 40 * round_, tag=" lynx"))
        built.remove(range(1 + 10 * round_, 6 + 10 * round_))
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(done) > 20
    reference = fts_only(built.path)
    results: dict[int, list[list[KeywordHit]]] = {}

    def final(slot: int) -> None:
        results[slot] = [built.search(text, 20) for text in texts + ["lynx"]]

    threads = [threading.Thread(target=final, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    expected = [reference.search(text, 20) for text in texts + ["lynx"]]
    for slot in range(4):
        for got, want, text in zip(results[slot], expected, texts + ["lynx"], strict=True):
            assert_same(got, want, text)


def test_a_snapshot_that_disagrees_with_fts5s_counts_is_not_built(built: KeywordIndex,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Should a stored term ever be split differently by FTS5's tokenizer, the lengths would differ: refused."""
    monkeypatch.setattr(keywords, "fts5_totals", lambda block: (3000, 1))
    with caplog.at_level(logging.WARNING):
        assert built.rebuild_snapshot() == "dropped"
    assert "not built" in caplog.text and meta(built.path, "snapshot_generation") is None
    assert not snapshot_in_use(built) and not any(snapshot_root(built.path).iterdir())
    assert_equivalent(built, fts_only(built.path), ["email"])
