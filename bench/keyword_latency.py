"""Benchmark: keyword search over 1,000,000 indexed columns - FTS5's bm25 against the postings snapshot, same run.

What is measured, and why:

* **data** - `--docs` synthetic search documents written straight into a `KeywordIndex` (no crawl, no store): the
  tables and columns of `bench/search_http.py` (20,000 tables x 49 columns + one document per table at 1M), each
  document shaped as `catalog.search_documents` writes it (name read as words, the name, an AI-style description,
  "column of <dataset>", the type; a table's document lists its columns). Build time is printed.
* **snapshot build** - `KeywordIndex.maintain()`, what `catalog index` runs at its end: time and size on disk.
* **search** - a fresh process opens the index read-only, as a web worker does, and times `--queries` queries of
  `bench/search_latency.py`'s `synthetic_queries` style (limit 50, what the HTTP search asks the keyword side for
  10 results), alternating the snapshot path and the FTS5 path query by query (the baseline, forced by giving that
  index no snapshot view), so both see the same machine state. p50/p95/p99 of each and the ratio; it also checks
  that both paths return the same hits, and reports the reader's memory (private and file-backed).
* **freshness** - `upsert` of 1,000 new documents (and 1,000 rewritten ones) after the snapshot, then the first
  search (which reads the changed documents) and the latency of searches through the changed-ids path.

Run: `flock /tmp/bench.lock python bench/keyword_latency.py [--docs 1000000] [--queries 300] [--home DIR]`.
Target: snapshot-path p95 well under 50 ms (the HTTP endpoint adds the query embedding, about 8 ms, and fusion).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_http import table_columns, table_name  # noqa: E402
from search_latency import percentiles, rss_mb, synthetic_queries  # noqa: E402

WIDTH = 49  # columns per table: with the table's own document, 50 documents a table
LIMIT = 50  # what catalog.search asks the keyword side for when 10 results are wanted (max(limit * 5, 50))


@cache
def words(name: str) -> str:
    from catalog.search_documents import name_words

    return name_words(name)


def documents(count: int, first_id: int = 1, variant: str = "") -> Iterator[tuple[int, str, str]]:
    """`count` documents, table by table: the table's own document, then its columns (as search_documents)."""
    doc_id, n = first_id, 0
    while doc_id < first_id + count:
        table = table_name(n)
        path = f"main/{table}"
        path_words = " ".join(words(part) for part in path.split("/"))
        columns = table_columns(n, WIDTH)
        subject = table.split("_")[1].rstrip("s")
        column_words = ", ".join(words(name) for name, _, _ in columns)
        yield doc_id, f"synth/{path}", " | ".join([
            path_words, path, f"{subject} records of {table.split('_')[0]}{variant}", "table in source synth",
            f"columns: {column_words}"])
        doc_id += 1
        for name, kind, about in columns:
            if doc_id >= first_id + count:
                return
            yield doc_id, name, " | ".join([words(name), name, f"{about} of the {subject}{variant}",
                                            f"column of {path_words} ({path})", kind.lower()])
            doc_id += 1
        n += 1


def build(folder: Path, count: int) -> dict[str, Any]:
    from catalog.keywords import KeywordIndex

    start = time.perf_counter()
    index = KeywordIndex(folder / "keywords.sqlite")
    index.upsert(documents(count))
    built = time.perf_counter() - start
    start = time.perf_counter()
    done = index.maintain()
    snapshot = time.perf_counter() - start
    index.close()
    size = sum(f.stat().st_size for f in (folder / "keywords.sqlite.snapshot").rglob("*") if f.is_file())
    fts = sum(f.stat().st_size for f in folder.glob("keywords.sqlite*") if f.is_file())
    return {"build_s": built, "snapshot_s": snapshot, "snapshot": done, "snapshot_mb": size / 2**20,
            "fts_mb": fts / 2**20}


def probe(folder: Path, queries: list[str]) -> dict[str, Any]:
    """In a fresh process: a read-only index as a web worker opens it; both paths timed query by query."""
    from catalog.keywords import KeywordIndex

    rss_before = rss_mb()
    snapshot = KeywordIndex(folder / "keywords.sqlite", read_only=True)
    fts = KeywordIndex(folder / "keywords.sqlite", read_only=True)
    fts._snapshots.view = lambda conn: None  # type: ignore[method-assign]  # the baseline: FTS5 only
    start = time.perf_counter()
    snapshot.search(queries[0], LIMIT)
    first = time.perf_counter() - start
    fts.search(queries[0], LIMIT)
    fast, slow, differ = [], [], 0
    for query in queries:
        start = time.perf_counter()
        got = snapshot.search(query, LIMIT)
        fast.append(time.perf_counter() - start)
        start = time.perf_counter()
        expected = fts.search(query, LIMIT)
        slow.append(time.perf_counter() - start)
        differ += got != expected
    return {"snapshot": percentiles(fast), "fts": percentiles(slow), "differ": differ, "first_ms": first * 1000,
            "rss_before": rss_before, "rss": rss_mb(), "rss_anon": rss_mb("RssAnon"), "rss_file": rss_mb("RssFile")}


def freshness(folder: Path, count: int, queries: list[str]) -> dict[str, Any]:
    """Upsert 1,000 new and rewrite 1,000 existing documents after the snapshot; time the writes, the first search
    (which reads those documents) and searches through the changed-ids path; compare with FTS5."""
    from catalog.keywords import KeywordIndex

    index = KeywordIndex(folder / "keywords.sqlite")
    index.search(queries[0], LIMIT)  # the snapshot loaded before the writes, as in a running server
    start = time.perf_counter()
    index.upsert(documents(1000, first_id=count + 1, variant=" (new)"))
    upsert_new = time.perf_counter() - start
    start = time.perf_counter()
    index.upsert(documents(1000, first_id=1, variant=" (rewritten)"))
    upsert_old = time.perf_counter() - start
    start = time.perf_counter()
    index.search(queries[1], LIMIT)
    first = time.perf_counter() - start
    fts = KeywordIndex(folder / "keywords.sqlite", read_only=True)
    fts._snapshots.view = lambda conn: None  # type: ignore[method-assign]
    seconds, differ = [], 0
    for query in queries:
        start = time.perf_counter()
        got = index.search(query, LIMIT)
        seconds.append(time.perf_counter() - start)
        differ += got != fts.search(query, LIMIT)
    return {"upsert_new_s": upsert_new, "upsert_old_s": upsert_old, "first_ms": first * 1000,
            "search": percentiles(seconds), "differ": differ, "queries": len(queries)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--home", type=Path, help="keep the index in this folder (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="measure the index already in --home")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)  # internal: the fresh reader process
    args = parser.parse_args(argv)
    queries = synthetic_queries(args.queries)
    if args.probe:
        print(json.dumps(probe(args.probe, queries)))
        return 0
    folder = args.home or Path(tempfile.mkdtemp(prefix="keyword-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if args.reuse:
            built = {"build_s": float("nan"), "snapshot_s": float("nan"), "snapshot": "reused",
                     "snapshot_mb": float("nan"), "fts_mb": float("nan")}
        else:
            shutil.rmtree(folder / "keywords.sqlite.snapshot", ignore_errors=True)
            for old in folder.glob("keywords.sqlite*"):
                old.unlink()
            built = build(folder, args.docs)
        print(f"index of {args.docs:,} documents: FTS5 built in {built['build_s']:.0f} s ({built['fts_mb']:,.0f} MB); "
              f"snapshot {built['snapshot']} in {built['snapshot_s']:.1f} s ({built['snapshot_mb']:,.0f} MB)",
              flush=True)
        done = subprocess.run([sys.executable, __file__, "--probe", str(folder), "--queries", str(args.queries)],
                              check=True, capture_output=True, text=True, env={**os.environ})
        read = json.loads(done.stdout.strip().splitlines()[-1])
        fresh = freshness(folder, args.docs, queries[:100])
    finally:
        if args.home is None:
            shutil.rmtree(folder, ignore_errors=True)
    report(args, read, fresh)
    return 0


def report(args: argparse.Namespace, read: dict[str, Any], fresh: dict[str, Any]) -> None:
    def ms(stats: dict[str, float]) -> str:
        return f"{stats['p50']:8.1f} / {stats['p95']:8.1f} / {stats['p99']:8.1f} ms"

    print(f"\nkeyword search, {args.docs:,} documents, {args.queries} queries, limit {LIMIT}, {os.cpu_count()} cores")
    print(f"  FTS5 bm25 (baseline)     p50/p95/p99 {ms(read['fts'])}")
    print(f"  postings snapshot        p50/p95/p99 {ms(read['snapshot'])}   "
          f"{'PASS' if read['snapshot']['p95'] <= 50 else 'FAIL'} (target p95 <= 50 ms)")
    print(f"  ratio (FTS5 / snapshot)  p50 {read['fts']['p50'] / read['snapshot']['p50']:.0f}x, "
          f"p95 {read['fts']['p95'] / read['snapshot']['p95']:.0f}x; results differing: {read['differ']}")
    print(f"  reader: first search {read['first_ms']:.0f} ms (opens the snapshot); RSS {read['rss']:,.0f} MB "
          f"({read['rss_anon']:,.0f} MB private + {read['rss_file']:,.0f} MB file-backed; "
          f"{read['rss_before']:,.0f} MB before opening)")
    print(f"  upsert 1,000 new docs {fresh['upsert_new_s'] * 1000:.0f} ms, 1,000 rewritten "
          f"{fresh['upsert_old_s'] * 1000:.0f} ms; first search after {fresh['first_ms']:.0f} ms; "
          f"then p50/p95/p99 {ms(fresh['search'])} over {fresh['queries']} queries "
          f"(results differing from FTS5: {fresh['differ']})")


if __name__ == "__main__":
    raise SystemExit(main())
