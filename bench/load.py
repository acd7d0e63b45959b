"""Benchmark: 50 concurrent clients searching and reading dataset pages, with and without a crawl and an index run.

What is measured, and why:

* **catalog** - a metadata store on PostgreSQL (`--database-url`, default `CATALOG_TEST_POSTGRES_URL`, in a schema of
  its own, dropped afterwards) and a temporary CATALOG_HOME; one SQLite source of `--tables` tables (20 columns
  each, some cryptic, some PII-looking), crawled, annotated with the rules backend and indexed.
* **server** - `catalog serve --workers 2` in a process of its own, as a team would run it.
* **load** - `--clients` concurrent clients (asyncio + httpx, one connection each) for `--seconds`, each looping:
  a hybrid search for two words drawn from the catalog's vocabulary, then the page of a random dataset, then its
  JSON. Every answer must be a 200; anything else counts as an error and is printed.
* **two phases, same run** - `quiet`: the load alone (the baseline); `busy`: the same load while `catalog crawl`
  (after 20 tables were added to the source) and then `catalog index` run in other processes. The ratio busy/quiet
  of throughput and latency is what a crawl and an index cost the people using the catalog.

Run: `python bench/load.py [--clients 50] [--seconds 30] [--tables 200]`. Reports throughput (requests/s) and
p50/p95/p99 per kind of request, and errors (the target: none).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from serving import catalog_serve, served
from sqlalchemy import create_engine, text

WORDS = ["customer", "email", "order", "amount", "date", "phone", "address", "product", "price", "invoice",
         "status", "country", "city", "birth", "payment", "ticket", "agent", "refund", "discount", "score"]
COLUMNS = ["id", "cust_id", "c_eml", "ord_dt", "amt_usd", "phone_no", "street_addr", "city", "country_cd",
           "status", "created_at", "prod_nm", "unit_price", "qty", "disc_pct", "birth_dt", "notes", "score",
           "agent_nm", "refund_amt"]


def make_source(path: Path, tables: int, start: int = 0) -> None:
    """`tables` tables named t_<n> with the 20 columns above and 50 rows each (enough to profile)."""
    with sqlite3.connect(path) as conn:
        for n in range(start, start + tables):
            cols = ", ".join(f"{c} TEXT" if c != "id" else "id INTEGER PRIMARY KEY" for c in COLUMNS)
            conn.execute(f"CREATE TABLE t_{n:04d} ({cols})")
            rows = [(i, *(f"{c}-{i}" if c != "c_eml" else f"user{i}@example.org" for c in COLUMNS[1:]))
                    for i in range(50)]
            conn.executemany(f"INSERT INTO t_{n:04d} VALUES ({', '.join('?' * len(COLUMNS))})", rows)


def cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "catalog.cli", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextmanager
def scratch_schema(url: str) -> Iterator[str]:
    schema = f"load_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def client_loop(url: str, names: list[str], until: float, results: Results, seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        while time.perf_counter() < until:
            name = rng.choice(names)
            for kind, path, params in (("search", "/api/v1/search", {"q": " ".join(rng.sample(WORDS, 2))}),
                                       ("page", "/datasets/" + name, None),
                                       ("json", "/api/v1/datasets/" + name, None)):
                start = time.perf_counter()
                try:
                    response = await client.get(path, params=params)
                    ok = response.status_code == 200
                    problem = f"{kind} {path}: {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, problem = False, f"{kind} {path}: {type(exc).__name__} {exc}"
                results.latencies[kind].append(time.perf_counter() - start)
                if not ok:
                    results.errors.append(problem)


async def run_load(url: str, names: list[str], clients: int, seconds: float) -> Results:
    results = Results()
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(client_loop(url, names, until, results, seed) for seed in range(clients)))
    results.seconds = time.perf_counter() - start
    return results


def busy_jobs(env: dict[str, str], source: Path, tables: int) -> subprocess.Popen[bytes]:
    """Add 20 tables, then crawl and index in a background shell (the load runs meanwhile)."""
    make_source(source, 20, start=tables)
    script = (f"{sys.executable} -m catalog.cli crawl shop && {sys.executable} -m catalog.cli annotate && "
              f"{sys.executable} -m catalog.cli index")
    return subprocess.Popen(["bash", "-c", script], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(phase: str, results: Results) -> float:
    total = sum(len(v) for v in results.latencies.values())
    rate = total / results.seconds
    print(f"{phase:<6} {total:>7,} requests in {results.seconds:.1f} s = {rate:7.1f}/s, errors {len(results.errors)}")
    for kind, values in sorted(results.latencies.items()):
        print(f"  {kind:<7} n={len(values):>6,}  p50 {pct(values, 0.5):7.1f} ms  p95 {pct(values, 0.95):7.1f} ms  "
              f"p99 {pct(values, 0.99):7.1f} ms  mean {1000 * statistics.fmean(values):7.1f} ms")
    for problem in results.errors[:10]:
        print("   error:", problem)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--database-url", default=os.environ.get("CATALOG_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url (PostgreSQL) or set CATALOG_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder, scratch_schema(args.database_url) as store:
        source = Path(folder) / "shop.db"
        make_source(source, args.tables)
        env = {**os.environ, "CATALOG_HOME": str(Path(folder) / "home"), "CATALOG_DATABASE_URL": store,
               "HF_HUB_OFFLINE": "1"}
        env.pop("CATALOG_MODE", None)
        start = time.perf_counter()
        cli(env, "init")
        cli(env, "source", "add", "shop", f"sqlite:///{source}")
        cli(env, "refresh")
        print(f"catalog of {args.tables} tables x {len(COLUMNS)} columns built in {time.perf_counter() - start:.0f} s;"
              f" {args.clients} clients, {args.seconds:.0f} s per phase, 2 server workers, 2 cores")
        names = [f"shop/main/t_{n:04d}" for n in range(args.tables)]
        with served(catalog_serve(workers=2), env) as (url, _pid):
            asyncio.run(run_load(url, names, args.clients, 5))  # warm-up: every worker loads its index and model
            quiet = report("quiet", asyncio.run(run_load(url, names, args.clients, args.seconds)))
            jobs = busy_jobs(env, source, args.tables)
            busy_results = asyncio.run(run_load(url, names, args.clients, args.seconds))
            busy = report("busy", busy_results)
            code = jobs.wait()
            print(f"background crawl + annotate + index: exit {code}"
                  + ("" if code == 0 else f": {jobs.stderr.read().decode()[-500:] if jobs.stderr else ''}"))
        print(f"throughput busy/quiet: {busy / quiet:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
