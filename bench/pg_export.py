"""Benchmark: exporting a PostgreSQL table as Arrow batches, generic cursor path against the COPY fast path.

What is compared, and why:

* **generic** - `connectors.sql.export.generic_rows`: a server-side cursor, every value converted in Python by
  `_convert`, then `pa.array` per column. It is what every dialect gets.
* **copy** - `connectors.sql.export.export_rows` on PostgreSQL, which picks `COPY (SELECT ...) TO STDOUT (FORMAT
  csv)` parsed by Arrow's streaming CSV reader (`connectors.sql.export_copy`); the script checks that it did.

Both read the same table with the same batch size (`--batch-rows`, default the publish batch of 50,000) and
consume every batch, each in a fresh child process, so the peak RSS growth of one path is not hidden by the other.
Memory that stays flat in the table size is the point of streaming, so each child also reports the maximum of
`pyarrow.total_allocated_bytes()` seen across its batches (Arrow memory is invisible to tracemalloc). Publishing
needs >= 500k rows/s end to end; the target is printed against the COPY path.

The table (`bench_pg_export.people_<rows>`: id bigint, email, phone, birth_date date, postcode, notes ~60 chars
with commas and quotes, amount numeric(12,2), created_at timestamp) is created once with `INSERT ... SELECT
generate_series` and kept for later runs; `--drop` removes the schema afterwards.

Run: `python bench/pg_export.py [--rows 2000000] [--batch-rows 50000] [--url URL] [--drop]`. Exits 0 once it has
measured something.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from catalog.export import BATCH_ROWS  # noqa: E402
from connectors.sql.export import arrow_type, export_rows, generic_rows  # noqa: E402
from connectors.sql.export_copy import copy_plan  # noqa: E402

DEFAULT_URL = os.environ.get("CATALOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "bench_pg_export"
TARGET = 500_000  # rows/s the publish benchmark needs from the export
COLUMNS = [("id", "integer"), ("email", "string"), ("phone", "string"), ("birth_date", "date"),
           ("postcode", "string"), ("notes", "string"), ("amount", "decimal"), ("created_at", "timestamp")]
FILL = """
    INSERT INTO {table}
    SELECT g, 'user.' || g || '@example.com', '+44 20 ' || lpad((g * 7919 %% 100000000)::text, 8, '0'),
           date '1940-01-01' + (g * 31 %% 25000)::int, 'SW' || (g %% 90 + 10) || ' ' || (g %% 9) || 'AB',
           'Customer ' || g || ' said: "call back", ' || left(md5(g::text), 24),
           (g * 7 %% 10000000) / 100.0, timestamp '2020-01-01' + g * interval '17 seconds'
    FROM generate_series(1::bigint, %s::bigint) g
"""


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def table_name(rows: int) -> str:
    return f"people_{rows}"


def ensure_table(url: str, rows: int) -> None:
    """Create and fill the table unless a complete one is already there (then it is reused as is)."""
    target = sql.Identifier(SCHEMA, table_name(rows))
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (target.as_string(conn),)).fetchone()[0]
        if exists and conn.execute(sql.SQL("SELECT count(*) FROM {}").format(target)).fetchone()[0] == rows:
            return
        started = time.perf_counter()
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
        conn.execute(sql.SQL(
            "CREATE TABLE {} (id bigint PRIMARY KEY, email text, phone text, birth_date date, postcode text, "
            "notes text, amount numeric(12,2), created_at timestamp)").format(target))
        conn.execute(sql.SQL(FILL).format(table=target), (rows,))
        conn.execute(sql.SQL("VACUUM (FREEZE, ANALYZE) {}").format(target))  # no hint-bit writes while timing
        print(f"created {SCHEMA}.{table_name(rows)} with {rows:,} rows in {time.perf_counter() - started:.1f} s")


def measure(url: str, rows: int, batch_rows: int, path: str) -> dict[str, Any]:
    """One path, in this (child) process: wall time, rows, batch sizes, RSS growth and Arrow's peak allocation."""
    engine = create_engine(url, poolclass=NullPool)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    arrow_peak, count, largest = 0, 0, 0
    with engine.connect() as conn:
        if path == "copy":
            schema = pa.schema([(c, arrow_type(t)) for c, t in COLUMNS])
            if copy_plan(conn, SCHEMA, table_name(rows), COLUMNS, schema) is None:
                raise SystemExit("export_rows would not take the COPY path for the bench table")
            conn.rollback()
            batches = export_rows(conn, SCHEMA, table_name(rows), COLUMNS, batch_rows)
        else:
            batches = generic_rows(conn, SCHEMA, table_name(rows), COLUMNS, batch_rows)
        started = time.perf_counter()
        for batch in batches:
            count += batch.num_rows
            largest = max(largest, batch.num_rows)
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
            del batch
        seconds = time.perf_counter() - started
    engine.dispose()
    rss_delta = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
    return {"path": path, "seconds": seconds, "rows": count, "largest_batch": largest,
            "rss_delta": rss_delta, "arrow_peak": arrow_peak}


def run_child(args: argparse.Namespace, path: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--rows", str(args.rows), "--batch-rows", str(args.batch_rows),
               "--url", args.url, "--measure", path]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per path; the fastest counts")
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--drop", action="store_true", help="drop the bench schema afterwards")
    parser.add_argument("--measure", choices=["generic", "copy"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.url, args.rows, args.batch_rows, args.measure)))
        return 0
    try:
        ensure_table(args.url, args.rows)
        results = {}
        for path in ("generic", "copy"):
            runs = [run_child(args, path) for _ in range(max(1, args.repeat))]
            results[path] = min(runs, key=lambda r: r["seconds"])
        for result in results.values():
            if result["rows"] != args.rows or result["largest_batch"] > args.batch_rows:
                raise SystemExit(f"{result['path']}: {result['rows']:,} rows, "
                                 f"largest batch {result['largest_batch']:,}")
            rate = result["rows"] / result["seconds"]
            print(f"{result['path']:<8} {result['seconds']:7.2f} s  {rate:>10,.0f} rows/s   peak RSS +"
                  f"{result['rss_delta'] / 2**20:6.1f} MiB   Arrow peak {result['arrow_peak'] / 2**20:6.1f} MiB")
        generic, copy = (results[p]["rows"] / results[p]["seconds"] for p in ("generic", "copy"))
        print(f"copy / generic: {copy / generic:.2f}x   copy {copy:,.0f} rows/s: "
              f"{'PASS' if copy >= TARGET else 'FAIL'} (target {TARGET:,} rows/s)   "
              f"{args.rows:,} rows, batches of {args.batch_rows:,}")
    finally:
        if args.drop:
            with psycopg.connect(plain_url(args.url), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
