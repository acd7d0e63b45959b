"""Embeddings (the real bundled model), the vector cache, and the FAISS index with its crash-safe snapshots."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from annotator.embed import DEFAULT_MODEL, Embedder, EmbeddingError
from catalog import vector_index
from catalog.errors import CatalogError
from catalog.vector_files import CURRENT, committed_number, delta_name, prune, read_current, snapshot_name
from catalog.vector_index import IndexMismatch, VectorIndex
from catalog.vectors import VectorCache, embed_cached, text_key

DIM = 384


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    result = Embedder()
    result.embed(["warm up"])  # load once for the module
    return result


def random_vectors(n: int, seed: int = 0, rank: int = 32) -> np.ndarray:
    """Normalised vectors near a `rank`-dimension subspace: like sentence embeddings, whose neighbourhoods have
    structure (uniform noise in 384 dimensions has none, so every point is about equally far from every other)."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, DIM))
    x = rng.standard_normal((n, rank)) @ basis + 0.1 * rng.standard_normal((n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def brute_force(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    scores = vectors @ (query / np.linalg.norm(query))
    return [int(ids[i]) for i in np.argsort(-scores, kind="stable")[:k]]


# --- embeddings ----------------------------------------------------------------------------------------------------

def test_default_embedder_is_known_without_loading() -> None:
    fresh = Embedder()
    assert fresh.model_id == DEFAULT_MODEL and fresh.dimension == DIM
    assert Embedder("sentence-transformers/all-MiniLM-L6-v2").model_id == DEFAULT_MODEL


def test_embeddings_are_normalised_and_deterministic(embedder: Embedder) -> None:
    texts = ["orders.customer_email: the e-mail address of the customer", "total amount in EUR", "x"]
    first, second = embedder.embed(texts), embedder.embed(list(reversed(texts)))[::-1]
    assert first.dtype == np.float32 and first.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.allclose(first, second, atol=1e-5)
    assert embedder.embed([]).shape == (0, DIM)


def test_similar_texts_are_closer(embedder: Embedder) -> None:
    email, client, weather = embedder.embed(["customer email address", "e-mail of the client", "warehouse temperature"])
    assert float(email @ client) > float(email @ weather) + 0.2


def test_a_local_model_folder_gets_a_content_id(tmp_path: Path) -> None:
    from annotator.embed import bundled_model_path

    copy = tmp_path / "minilm"
    copy.symlink_to(bundled_model_path(), target_is_directory=True)
    local = Embedder(str(copy))
    assert local.model_id.startswith("minilm-") and local.dimension == DIM
    assert Embedder(str(copy)).model_id == local.model_id


def test_an_unknown_model_name_fails_clearly_without_downloading() -> None:
    with pytest.raises(EmbeddingError, match="offline"):
        Embedder("no-such-org/no-such-model-xyz").embed(["hello"])


# --- cache ---------------------------------------------------------------------------------------------------------

def test_text_key_is_sha256_of_model_and_text() -> None:
    import hashlib

    assert text_key("m", "hello") == hashlib.sha256(b"m\0hello").hexdigest()
    assert text_key("m1", "hello") != text_key("m2", "hello")


def test_cache_computes_each_text_once(tmp_path: Path, embedder: Embedder) -> None:
    cache = VectorCache(tmp_path / "search" / "vectors.sqlite", DIM)
    texts = ["customer email", "order date", "customer email", "shipping country"]
    vectors, computed = embed_cached(embedder, cache, texts)
    assert computed == 3 and vectors.shape == (4, DIM)
    assert np.array_equal(vectors[0], vectors[2])
    again, computed_again = embed_cached(embedder, VectorCache(cache.path, DIM), list(reversed(texts)))
    assert computed_again == 0
    assert np.allclose(again[::-1], vectors)
    assert embed_cached(embedder, cache, [])[0].shape == (0, DIM)


def test_cache_ignores_vectors_of_another_size(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    VectorCache(path, 8).put_many({"a": np.ones(8, dtype=np.float32)})
    assert VectorCache(path, 4).get_many(["a"]) == {}
    assert np.array_equal(VectorCache(path, 8).get_many(["a", "b"])["a"], np.ones(8))
    with pytest.raises(ValueError):
        VectorCache(path, 4).put_many({"c": np.ones(3)})


def test_cached_vectors_are_stored_inline_without_overflow_pages(tmp_path: Path) -> None:
    """With SQLite's default 4 KiB pages a 384-float row of the WITHOUT ROWID table spilled into an overflow page
    of its own (4.7 kB on disk per 1.5 kB vector); a new cache uses 16 KiB pages and stores rows inline."""
    import sqlite3

    from catalog.vectors import PAGE_SIZE

    path = tmp_path / "vectors.sqlite"
    cache = VectorCache(path, DIM)
    vectors = random_vectors(3000)
    cache.put_many({text_key("m", str(i)): v for i, v in enumerate(vectors)})
    cache.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    assert page_size == PAGE_SIZE
    assert page_size * pages / 3000 < 2.2 * vectors[0].nbytes  # ~1.9 kB per 1.5 kB vector; 4.7 kB before
    reopened = VectorCache(path, DIM)  # an existing file keeps working, and keeps its page size
    assert np.array_equal(reopened.get_many([text_key("m", "7")])[text_key("m", "7")], vectors[7])


# --- index: search and updates --------------------------------------------------------------------------------------

def test_exact_search_matches_brute_force(tmp_path: Path) -> None:
    vectors, ids = random_vectors(2000), np.arange(1000, 3000, dtype=np.int64)
    index = VectorIndex.load(tmp_path / "idx", DIM)
    index.upsert(ids, vectors)
    assert index.kind == "flat" and index.size == 2000
    for query in random_vectors(20, seed=1):
        found = index.search(query, 10)
        assert [i for i, _ in found] == brute_force(vectors, ids, query, 10)
        assert found[0][1] == pytest.approx(float(vectors[ids == found[0][0]][0] @ query), abs=1e-5)
        assert all(a[1] >= b[1] for a, b in zip(found, found[1:], strict=False))


def test_upsert_replaces_and_remove_forgets(tmp_path: Path) -> None:
    vectors = random_vectors(100)
    index = VectorIndex(tmp_path / "idx", DIM)
    index.upsert(np.arange(100), vectors)
    index.upsert(np.array([7, 7]), np.stack([vectors[50], vectors[60]]))  # duplicate ids: the last wins
    assert index.size == 100
    top = index.search(vectors[60], 2)
    assert {i for i, _ in top} == {7, 60} and top[0][1] == pytest.approx(1.0, abs=1e-5)
    assert index.search(vectors[50], 1)[0][0] == 50  # 7's old vector is gone
    index.remove([60, 999])
    assert 60 not in index and index.size == 99
    assert index.search(vectors[60], 1)[0][0] == 7
    index.remove(range(100))
    assert index.size == 0 and index.search(vectors[0], 5) == []


def test_tombstones_are_compacted(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "idx", DIM)
    index.upsert(np.arange(1000), random_vectors(1000))
    index.remove(range(0, 1000, 5))  # 20% removed: past the 10% rebuild ratio
    assert index._index.ntotal == index.size == 800
    assert index.search(random_vectors(1, seed=3)[0], 800)[-1][0] % 5 != 0


def test_allowed_filter_returns_k_allowed_results(tmp_path: Path) -> None:
    vectors, ids = random_vectors(3000), np.arange(3000, dtype=np.int64)
    index = VectorIndex(tmp_path / "idx", DIM)
    index.upsert(ids, vectors)
    query = random_vectors(1, seed=9)[0]
    thirds = set(range(0, 3000, 3))
    for allowed in (lambda i: i % 3 == 0, lambda i: i in {17, 2500, 2999}, {17, 2500, 2999, 10**9}, thirds):
        found = index.search(query, 10, allowed)
        keep = np.array([int(i) in allowed if isinstance(allowed, set) else allowed(int(i)) for i in ids])
        expected = brute_force(vectors[keep], ids[keep], query, 10)
        assert [i for i, _ in found] == expected
        assert found[0][1] == pytest.approx(float(vectors[found[0][0]] @ query), abs=1e-5)
    assert index.search(query, 10, lambda i: False) == [] and index.search(query, 10, set()) == []


def test_hnsw_path_recall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_index, "HNSW_THRESHOLD", 1000)
    vectors, ids = random_vectors(5000, seed=4), np.arange(5000, dtype=np.int64) * 3
    index = VectorIndex.load(tmp_path / "idx", DIM)
    index.upsert(ids[:500], vectors[:500])
    assert index.kind == "flat"
    index.upsert(ids[500:], vectors[500:])  # crosses the threshold: rebuilt once as HNSW
    assert index.kind == "hnsw" and index.size == 5000
    queries = random_vectors(100, seed=5)
    recall = np.mean([len({i for i, _ in index.search(q, 10)} & set(brute_force(vectors, ids, q, 10))) / 10
                      for q in queries])
    assert recall >= 0.95
    index.remove(ids[:100].tolist())
    index.upsert(ids[200:201], vectors[4000:4001])
    top = index.search(vectors[4000], 2)
    assert {i for i, _ in top} == {ids[200], ids[4000]} and top[0][1] == pytest.approx(1.0, abs=1e-4)
    assert all(i not in set(ids[:100].tolist()) for i, _ in index.search(vectors[50], 20))
    rare = {int(ids[7]), int(ids[4999])}  # too selective for HNSW candidates: falls back to an exact scan
    assert {i for i, _ in index.search(queries[0], 5, rare.__contains__)} == rare - set(ids[:100].tolist())
    assert {i for i, _ in index.search(queries[0], 5, rare)} == rare - set(ids[:100].tolist())
    wide = set(ids[::2].tolist())
    exact = index.search(queries[0], 10, wide)  # small enough to scan exactly
    monkeypatch.setattr(vector_index, "EXACT_SET_SIZE", 0)  # now searched through HNSW with the set as the filter
    assert len({i for i, _ in index.search(queries[0], 10, wide)} & {i for i, _ in exact}) >= 9
    index.save()
    again = VectorIndex.load(tmp_path / "idx", DIM)
    assert again.kind == "hnsw" and again.size == index.size
    flat = VectorIndex(tmp_path / "flat", DIM, hnsw_threshold=10_000)
    flat.upsert(ids[:2000], vectors[:2000])
    flat.hnsw_threshold = 1000  # lowered after the fact: the next save switches
    flat.save()
    assert flat.kind == "hnsw" and VectorIndex.load(tmp_path / "flat", DIM).kind == "hnsw"
    assert again.search(queries[1], 10) == index.search(queries[1], 10)


# --- index: snapshots -----------------------------------------------------------------------------------------------

def test_save_load_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    assert VectorIndex.load(folder, DIM).size == 0 and VectorIndex.load(folder, DIM).snapshot == 0
    vectors = random_vectors(300)
    index = VectorIndex.load(folder, DIM)
    index.upsert(np.arange(300) + 10, vectors)
    index.remove([10, 11])
    first = index.save()
    assert first.name == snapshot_name(1) and read_current(folder) == 1
    assert index.save() == first  # nothing changed: nothing written
    loaded = VectorIndex.load(folder, DIM)
    assert loaded.snapshot == 1 and loaded.size == 298
    assert np.array_equal(loaded.ids(), np.arange(12, 310))
    query = random_vectors(1, seed=2)[0]
    assert loaded.search(query, 10) == index.search(query, 10)
    loaded.upsert(np.array([5000]), query[None, :])
    assert loaded.save().name == delta_name(2, 1)  # one position on a 300-position base: a delta
    assert VectorIndex.load(folder, DIM).search(query, 1)[0][0] == 5000
    with pytest.raises(IndexMismatch):
        VectorIndex.load(folder, 128)


def test_read_only_load_maps_the_snapshot_and_refuses_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_index, "HNSW_THRESHOLD", 500)
    for kind, n in (("flat", 300), ("hnsw", 2000)):
        folder = tmp_path / kind
        vectors = random_vectors(n)
        writer = VectorIndex(folder, DIM)
        writer.upsert(np.arange(n), vectors)
        writer.remove([0, 1])
        writer.save()
        reader = VectorIndex.load(folder, DIM, read_only=True)
        assert reader.kind == kind and reader.size == n - 2
        for query in random_vectors(5, seed=6):
            assert reader.search(query, 10) == writer.search(query, 10)
            assert reader.search(query, 3, {5, 6, 7}) == writer.search(query, 3, {5, 6, 7})
        with pytest.raises(CatalogError, match="read-only"):
            reader.upsert(np.array([1]), vectors[:1])
        with pytest.raises(CatalogError, match="read-only"):
            reader.remove([3])
        with pytest.raises(CatalogError, match="read-only"):
            reader.save()
        for extra in range(3):  # the mapped snapshot is pruned from disk: the reader keeps a valid view
            writer.upsert(np.array([n + extra]), vectors[:1])
            writer.save(full=True)
        assert not (folder / snapshot_name(reader.snapshot)).exists()
        assert reader.is_stale() and reader.search(vectors[5], 1)[0][0] == 5


def test_old_snapshots_are_pruned(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    index = VectorIndex(folder, DIM)
    for i in range(4):
        index.upsert(np.array([i]), random_vectors(1, seed=i))
        index.save()
    assert sorted(p.name for p in folder.glob("index-*")) == [snapshot_name(3), snapshot_name(4)]


def saved_twice(folder: Path) -> tuple[VectorIndex, np.ndarray]:
    vectors = random_vectors(50)
    index = VectorIndex(folder, DIM)
    index.upsert(np.arange(50), vectors)
    index.save()
    return index, vectors


def test_crash_leftovers_never_break_loading(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    index, _ = saved_twice(folder)
    good = (folder / snapshot_name(1)).read_bytes()
    (folder / f".{snapshot_name(2)}.{os.getpid()}.tmp").write_bytes(os.urandom(4096))  # killed mid temp write
    (folder / snapshot_name(2)).write_bytes(good[: len(good) // 2])  # a torn snapshot nobody points at
    (folder / snapshot_name(3)).write_bytes(b"garbage")
    loaded = VectorIndex.load(folder, DIM)
    assert loaded.snapshot == 1 and loaded.size == 50
    (folder / CURRENT).write_text(snapshot_name(7) + "\n")  # CURRENT pointing at a missing file
    assert VectorIndex.load(folder, DIM).snapshot == 1
    (folder / CURRENT).unlink()
    assert VectorIndex.load(folder, DIM).snapshot == 1
    (folder / CURRENT).write_text("not a name")
    fresh = VectorIndex.load(folder, DIM)
    assert fresh.snapshot == 1 and not fresh.is_stale()
    fresh.upsert(np.array([99]), random_vectors(1, seed=8))
    assert fresh.save().name == delta_name(4, 1)  # numbers never reuse a torn file's name
    assert not list(folder.glob(".*.tmp"))
    assert (folder / snapshot_name(1)).exists()  # two newer (torn) bases, but CURRENT names it: never pruned
    assert VectorIndex.load(folder, DIM).size == 51


def test_a_valid_uncommitted_snapshot_is_used_only_without_a_valid_current(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    index, vectors = saved_twice(folder)
    index.upsert(np.array([77]), vectors[:1])
    index.save(full=True)
    (folder / CURRENT).write_text(snapshot_name(1) + "\n")  # crash after the rename, before CURRENT moved
    assert VectorIndex.load(folder, DIM).snapshot == 1
    (folder / snapshot_name(1)).write_bytes(b"torn")
    assert VectorIndex.load(folder, DIM).snapshot == 2


KILL_SCRIPT = """
import sys
import numpy as np
from catalog.vector_index import VectorIndex
index = VectorIndex.load(sys.argv[1], {dim})
rng = np.random.default_rng(0)
index.upsert(np.arange(40000) + 100, rng.standard_normal((40000, {dim})).astype("float32"))
print("ready", flush=True)
for i in range(100000):  # saves back to back: deltas, and a 60 MB full snapshot every MAX_DELTAS + 1 saves
    index.upsert(np.array([100 + i % 40000]), rng.standard_normal((1, {dim})).astype("float32"))
    index.save()
"""


@pytest.mark.parametrize("delay", [0.4, 1.1, 1.9])
def test_kill_during_save_leaves_a_loadable_index(tmp_path: Path, delay: float) -> None:
    folder = tmp_path / "idx"
    saved_twice(folder)
    command = [sys.executable, "-c", KILL_SCRIPT.format(dim=DIM), str(folder)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=Path(__file__).parents[1])
    assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    loaded = VectorIndex.load(folder, DIM)
    assert loaded.snapshot >= 1 and loaded.size in {50, 40050}
    assert len(loaded.search(random_vectors(1)[0], 5)) == 5
    loaded.upsert(np.array([1]), random_vectors(1))
    assert loaded.save().name.startswith(("index-", "delta-"))  # the next writer cleans up after the dead one
    assert not list(folder.glob(".*.tmp"))


def test_is_stale_after_another_instance_saves(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    reader = VectorIndex.load(folder, DIM)
    assert not reader.is_stale()
    writer = VectorIndex.load(folder, DIM)
    writer.upsert(np.arange(10), random_vectors(10))
    writer.save()
    assert reader.is_stale() and not writer.is_stale()
    reader = VectorIndex.load(folder, DIM)
    assert not reader.is_stale() and reader.size == 10
    writer.upsert(np.array([10]), random_vectors(1, seed=3))  # 1 position on a 10-position base: a delta
    assert writer.save().name == delta_name(2, 1)
    assert reader.is_stale() and not writer.is_stale()
    assert 10 in reader.refresh() and 10 in VectorIndex.load(folder, DIM)


# --- index: delta saves ---------------------------------------------------------------------------------------------

def index_of(folder: Path, live: dict[int, np.ndarray]) -> VectorIndex:
    """The reference: one index built in a single upsert from the final id -> vector map (never saved)."""
    ids = np.array(sorted(live), dtype=np.int64)
    result = VectorIndex(folder, DIM)
    result.upsert(ids, np.stack([live[i] for i in ids.tolist()]))
    return result


def with_deltas(folder: Path, deltas: int, base: int = 500) -> tuple[VectorIndex, np.ndarray]:
    """A base of `base` ids (0..), then `deltas` delta saves each adding id 1000 + k (k = 2, 3, ...)."""
    vectors = random_vectors(base + deltas, seed=30)
    index = VectorIndex(folder, DIM)
    index.upsert(np.arange(base), vectors[:base])
    assert index.save().name == snapshot_name(1)
    for k in range(2, deltas + 2):
        index.upsert(np.array([1000 + k]), vectors[base + k - 2:base + k - 1])
        assert index.save().name == delta_name(k, 1)
    return index, vectors


def test_a_delta_save_writes_only_the_change(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    index = VectorIndex(folder, DIM)
    index.upsert(np.arange(5000), random_vectors(5000))
    base = index.save()
    base_stat = base.stat()
    index.upsert(np.arange(100) + 10_000, random_vectors(100, seed=1))
    index.remove(range(10))
    delta = index.save()
    assert delta.name == delta_name(2, 1) and read_current(folder) == 2
    assert (folder / CURRENT).read_text().split() == [snapshot_name(1), delta_name(2, 1)]
    body = 100 * (8 + 4 * DIM) + 10 * 8  # ids and vectors of 100 positions, 10 tombstoned positions
    assert body < delta.stat().st_size < body + 512  # plus the meta and trailer
    assert delta.stat().st_size * 40 < base_stat.st_size
    after = base.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (base_stat.st_ino, base_stat.st_mtime_ns,
                                                                base_stat.st_size)  # the base is never rewritten


def test_load_after_delta_saves_matches_a_full_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "idx"
    rng = np.random.default_rng(11)
    vectors = random_vectors(3200, seed=11)
    live = {i: vectors[i] for i in range(3000)}
    index = VectorIndex(folder, DIM)
    index.upsert(np.arange(3000), vectors[:3000])
    index.save()
    for step in range(5):
        new_ids = np.arange(40) + 10_000 + 40 * step
        index.upsert(new_ids, vectors[3000 + 40 * step:3040 + 40 * step])
        live.update(zip(new_ids.tolist(), vectors[3000 + 40 * step:3040 + 40 * step], strict=True))
        replaced = rng.choice(sorted(live), 10, replace=False)  # ids of the base and of earlier deltas
        fresh = random_vectors(10, seed=100 + step)
        index.upsert(replaced, fresh)
        live.update(zip(replaced.tolist(), fresh, strict=True))
        gone = rng.choice(sorted(live), 8, replace=False).tolist()
        index.remove(gone)
        for id_ in gone:
            del live[id_]
        index.upsert(np.array([99_000]), vectors[:1])  # added and removed between two saves
        index.remove([99_000])
        assert index.save().name == delta_name(step + 2, 1)
    reference = index_of(tmp_path / "reference", live)
    queries = random_vectors(15, seed=12)
    for loaded in (VectorIndex.load(folder, DIM), VectorIndex.load(folder, DIM, read_only=True)):
        assert loaded.snapshot == 6 and loaded._overlay is not None and loaded._overlay.ntotal == 5 * 51
        assert np.array_equal(loaded.ids(), reference.ids()) and 99_000 not in loaded
        for query in queries:
            for allowed in (None, lambda i: i % 3 == 0, set(range(9_000, 10_100))):
                got, want = loaded.search(query, 10, allowed), reference.search(query, 10, allowed)
                assert [i for i, _ in got] == [i for i, _ in want]
                assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
        monkeypatch.setattr(vector_index, "GATHER_LIMIT", 0)  # exact scans through bitmap selectors instead
        mixed = set(range(0, 3000, 7)) | set(range(10_000, 10_200, 2))  # in the base and in the overlay
        assert [i for i, _ in loaded.search(queries[0], 10, mixed)] == \
            [i for i, _ in reference.search(queries[0], 10, mixed)]
        monkeypatch.undo()


def test_hnsw_base_with_deltas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_index, "HNSW_THRESHOLD", 1000)
    folder = tmp_path / "idx"
    vectors = random_vectors(3300, seed=13)
    index = VectorIndex(folder, DIM)
    index.upsert(np.arange(3000), vectors[:3000])
    index.save()
    for step in range(3):
        index.upsert(np.arange(3000, 3100) + 100 * step, vectors[3000 + 100 * step:3100 + 100 * step])
        index.remove([step])
        assert index.save().name == delta_name(step + 2, 1)
    ids = np.arange(3, 3300)
    for loaded in (VectorIndex.load(folder, DIM), VectorIndex.load(folder, DIM, read_only=True)):
        assert loaded.kind == "hnsw" and loaded.size == 3297 and loaded._index.ntotal == 3000
        for position in (3000, 3150, 3299):  # delta vectors come from the exact overlay
            assert loaded.search(vectors[position], 1)[0] == (position, pytest.approx(1.0, abs=1e-4))
        recall = np.mean([len({i for i, _ in loaded.search(q, 10)} & set(brute_force(vectors[3:], ids, q, 10)))
                          / 10 for q in random_vectors(50, seed=14)])
        assert recall >= 0.95
        allowed = {1, 2, 5, 3001, 3250}
        assert {i for i, _ in loaded.search(vectors[0], 10, allowed)} == {5, 3001, 3250}


def test_compaction_past_the_threshold_and_pruning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "idx"
    index = VectorIndex(folder, DIM)
    index.upsert(np.arange(1000), random_vectors(1000))
    index.save()
    extra = random_vectors(200, seed=21)
    names = []
    for step in range(4):  # 30 positions per save: 30, 60, 90 fit in 10% of 1000; 120 do not
        index.upsert(np.arange(30) + 2000 + 30 * step, extra[30 * step:30 * step + 30])
        names.append(index.save().name)
    assert names == [delta_name(2, 1), delta_name(3, 1), delta_name(4, 1), snapshot_name(5)]
    assert (folder / CURRENT).read_text().split() == [snapshot_name(5)] and index._overlay is None
    assert all((folder / name).exists() for name in names)  # the previous base and its deltas stay (fallback)
    stale_writer = VectorIndex.load(folder, DIM)
    monkeypatch.setattr(vector_index, "MAX_DELTAS", 2)
    names = []
    for step in range(3):
        index.upsert(np.array([3000 + step]), extra[150 + step:151 + step])
        names.append(index.save().name)
    assert names == [delta_name(6, 5), delta_name(7, 5), snapshot_name(8)]
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == \
        [CURRENT, delta_name(6, 5), delta_name(7, 5), snapshot_name(5), snapshot_name(8)]  # base 1 pruned
    index.remove(range(0, 1000, 4))  # 25% tombstoned: rebuilt, positions renumbered: only a full snapshot says so
    assert index.save().name == snapshot_name(9)
    assert not (folder / snapshot_name(5)).exists()
    stale_writer.upsert(np.array([4000]), extra[199:200])  # its base was pruned meanwhile: a full snapshot
    assert stale_writer.save().name == snapshot_name(10)
    assert VectorIndex.load(folder, DIM).size == 1121


def test_prune_never_deletes_what_current_names(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    with_deltas(folder, 2)
    for number in (4, 5, 6):
        (folder / snapshot_name(number)).write_bytes((folder / snapshot_name(1)).read_bytes())
    prune(folder, keep=1)
    assert sorted(p.name for p in folder.glob("*-*")) == [delta_name(2, 1), delta_name(3, 1), snapshot_name(1),
                                                         snapshot_name(6)]


def test_a_torn_or_missing_delta_falls_back_to_the_newest_consistent_state(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    with_deltas(folder, 3)  # base 1, deltas 2, 3, 4 adding ids 1002, 1003, 1004
    d3, d4 = folder / delta_name(3, 1), folder / delta_name(4, 1)
    good3, good4 = d3.read_bytes(), d4.read_bytes()

    def state(read_only: bool = False) -> tuple[int, list[int]]:
        loaded = VectorIndex.load(folder, DIM, read_only=read_only)
        assert not loaded.is_stale() and committed_number(folder) == loaded.snapshot  # no reload on every request
        return loaded.snapshot, [i for i in (1002, 1003, 1004) if i in loaded]

    assert state() == (4, [1002, 1003, 1004])
    d3.write_bytes(good3[: len(good3) // 2])  # torn: the state before it, never the deltas after it
    assert state() == state(read_only=True) == (2, [1002])
    d3.unlink()  # missing
    assert state() == (2, [1002])
    d3.write_bytes(good3)
    body = bytearray(good4)
    body[100] ^= 0xFF  # damaged inside, same size: the checksum catches it
    d4.write_bytes(bytes(body))
    assert state() == (3, [1002, 1003])
    d4.write_bytes(good4)
    assert state() == (4, [1002, 1003, 1004])
    writer = VectorIndex.load(folder, DIM)
    writer.upsert(np.array([1005]), random_vectors(1, seed=31))
    writer.save()
    (folder / CURRENT).write_text("\n".join([snapshot_name(1), delta_name(2, 1), delta_name(3, 1),
                                             delta_name(4, 1)]) + "\n")  # crash after the rename, before CURRENT
    assert state() == (4, [1002, 1003, 1004]) and 1005 not in VectorIndex.load(folder, DIM)
    (folder / CURRENT).write_text("garbage")  # no usable CURRENT: the newest consistent state, uncommitted or not
    assert state()[0] == 5 and 1005 in VectorIndex.load(folder, DIM)
    (folder / CURRENT).write_text(f"{snapshot_name(1)}\n{delta_name(3, 1)}\n")  # a chain with a gap
    assert VectorIndex.load(folder, DIM).snapshot == 5


def test_refresh_reads_only_the_new_deltas(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    writer, vectors = with_deltas(folder, 1)
    query = random_vectors(1, seed=40)[0]
    for read_only in (True, False):
        reader = VectorIndex.load(folder, DIM, read_only=read_only)
        before = reader.search(query, 10)
        writer.upsert(np.array([2000, 2001]), random_vectors(2, seed=41))
        writer.remove([7])
        writer.save()
        assert reader.is_stale()
        refreshed = reader.refresh()
        assert refreshed._index is reader._index and refreshed.read_only == read_only  # the base was not re-read
        assert not refreshed.is_stale() and refreshed.snapshot == writer.snapshot
        assert 2000 in refreshed and 7 not in refreshed and 7 in reader  # the old instance is unchanged
        assert reader.search(query, 10) == before
        assert refreshed.search(query, 10) == VectorIndex.load(folder, DIM).search(query, 10)
        writer.upsert(np.array([7]), vectors[7:8])
        writer.save()
    writer.save(full=True)  # a compaction: refresh must read the new base
    reader = VectorIndex.load(folder, DIM)
    writer.upsert(np.array([2002]), random_vectors(1, seed=42))
    writer.save(full=True)
    assert reader.refresh()._index is not reader._index and 2002 in reader.refresh()


def test_instances_sharing_a_base_never_add_to_it(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    writer, vectors = with_deltas(folder, 0)
    worker = VectorIndex.load(folder, DIM)  # search.py's instance: searched, and written by `catalog index`
    writer.upsert(np.array([3000]), vectors[:1])
    writer.save()
    refreshed = worker.refresh()
    query = random_vectors(1, seed=43)[0]
    answer = refreshed.search(query, 5)
    worker.upsert(np.array([3002]), query[None, :])  # the old instance (no overlay yet) writes: not into the base
    assert refreshed._index.ntotal == 500 and refreshed.search(query, 5) == answer
    old_answer = worker.search(query, 5)
    assert old_answer[0][0] == 3002
    refreshed.upsert(np.array([3001]), random_vectors(1, seed=44))  # into its overlay
    assert refreshed._index is worker._index and worker.search(query, 5) == old_answer
    assert refreshed.save().name.startswith("delta-")
    refreshed.save(full=True)  # folds the overlay into a private copy of the base
    assert refreshed._index is not worker._index and worker.search(query, 5) == old_answer
    assert worker._index.ntotal == 500 and {3000, 3001} <= set(VectorIndex.load(folder, DIM).ids().tolist())


WRITER_SCRIPT = """
import sys
import numpy as np
from catalog.vector_index import VectorIndex
index = VectorIndex.load(sys.argv[1], {dim})
index.upsert(np.array([5000, 5001]), np.random.default_rng(7).standard_normal((2, {dim})).astype("float32"))
index.remove([3])
print(index.save().name)
"""


def test_another_process_sees_a_delta(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    with_deltas(folder, 1)
    readers = [VectorIndex.load(folder, DIM), VectorIndex.load(folder, DIM, read_only=True)]
    assert not any(reader.is_stale() for reader in readers)
    out = subprocess.run([sys.executable, "-c", WRITER_SCRIPT.format(dim=DIM), str(folder)], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == delta_name(3, 1)
    for reader in readers:
        assert reader.is_stale()
        for fresh in (reader.refresh(), VectorIndex.load(folder, DIM, read_only=reader.read_only)):
            assert not fresh.is_stale() and {5000, 5001} <= set(fresh.ids().tolist()) and 3 not in fresh


KILL_DELTA_SCRIPT = """
import sys
import numpy as np
from catalog import vector_index
from catalog.vector_index import VectorIndex
vector_index.MAX_DELTAS = 10**9  # only delta saves after the first
index = VectorIndex.load(sys.argv[1], {dim})
index.upsert(np.arange(40000) + 100, np.random.default_rng(0).standard_normal((40000, {dim})).astype("float32"))
index.save()
print("ready", flush=True)
for i in range(3000):  # delta saves back to back, each adding one id and removing another
    index.upsert(np.array([1_000_000 + i]), np.random.default_rng(i).standard_normal((1, {dim})).astype("float32"))
    index.remove([100 + i])
    index.save()
"""


@pytest.mark.parametrize("delay", [0.3, 0.9])
def test_kill_during_delta_saves_leaves_a_consistent_index(tmp_path: Path, delay: float) -> None:
    folder = tmp_path / "idx"
    saved_twice(folder)
    command = [sys.executable, "-c", KILL_DELTA_SCRIPT.format(dim=DIM), str(folder)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=Path(__file__).parents[1])
    assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert list(folder.glob("delta-*")), "the kill should land among delta saves"
    loaded = VectorIndex.load(folder, DIM)
    added = sorted(int(i) - 1_000_000 for i in loaded.ids() if i >= 1_000_000)
    saves = len(added)
    assert added == list(range(saves)) and loaded.size == 40050  # every delta whole, in order: a prefix
    assert not any(100 + i in loaded for i in range(saves)) and all(100 + i in loaded for i in range(saves, 3000))
    if saves:
        last = np.random.default_rng(saves - 1).standard_normal(DIM)
        assert loaded.search(last, 1)[0] == (1_000_000 + saves - 1, pytest.approx(1.0, abs=1e-4))
    assert not loaded.is_stale()
    loaded.upsert(np.array([1]), random_vectors(1))
    loaded.save()
    assert not list(folder.glob(".*.tmp")) and VectorIndex.load(folder, DIM).size == 40050
