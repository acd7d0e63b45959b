"""Benchmark: vector search over 1,000,000 indexed columns (synthetic) - latency, memory, incremental update, load.

What is measured, and why:

* **data** - 20,000 synthetic column documents (`source/table.column (type): description`) are embedded for real
  with the bundled all-MiniLM-L6-v2 (through the vector cache, so a rerun with `--cache` skips it). Embedding 1M
  texts would take about 40 minutes on 2 cores, so the other vectors are derived: each is a real vector plus 0.35 of
  another real vector plus a little noise, normalised. That keeps the structure of real embeddings (neighbourhoods
  in a low-dimensional subspace), which uniform noise would not: HNSW recall and latency on pure noise say nothing
  about a catalog. Queries are 1,000 separately written natural-language questions, embedded for real.
* **search** - `VectorIndex.search(k=10)` in-process over 1,000 queries (p50/p95/p99), plus the query embedding
  (what the HTTP endpoint adds before searching), and searches with an `allowed` filter letting 10% and 0.1% of
  the ids through (visibility): the 0.1% case is too selective for HNSW candidates and falls back to an exact scan
  (a Python predicate is then called once per id; an id set is scanned directly).
* **baseline** - an exact numpy scan of all vectors per query, in the same run; the table prints the speed-up and
  HNSW recall@10 against it.
* **memory and load** - a fresh process loads the index (base + the delta above) as an API worker would, both
  read into memory and memory-mapped (`read_only=True`): load time, first-search latency, RSS after 200 searches;
  and the file size.
* **update** - upserting 1,000 new columns into the built index, then `save()`, which writes a delta file of
  only those columns (the "seconds, not a rebuild" target); then 1,000 more saved as a full snapshot, the baseline
  of the same change at the same size in the same run (the ratio). A memory-mapped worker that held the base
  `refresh()`es after the delta (reads only the delta), against a fresh memory-mapped load.
* **HTTP** - `http_latency()` measures `GET /api/v1/search?q=...&limit=10` when `--url` is given (point it at a
  catalog holding a large index). `--http` builds that catalog itself instead (`bench/search_http.py`: a SQLite
  source of `--tables` x `--width` columns crawled by `catalog crawl`, described, its vector cache seeded with
  derived vectors so that `catalog index` embeds nothing, indexed by `catalog index`, served by `catalog serve`)
  and measures hybrid, keyword-only and vector-only searches over HTTP and the server's memory; it replaces the
  in-process measurements in that run.

Run: `python bench/search_latency.py [--columns 1000000] [--url URL --token T]`; `--columns 200000` for a quick
run; `python bench/search_latency.py --http [--tables 20000 --width 50] [--home DIR [--reuse]]` for the API at 1M
columns (about 20-30 minutes to build on 2 cores; `--home` keeps the catalog, `--reuse` serves it again).
Target: p95 (embed + search, and HTTP when measured) at most 50 ms. Always exits 0 once it has measured.
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
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from annotator.embed import Embedder
from catalog.vector_index import Allowed, VectorIndex
from catalog.vectors import VectorCache, embed_cached

TARGET_P95_MS = 50.0
REAL_TEXTS = 20_000
SOURCES = ["shop", "crm", "erp", "lake", "hr", "billing", "logistics", "marketing", "support", "finance"]
TABLES = ["orders", "customers", "invoices", "shipments", "products", "employees", "tickets", "payments", "campaigns",
          "warehouses", "suppliers", "returns", "subscriptions", "sessions", "events", "accounts", "contracts",
          "leads", "inventory", "refunds"]
QUALIFIERS = ["", "billing", "shipping", "primary", "secondary", "last", "first", "original", "updated", "normalized"]
BASES = [("email", "varchar", "e-mail address"), ("phone", "varchar", "telephone number"),
         ("name", "varchar", "full name"), ("address", "text", "street address"), ("city", "varchar", "city"),
         ("country", "char(2)", "ISO country code"), ("zip", "varchar", "postal code"),
         ("created_at", "timestamp", "creation time"), ("updated_at", "timestamp", "time of the last change"),
         ("amount", "numeric", "amount in euros"), ("currency", "char(3)", "currency code"),
         ("status", "varchar", "processing status"), ("quantity", "integer", "number of units"),
         ("price", "numeric", "unit price"), ("discount", "numeric", "discount rate"),
         ("birth_date", "date", "date of birth"), ("iban", "varchar", "bank account number"),
         ("ip", "inet", "client IP address"), ("latitude", "double", "geographic latitude"),
         ("longitude", "double", "geographic longitude"), ("sku", "varchar", "stock keeping unit"),
         ("weight", "numeric", "weight in kilograms"), ("rating", "smallint", "satisfaction score from 1 to 5"),
         ("notes", "text", "free-text remarks"), ("tax", "numeric", "value added tax"),
         ("due_date", "date", "payment deadline"), ("manager_id", "bigint", "reference to the responsible manager"),
         ("department", "varchar", "organisational unit"), ("salary", "numeric", "gross yearly salary"),
         ("channel", "varchar", "acquisition channel"), ("priority", "smallint", "urgency level"),
         ("tracking_code", "varchar", "parcel tracking number"), ("carrier", "varchar", "shipping company"),
         ("session_length", "integer", "visit duration in seconds"), ("device", "varchar", "device type"),
         ("language", "varchar", "preferred language"), ("vat_id", "varchar", "tax identification number"),
         ("stock_level", "integer", "units on hand"), ("margin", "numeric", "profit margin"),
         ("consent", "boolean", "marketing consent flag")]
QUESTIONS = ["where is the {q} {b} of {t} stored", "{b} of {t}", "which table has the {d} for {t}",
             "{t} {d}", "find the {q} {d}", "column with {d} in {s}", "how do we record {d} per {t_one}"]


def synthetic_texts(n: int = REAL_TEXTS) -> list[str]:
    """`n` distinct column documents over sources x tables x qualified columns (20,000 combinations)."""
    texts = []
    for source in SOURCES:
        for table in TABLES:
            for qualifier in QUALIFIERS:
                for base, kind, description in BASES[:10] if qualifier else BASES:
                    column = f"{qualifier}_{base}" if qualifier else base
                    about = f"{qualifier} {description}" if qualifier else description
                    texts.append(f"{source}/{table}.{column} ({kind}): {about} of the {table.rstrip('s')}")
    rng = np.random.default_rng(0)
    while len(texts) < n:  # top up with reworded variants (only when n exceeds the combinations)
        texts.append(f"{texts[int(rng.integers(len(texts)))]}, copy {len(texts)}")
    return texts[:n]


def synthetic_queries(n: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base, _, description = BASES[int(rng.integers(len(BASES)))]
        table = TABLES[int(rng.integers(len(TABLES)))]
        template = QUESTIONS[int(rng.integers(len(QUESTIONS)))]
        out.append(template.format(q=QUALIFIERS[int(rng.integers(len(QUALIFIERS)))] or "main", b=base.replace("_", " "),
                                   d=description, t=table, t_one=table.rstrip("s"),
                                   s=SOURCES[int(rng.integers(len(SOURCES)))]))
    return out


def derive_vectors(real: np.ndarray, n: int, seed: int = 2) -> np.ndarray:
    """`n` vectors: the real ones first, then real[i] + 0.35 * real[j] + small noise, normalised (chunked)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    head = min(n, real.shape[0])
    out[:head] = real[:head]
    for start in range(head, n, 100_000):
        stop = min(n, start + 100_000)
        a = real[rng.integers(real.shape[0], size=stop - start)]
        b = real[rng.integers(real.shape[0], size=stop - start)]
        block = a + 0.35 * b + rng.normal(0, 0.01, size=a.shape).astype(np.float32)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "p99": float(np.percentile(ms, 99))}


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process from /proc (Linux): VmRSS in all, RssAnon private, RssFile file-backed."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_searches(index: VectorIndex, queries: np.ndarray, allowed: Allowed = None,
                  limit: int | None = None) -> tuple[dict[str, float], list[list[int]]]:
    seconds, results = [], []
    for query in queries[:limit]:
        start = time.perf_counter()
        found = index.search(query, 10, allowed)
        seconds.append(time.perf_counter() - start)
        results.append([i for i, _ in found])
    return percentiles(seconds), results


def time_query_embedding(embedder: Embedder, queries: Sequence[str]) -> dict[str, float]:
    seconds = []
    for text in queries:
        start = time.perf_counter()
        embedder.embed([text])
        seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


def exact_baseline(data: np.ndarray, queries: np.ndarray) -> tuple[dict[str, float], list[list[int]]]:
    """Exact top-10 by a full numpy scan per query: ground truth for recall and the latency baseline."""
    seconds, truth = [], []
    for query in queries:
        start = time.perf_counter()
        scores = data @ query
        top = np.argpartition(-scores, 10)[:10]
        truth.append(top[np.argsort(-scores[top])].tolist())
        seconds.append(time.perf_counter() - start)
    return percentiles(seconds), truth


def load_probe(folder: Path, dimension: int, read_only: bool) -> dict[str, float]:
    """Load the snapshot in a fresh process (what an API worker does): load seconds, first-search latency, and RSS
    growth after 200 searches, split into private memory and mapped file pages (shared between processes)."""
    command = [sys.executable, __file__, "--probe", str(folder), "--dimension", str(dimension)]
    out = subprocess.run(command + (["--read-only"] if read_only else []), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _probe(folder: Path, dimension: int, read_only: bool) -> None:
    before = {field: rss_mb(field) for field in ("RssAnon", "RssFile")}
    start = time.perf_counter()
    index = VectorIndex.load(folder, dimension, read_only=read_only)
    loaded = time.perf_counter() - start
    queries = np.random.default_rng(3).standard_normal((200, dimension)).astype(np.float32)
    start = time.perf_counter()
    index.search(queries[0], 10)
    first = time.perf_counter() - start
    for query in queries[1:]:
        index.search(query, 10)
    print(json.dumps({"load_s": loaded, "first_ms": first * 1000, "size": index.size,
                      **{field: rss_mb(field) - value for field, value in before.items()}}))


# ---------------------------------------------------------------------------------------------------------------------
# HTTP: wire this to a catalog served with a large index (the lead's `GET /api/v1/search`).
# ---------------------------------------------------------------------------------------------------------------------
def http_latency(base_url: str, queries: Sequence[str], token: str | None = None) -> dict[str, float]:
    """p50/p95/p99 of `GET {base_url}/api/v1/search?q=...&limit=10`, one request at a time over one connection."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    seconds = []
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=30.0) as client:
        for text in queries[:5]:  # warm-up: connection, model load, index load
            client.get("/api/v1/search", params={"q": text, "limit": 10}).raise_for_status()
        for text in queries:
            start = time.perf_counter()
            client.get("/api/v1/search", params={"q": text, "limit": 10}).raise_for_status()
            seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


def build(folder: Path, data: np.ndarray) -> tuple[VectorIndex, float, float]:
    """The index built through VectorIndex.upsert in chunks; returns it, build seconds and save seconds."""
    index = VectorIndex.load(folder, data.shape[1])
    start = time.perf_counter()
    for offset in range(0, data.shape[0], 100_000):
        index.upsert(np.arange(offset, min(offset + 100_000, data.shape[0])), data[offset:offset + 100_000])
        print(f"  indexed {min(offset + 100_000, data.shape[0]):>9,} ({time.perf_counter() - start:6.1f} s)",
              flush=True)
    built = time.perf_counter() - start
    start = time.perf_counter()
    index.save()
    return index, built, time.perf_counter() - start


def run(args: argparse.Namespace, workdir: Path) -> list[tuple[str, str, str]]:
    embedder = Embedder()
    cache = VectorCache(Path(args.cache) if args.cache else workdir / "vectors.sqlite", embedder.dimension)
    start = time.perf_counter()
    real, computed = embed_cached(embedder, cache, synthetic_texts(min(REAL_TEXTS, args.columns)))
    print(f"embedded {computed:,} texts ({real.shape[0] - computed:,} cached) in {time.perf_counter() - start:.1f} s")
    query_texts = synthetic_queries(args.queries)
    queries = embedder.embed(query_texts)
    data = derive_vectors(real, args.columns)
    rss_before = rss_mb()
    index, built, saved = build(workdir / "index", data)
    on_disk = sum(p.stat().st_size for p in (workdir / "index").glob("index-*")) / 2**20
    rows = [("columns indexed", f"{index.size:,}", f"{index.kind}"),
            ("build (upsert all)", f"{built:.1f} s", f"{args.columns / built:,.0f} vectors/s"),
            ("full save", f"{saved:.1f} s", f"{on_disk:,.0f} MB on disk"),
            ("RSS growth while building", f"{rss_mb() - rss_before:,.0f} MB", "index + mapping, this process")]
    search, found = time_searches(index, queries)
    embed_ms = time_query_embedding(embedder, query_texts[:200])
    exact, truth = exact_baseline(data, queries[:100])
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=False)])
    total_p95 = search["p95"] + embed_ms["p95"]
    rows += [("search p50/p95/p99", _ms(search), f"recall@10 {recall:.3f} vs exact"),
             ("exact scan baseline", _ms(exact), f"search is {exact['p50'] / search['p50']:,.0f}x faster at p50"),
             ("query embedding", _ms(embed_ms), "one text, bundled MiniLM"),
             ("embed + search p95", f"{total_p95:.2f} ms", _verdict(total_p95))]
    filters = [("1/10 visible, predicate", lambda i: i % 10 == 0, None),
               ("1/1000 visible, predicate", lambda i: i % 1000 == 0, 50),
               ("1/1000 visible, id set", set(range(0, index.size, 1000)), None)]
    for name, allowed, limit in filters:
        stats, _ = time_searches(index, queries, allowed, limit=limit)
        rows.append((f"filtered {name}", _ms(stats), _verdict(stats["p95"])))
    rows += update_and_reload(index, workdir / "index", data)
    if args.url:
        http = http_latency(args.url, query_texts, args.token)
        rows.append(("HTTP /api/v1/search", _ms(http), _verdict(http["p95"])))
    return rows


def update_and_reload(index: VectorIndex, folder: Path, data: np.ndarray) -> list[tuple[str, str, str]]:
    """+1,000 columns saved as a delta, then +1,000 more saved as a full snapshot (the baseline, same run and size),
    a worker's `refresh` after the delta against a full load, and fresh-process loads of base + delta."""
    worker = VectorIndex.load(folder, data.shape[1], read_only=True)  # a web worker holding the base
    upserted, delta_s, delta_path = _add_and_save(index, data, 0, full=False)
    start = time.perf_counter()
    stale = worker.is_stale()
    refreshed = worker.refresh()
    refresh_s = time.perf_counter() - start
    start = time.perf_counter()
    reloaded = VectorIndex.load(folder, data.shape[1], read_only=True)
    reload_s = time.perf_counter() - start
    assert stale and refreshed.size == reloaded.size == index.size
    rows = [("upsert 1,000 + delta save", f"{upserted + delta_s:.2f} s",
             f"upsert {upserted:.2f} s, save {delta_s:.3f} s, {_mb(delta_path)} written ({delta_path.name})")]
    rows += _probes(folder, data.shape[1])
    _, full_s, full_path = _add_and_save(index, data, 1, full=True)
    rows += [("+1,000 then full snapshot", f"{full_s:.2f} s",
              f"{_mb(full_path)} written; the delta save is {full_s / delta_s:,.0f}x faster"),
             ("worker refresh after a delta", f"{refresh_s * 1000:.1f} ms",
              f"new delta only; a full memory-mapped load takes {reload_s * 1000:.1f} ms")]
    return rows


def _add_and_save(index: VectorIndex, data: np.ndarray, batch: int, full: bool) -> tuple[float, float, Path]:
    """Upsert 1,000 new columns (derived like the others) and save; returns upsert and save seconds, the file."""
    fresh = derive_vectors(data[:REAL_TEXTS], REAL_TEXTS + 1000, seed=6 + batch)[REAL_TEXTS:]
    first = data.shape[0] + 1000 * batch
    start = time.perf_counter()
    index.upsert(np.arange(first, first + 1000), fresh)
    upserted = time.perf_counter() - start
    start = time.perf_counter()
    path = index.save(full=full)
    return upserted, time.perf_counter() - start, path


def _probes(folder: Path, dimension: int) -> list[tuple[str, str, str]]:
    rows = []
    for read_only, how in ((False, "read"), (True, "memory-mapped")):
        probe = load_probe(folder, dimension, read_only)
        rows += [(f"load base + delta, {how} (new process)", f"{probe['load_s']:.2f} s",
                  f"{probe['size']:,} ids; first search {probe['first_ms']:.1f} ms"),
                 (f"RSS after 200 searches, {how}", f"{probe['RssAnon']:,.0f} MB private",
                  f"+ {probe['RssFile']:,.0f} MB of the file mapped (page cache, shared by workers)")]
    return rows


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:,.2f} MB"


def _ms(stats: dict[str, float]) -> str:
    return f"{stats['p50']:.2f} / {stats['p95']:.2f} / {stats['p99']:.2f} ms"


def _verdict(p95: float) -> str:
    return f"{'PASS' if p95 <= TARGET_P95_MS else 'FAIL'} (target p95 <= {TARGET_P95_MS:.0f} ms)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--columns", type=int, default=1_000_000, help="vectors to index (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--cache", help="vector cache file to reuse between runs (default: a temporary one)")
    parser.add_argument("--url", help="base URL of a running catalog to measure /api/v1/search over HTTP")
    parser.add_argument("--token", default=os.environ.get("CATALOG_TOKEN"), help="API bearer token")
    parser.add_argument("--http", action="store_true",
                        help="build a catalog of --tables x --width columns, serve it, measure /api/v1/search")
    parser.add_argument("--tables", type=int, default=20_000, help="--http: tables in the synthetic source")
    parser.add_argument("--width", type=int, default=50, help="--http: columns per table")
    parser.add_argument("--real-texts", type=int, default=REAL_TEXTS, help="--http: documents embedded for real")
    parser.add_argument("--home", help="--http: folder to build the catalog in and keep (default: temporary)")
    parser.add_argument("--reuse", action="store_true", help="--http: serve the catalog already built in --home")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # internal: load a snapshot folder in a fresh process
    parser.add_argument("--dimension", type=int, default=384, help=argparse.SUPPRESS)
    parser.add_argument("--read-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        _probe(Path(args.probe), args.dimension, args.read_only)
        return 0
    workdir = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        if args.http:
            from search_http import run_http

            rows = run_http(workdir, args.tables, args.width, args.real_texts, args.queries, args.reuse)
        else:
            rows = run(args, workdir)
    finally:
        if not args.home:
            shutil.rmtree(workdir, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    what = f"{args.tables:,} tables x {args.width} columns, catalog serve" if args.http else f"{args.columns:,} columns"
    print(f"\n{'HTTP' if args.http else 'vector'} search, {what}, 384-d all-MiniLM-L6-v2, {os.cpu_count()} cores")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>28}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
