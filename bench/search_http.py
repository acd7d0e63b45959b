"""A real catalog of about 1,000,000 indexed columns behind `catalog serve`, for `search_latency.py --http`.

How it is built, and why each step is the real one except the model's embeddings:

* **source** - a synthetic SQLite file of `tables` tables x `columns` columns (default 20,000 x 50): table names
  are `<source>_<table>_<n>`, column names `<qualifier>_<base>` from the same vocabulary as the in-process bench
  (email, phone, created_at, iban, ...), with realistic SQL types. No rows: search does not read them.
* **crawl** - `catalog crawl` in a subprocess, timed (1M columns are crawled, stored and versioned for real).
* **descriptions** - one AI-style description per column and per table (`"billing e-mail address of the order"`),
  written straight into the store with the `ai:bench` source: `catalog annotate` would profile and describe
  1M columns, hours of work that says nothing about search latency. They make the documents read like a described
  catalog (the keyword side indexes them, the vector side is derived from them).
* **vectors** - `catalog index` embeds each document text once and keeps it in `search/vectors.sqlite`, keyed by
  sha256(model id + text) (`catalog.vectors`). Embedding 1M texts would take about 40 minutes on 2 cores, so the
  bench first brings the search documents in line with the store exactly as `catalog index` does
  (`sync_documents`), embeds `real_texts` of them for real, derives the others (a real vector of a document of the
  same column name + 0.35 x another real vector + noise, normalised, as `derive_vectors` does) and seeds the cache.
* **index** - `catalog index` in a subprocess, timed: it finds every vector in the cache (it must report
  `embedded: 0`), builds the HNSW index and indexes all 1M documents in the keyword index for real.
* **serve** - `catalog serve` in a process of its own (one worker, the default), measured over HTTP with queries
  embedded for real by the server; its resident memory is read from /proc.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from serving import catalog_serve, served

BASE_TYPES = {"varchar": "VARCHAR(200)", "text": "TEXT", "char(2)": "CHAR(2)", "char(3)": "CHAR(3)",
              "timestamp": "TIMESTAMP", "numeric": "NUMERIC(12,2)", "integer": "INTEGER", "date": "DATE",
              "inet": "VARCHAR(45)", "double": "DOUBLE", "smallint": "SMALLINT", "bigint": "BIGINT",
              "boolean": "BOOLEAN"}
SOURCE_NAME = "synth"


def column_vocabulary() -> list[tuple[str, str, str]]:
    """(column name, SQL type, description) of every qualified column the bench's vocabulary allows (140)."""
    from search_latency import BASES, QUALIFIERS

    out = []
    for qualifier in QUALIFIERS:
        for base, kind, description in BASES[:10] if qualifier else BASES:
            name = f"{qualifier}_{base}" if qualifier else base
            out.append((name, BASE_TYPES[kind], f"{qualifier} {description}" if qualifier else description))
    return out


def table_name(n: int) -> str:
    from search_latency import SOURCES, TABLES

    return f"{SOURCES[n % len(SOURCES)]}_{TABLES[(n // len(SOURCES)) % len(TABLES)]}_{n:05d}"


def table_columns(n: int, width: int) -> list[tuple[str, str, str]]:
    """`width` distinct columns of table `n`: a window of the vocabulary that shifts from table to table."""
    vocabulary = column_vocabulary()
    start = (n * 7) % len(vocabulary)
    return [vocabulary[(start + i) % len(vocabulary)] for i in range(min(width, len(vocabulary)))]


def make_source(path: Path, tables: int, width: int) -> None:
    """The synthetic SQLite source (schema only), written in one transaction."""
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        for n in range(tables):
            columns = ", ".join(f"{name} {kind}" for name, kind, _ in table_columns(n, width))
            conn.execute(f"CREATE TABLE {table_name(n)} (id INTEGER PRIMARY KEY, {columns})")


def cli(env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run `catalog ARGS` in a subprocess; (seconds, stdout)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "catalog.cli", *args], env=env, check=True, capture_output=True,
                          text=True)
    return time.perf_counter() - start, done.stdout


def write_descriptions(settings: Any, tables: int, width: int) -> int:
    """One suggested AI-style description per column and per table, inserted in bulk; returns the rows written."""
    from sqlalchemy import insert, select

    from catalog.db import session_factory
    from catalog.models import Dataset, Description, utcnow

    now = utcnow()
    written = 0
    with session_factory(settings).begin() as session:
        ids = dict(session.execute(select(Dataset.path, Dataset.id)).all())
        rows: list[dict[str, Any]] = []
        for n in range(tables):
            name = table_name(n)
            subject = name.split("_")[1].rstrip("s")
            dataset_id = ids[f"main/{name}"]
            rows.append(_description(dataset_id, "", f"{subject} records of {name.split('_')[0]}", now))
            rows += [_description(dataset_id, column, f"{about} of the {subject}", now)
                     for column, _, about in table_columns(n, width)]
            if len(rows) >= 20_000:
                session.execute(insert(Description), rows)
                written, rows = written + len(rows), []
        if rows:
            session.execute(insert(Description), rows)
            written += len(rows)
    return written


def _description(dataset_id: int, column: str, text: str, now: Any) -> dict[str, Any]:
    return {"dataset_id": dataset_id, "column_name": column, "text": text, "source": "ai:bench",
            "status": "suggested", "confidence": 0.8, "created_at": now, "updated_at": now}


def seed_vector_cache(settings: Any, real_texts: int, seed: int = 4) -> dict[str, Any]:
    """Sync the search documents as `catalog index` does, then put a vector for every document text into the
    vector cache: `real_texts` embedded by the model, the rest derived from real ones of the same column name."""
    from sqlalchemy import select

    from annotator.embed import Embedder
    from catalog.db import session_factory
    from catalog.models import SearchDocument
    from catalog.search_documents import sync_documents
    from catalog.vectors import VectorCache, embed_cached, text_key

    start = time.perf_counter()
    with session_factory(settings).begin() as session:
        sync_documents(session)
    with session_factory(settings)() as session:
        documents = session.execute(select(SearchDocument.name, SearchDocument.text)
                                    .order_by(SearchDocument.id)).all()
    synced = time.perf_counter() - start
    embedder = Embedder(settings.embedding_model)
    cache = VectorCache(settings.home / "search" / "vectors.sqlite", embedder.dimension)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(documents), size=min(real_texts, len(documents)), replace=False))
    start = time.perf_counter()
    real, computed = embed_cached(embedder, cache, [documents[i].text for i in chosen])
    embedded = time.perf_counter() - start
    by_name: dict[str, list[int]] = {}
    for row, i in enumerate(chosen):
        by_name.setdefault(documents[i].name, []).append(row)
    real_rows = set(chosen.tolist())
    derived = 0
    for offset in range(0, len(documents), 50_000):
        block = [(i, documents[i]) for i in range(offset, min(offset + 50_000, len(documents))) if i not in real_rows]
        vectors = _derived(real, [by_name.get(d.name, []) for _, d in block], rng)
        cache.put_many({text_key(embedder.model_id, d.text): v for (_, d), v in zip(block, vectors, strict=True)})
        derived += len(block)
    return {"documents": len(documents), "sync_s": synced, "embedded": computed, "embed_s": embedded,
            "seeded": derived}


def _derived(real: np.ndarray, same_name: list[list[int]], rng: np.random.Generator) -> np.ndarray:
    """Per document: a real vector of a document with its column name (any real one when none) + 0.35 x a random
    real vector + noise, normalised: neighbourhoods like real embeddings', which uniform noise would not have."""
    first = np.array([rows[int(rng.integers(len(rows)))] if rows else int(rng.integers(real.shape[0]))
                      for rows in same_name])
    second = rng.integers(real.shape[0], size=len(same_name))
    block = real[first] + 0.35 * real[second] + rng.normal(0, 0.01, size=(len(same_name), real.shape[1]))
    block = block.astype(np.float32)
    return block / np.linalg.norm(block, axis=1, keepdims=True)


def build_catalog(folder: Path, tables: int, width: int, real_texts: int) -> tuple[dict[str, str], list[str]]:
    """Build the catalog home under `folder`; returns its environment and report lines."""
    from catalog.db import migrate
    from catalog.settings import load_settings

    env = {**os.environ, "CATALOG_HOME": str(folder / "home"), "HF_HUB_OFFLINE": "1"}
    for name in ("CATALOG_DATABASE_URL", "CATALOG_MODE"):
        env.pop(name, None)
    lines = []
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    make_source(folder / "synth.db", tables, width)
    lines.append(f"source: {tables:,} tables x {width} columns written in {time.perf_counter() - start:.1f} s")
    settings = load_settings(home=folder / "home")
    migrate(settings)
    cli(env, "source", "add", SOURCE_NAME, f"sqlite:///{folder / 'synth.db'}")
    seconds, out = cli(env, "crawl", SOURCE_NAME, "--json")
    lines.append(f"catalog crawl: {seconds:.0f} s ({_crawl_summary(out)})")
    start = time.perf_counter()
    written = write_descriptions(settings, tables, width)
    lines.append(f"descriptions: {written:,} written in {time.perf_counter() - start:.0f} s")
    seeded = seed_vector_cache(settings, real_texts)
    lines.append(f"vector cache: {seeded['documents']:,} documents synced in {seeded['sync_s']:.0f} s, "
                 f"{seeded['embedded']:,} embedded for real in {seeded['embed_s']:.0f} s, {seeded['seeded']:,} seeded")
    seconds, out = cli(env, "index", "--json")
    report = json.loads(out)
    lines.append(f"catalog index: {seconds:.0f} s; documents {report['documents']:,}, embedded "
                 f"{report['embedded']:,} (must be 0), from cache {report['cached']:,}")
    if report["embedded"]:
        raise RuntimeError(f"catalog index embedded {report['embedded']} texts: the seeded cache was missed")
    return env, lines


def _crawl_summary(stdout: str) -> str:
    try:
        found = json.loads(stdout)
    except ValueError:
        return stdout.strip().splitlines()[-1] if stdout.strip() else "no output"
    first = found["crawls"][0] if isinstance(found, dict) and found.get("crawls") else found
    return ", ".join(f"{k} {v}" for k, v in first.items() if isinstance(v, int | float | str) and k != "source")


def server_rss_mb(pid: int) -> dict[str, float]:
    """Resident memory of the server and its children (MB): in all, private (anonymous) and file-backed."""
    import psutil

    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    totals = {"VmRSS": 0.0, "RssAnon": 0.0, "RssFile": 0.0}
    for process in processes:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            field = line.split(":", 1)[0]
            if field in totals:
                totals[field] += int(line.split()[1]) / 1024
    return totals


def time_http(url: str, queries: list[str], mode: str, warm_up: int = 5) -> dict[str, float]:
    """p50/p95/p99 (ms) of `GET /api/v1/search?q=...&limit=10&mode=...`, one request at a time over one
    connection, after a few warm-up requests (model, index and connection)."""
    import httpx
    from search_latency import percentiles

    seconds = []
    with httpx.Client(base_url=url, timeout=120.0) as client:
        for text in queries[:warm_up]:
            client.get("/api/v1/search", params={"q": text, "limit": 10, "mode": mode}).raise_for_status()
        for text in queries:
            start = time.perf_counter()
            client.get("/api/v1/search", params={"q": text, "limit": 10, "mode": mode}).raise_for_status()
            seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


def run_http(folder: Path, tables: int, width: int, real_texts: int, queries: int,
             reuse: bool = False) -> list[tuple[str, str, str]]:
    """Build (or, with `reuse`, take the catalog already in `folder`), serve, measure; the report's rows."""
    from search_latency import _ms, _verdict, synthetic_queries

    rows: list[tuple[str, str, str]] = []
    if reuse and (folder / "home" / "search").is_dir():
        env = {**os.environ, "CATALOG_HOME": str(folder / "home"), "HF_HUB_OFFLINE": "1"}
        for name in ("CATALOG_DATABASE_URL", "CATALOG_MODE"):
            env.pop(name, None)
    else:
        env, lines = build_catalog(folder, tables, width, real_texts)
        rows += [(f"build: {line.split(':', 1)[0]}", "", line.split(":", 1)[1].strip()) for line in lines]
    texts = synthetic_queries(queries)
    with served(catalog_serve(), env) as (url, pid):
        start = time.perf_counter()
        time_http(url, texts[:1], "hybrid", warm_up=0)
        rows.append(("first search (loads index, model)", f"{time.perf_counter() - start:.1f} s", ""))
        for mode, count in (("hybrid", queries), ("keyword", queries // 3), ("vector", queries // 3)):
            stats = time_http(url, texts[:count], mode)
            rows.append((f"HTTP /api/v1/search, {mode}", _ms(stats), f"{count} queries; {_verdict(stats['p95'])}"))
        memory = server_rss_mb(pid)
        rows.append(("server RSS", f"{memory['VmRSS']:,.0f} MB",
                     f"{memory['RssAnon']:,.0f} MB private + {memory['RssFile']:,.0f} MB file-backed"))
    return rows
