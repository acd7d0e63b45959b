"""Searches under concurrency (issue 11): query embeddings are batched, keyword searches do not queue behind one
connection. Both are what let one web worker answer many searches at once (bench/load.py measures the effect);
here only the behaviour is checked: which calls are made, what waits for what, and that results stay the same."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from annotator.embed import Embedder
from catalog.keywords import READERS, KeywordIndex

QUERIES = ["customer email", "order date", "warehouse temperature readings", "iban", "phone number of the agent",
           "refund amount"]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    result = Embedder()
    result.embed(["warm up"])  # load the model once for the module
    return result


def _recording(loaded: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every batch the model encodes from now on."""
    sizes: list[int] = []
    original = loaded.encode

    def encode(texts: list[str], threads: int | None = None) -> np.ndarray:
        sizes.append(len(texts))
        return original(texts, threads)

    monkeypatch.setattr(loaded, "encode", encode)
    return sizes


def test_waiting_queries_are_embedded_in_one_batch(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = embedder._model()
    sizes = _recording(loaded, monkeypatch)
    with loaded.lock:  # the model is busy (another batch): every query submitted meanwhile waits
        first = embedder.embed_query(QUERIES[0])
        time.sleep(0.3)  # the query thread has taken the first query and waits for the model
        rest = [embedder.embed_query(text) for text in QUERIES[1:]]
        assert not first.done() and not any(future.done() for future in rest)
    vectors = [future.result(timeout=30) for future in (first, *rest)]
    assert sum(sizes) == len(QUERIES) and len(sizes) <= 2, f"batches {sizes}: the waiting queries were not joined"
    alone = embedder.embed(QUERIES)
    for vector, expected in zip(vectors, alone, strict=True):
        assert vector.shape == (embedder.dimension,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
        assert float(vector @ expected) > 0.99999, "a batched query must get the vector it gets alone"


def test_a_failing_batch_fails_its_callers_and_the_next_query_works(embedder: Embedder,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = embedder._model()
    original = loaded.encode

    def broken(texts: list[str], threads: int | None = None) -> np.ndarray:
        raise RuntimeError("model exploded")

    monkeypatch.setattr(loaded, "encode", broken)
    with pytest.raises(RuntimeError, match="model exploded"):
        embedder.embed_query("customer email").result(timeout=30)
    monkeypatch.setattr(loaded, "encode", original)
    assert embedder.embed_query("customer email").result(timeout=30).shape == (embedder.dimension,)


@pytest.fixture
def keywords(tmp_path: Path) -> KeywordIndex:
    index = KeywordIndex(tmp_path / "keywords.sqlite")
    index.upsert((i, f"shop/main/t{i}#c_eml", f"customer e-mail address {i}") for i in range(1, 200))
    return index


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()), daemon=True)
    thread.start()
    return thread, out


def test_keyword_searches_do_not_wait_for_the_writer(keywords: KeywordIndex) -> None:
    with keywords._lock:  # an upsert or bookkeeping call holds the writing connection
        thread, out = _in_thread(lambda: keywords.search("customer email", 5))
        thread.join(timeout=10)
        assert not thread.is_alive(), "a search waited for the writer's lock"
    assert len(out[0]) == 5 and all("email" in hit.matched for hit in out[0])


def test_keyword_searches_use_at_most_readers_connections(keywords: KeywordIndex) -> None:
    with ExitStack() as busy:
        for _ in range(READERS):
            busy.enter_context(keywords._reader())
        thread, out = _in_thread(lambda: keywords.search("customer", 3))
        thread.join(timeout=0.5)
        assert thread.is_alive(), "a search beyond READERS must wait for a connection"
    thread.join(timeout=10)
    assert not thread.is_alive() and len(out[0]) == 3


def test_readers_see_what_the_writer_committed(keywords: KeywordIndex) -> None:
    assert keywords.search("zebra", 5) == []
    keywords.upsert([(500, "zoo/main/animals#zebra_cnt", "number of zebras")])
    assert [hit.id for hit in keywords.search("zebra", 5)] == [500]
    keywords.remove([500])
    assert keywords.search("zebra", 5) == []
