"""Benchmark: the catalog's bounded-sample profiling against a full-scan profile, on one large PostgreSQL table.

What is compared, and why:

* **full scan** - what profilers that read the whole table do (pandas-profiling on `SELECT *`, catalogs whose
  profiler runs `COUNT(DISTINCT ...)` per column): every row is fetched and the same `profile_column` and PII
  classifier run on all of it, in-process (nothing stored), which favours it.
* **catalog annotate** - `catalog.annotate.annotate` on the crawled table: a `TABLESAMPLE SYSTEM` sample of
  10,000 rows (`--sample-rows`), profiled, classified and stored.

Besides the times and their ratio, it prints how close the sample's profile comes to the full scan's, per column:
empty share, distinct count (the sample's estimate against the exact count), mean, and the PII labels. A bounded
sample is only worth it if those agree.

The table (`bench_profile_<hex>.events`: a key, an e-mail, an amount, a timestamp, a status code, a free-text note
with rare e-mails, a column that is mostly empty) is created for the run and dropped in a `finally`.

Run: `python bench/profile_sample.py [--rows 1000000] [--sample-rows 10000] [--url URL]`. Exits 0 once it has
measured something; PASS/FAIL is printed against the target (annotate at least 10x faster than the full scan).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from annotator.pii import SUGGEST_THRESHOLD, ColumnContext, classify_columns  # noqa: E402
from annotator.profile import profile_column  # noqa: E402
from catalog.access import Actor  # noqa: E402
from catalog.annotate import annotate  # noqa: E402
from catalog.crawl import crawl_source  # noqa: E402
from catalog.datasets import get_dataset  # noqa: E402
from catalog.db import migrate, session_scope  # noqa: E402
from catalog.settings import load_settings  # noqa: E402
from catalog.sources import add_source  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET = 10.0
COLUMNS = {  # name -> (SQL type, normalized type, SQL expression over the row number g)
    "id": ("bigint primary key", "integer", "g"),
    "email": ("text", "string", "'user' || g || '@example.com'"),
    "amount": ("numeric(12,2)", "decimal", "round((random() * 500)::numeric, 2)"),
    "created_at": ("timestamptz", "timestamp", "timestamptz '2024-01-01' + g * interval '17 seconds'"),
    "status": ("text", "string", "(array['new','paid','shipped','returned'])[1 + g % 4]"),
    "note": ("text", "string",
             "case when g % 97 = 0 then 'call back ' || 'c' || g || '@example.org' else 'no remarks' end"),
    "coupon": ("text", "string", "case when g % 20 = 0 then 'SAVE' || (g % 50) end"),
}


def create_table(url: str, schema: str, rows: int) -> float:
    started = time.perf_counter()
    columns = ", ".join(f"{name} {sql}" for name, (sql, _, _) in COLUMNS.items())
    values = ", ".join(expression for _, _, expression in COLUMNS.values())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.events ({columns})")
        conn.execute(f"INSERT INTO {schema}.events SELECT {values} FROM generate_series(1, {rows}) AS g")
        conn.execute(f"ANALYZE {schema}.events")
    return time.perf_counter() - started


def full_scan(url: str, schema: str) -> tuple[float, dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Fetch every row, then profile and classify each column exactly like annotate does with its sample."""
    started = time.perf_counter()
    names = list(COLUMNS)
    with psycopg.connect(url) as conn, conn.cursor(name="full_scan") as cursor:
        cursor.itersize = 50_000
        cursor.execute(f"SELECT {', '.join(names)} FROM {schema}.events")
        columns: list[list[Any]] = [[] for _ in names]
        for row in cursor:
            for values, value in zip(columns, row, strict=True):
                values.append(value)
    rows = len(columns[0])
    profiles = {name: profile_column(values, rows) for name, values in zip(names, columns, strict=True)}
    contexts = [ColumnContext(name=name, normalized_type=COLUMNS[name][1], values=values)
                for name, values in zip(names, columns, strict=True)]
    findings = classify_columns(contexts, dataset=f"{schema}/events")
    labels = {name: [f.label for f in found if f.confidence >= SUGGEST_THRESHOLD]
              for name, found in zip(names, findings, strict=True)}
    return time.perf_counter() - started, profiles, labels


def catalog_annotate(url: str, schema: str, sample_rows: int) -> tuple[float, dict[str, Any], str]:
    """Register and crawl (not timed), then time `annotate` on the one table."""
    home = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    settings = load_settings(home=home)
    migrate(settings)
    actor = Actor.local()
    with session_scope(settings) as session:
        add_source(session, actor, "bench", url, {"include_schemas": schema})
    crawl_source(settings, actor, "bench")
    started = time.perf_counter()
    result = annotate(settings, actor, sample_rows=sample_rows)
    seconds = time.perf_counter() - started
    with session_scope(settings) as session:
        dataset = get_dataset(session, actor, f"bench/{schema}/events")
    return seconds, {c["name"]: c for c in dataset["columns"]}, result["results"][0]["method"]


def report(full: dict[str, dict[str, Any]], full_labels: dict[str, list[str]], sampled: dict[str, Any]) -> None:
    print(f"{'column':<11}| {'empty full/sample':>19} | {'distinct exact/estimate':>25} | {'mean full/sample':>21} "
          f"| labels full / sample")
    for name in COLUMNS:
        exact, column = full[name], sampled[name]
        sample = column["profile"] or {}
        mean = (f"{exact['mean']:.1f} / {sample['mean']:.1f}" if "mean" in exact and "mean" in sample else "")
        print(f"{name:<11}| {exact['null_share']:>8.4f} / {sample.get('null_share', 0):<8.4f} | "
              f"{exact.get('distinct', 0):>11,} / {sample.get('distinct_estimate', 0):<11,} | {mean:>21} | "
              f"{full_labels[name]} / {column['classifications']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample-rows", type=int, default=10_000)
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args(argv)
    plain_url = args.url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_profile_{secrets.token_hex(4)}"
    try:
        print(f"created {schema}.events with {args.rows:,} rows in {create_table(plain_url, schema, args.rows):.1f} s")
        annotate_s, sampled, method = catalog_annotate(args.url, schema, args.sample_rows)
        full_s, full, full_labels = full_scan(plain_url, schema)
        ratio = full_s / annotate_s
        print(f"full scan: {full_s:.2f} s   catalog annotate ({method}): {annotate_s:.2f} s   "
              f"full / annotate: {ratio:.1f}x   {'PASS' if ratio >= TARGET else 'FAIL'} (target {TARGET:.0f}x)")
        report(full, full_labels, sampled)
    finally:
        with psycopg.connect(plain_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
