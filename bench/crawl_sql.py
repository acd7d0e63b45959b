"""Benchmark: the catalog's SQL crawl against per-table SQLAlchemy reflection, on one large PostgreSQL schema.

What is compared, and why:

* **catalog first crawl** - `catalog crawl bench --json` run as a subprocess on a fresh `CATALOG_HOME`, timed
  wall-clock including interpreter start-up, because that is what a user waits for. The catalog reads the
  whole schema with a few set-based catalog queries instead of several queries per table.
* **catalog re-crawl** - the same command again with nothing changed; it should recognise every table as
  unchanged and skip rewriting it, so it should be clearly cheaper than the first crawl (target >= 2x).
* **per-table reflection** - what popular catalogs (DataHub, OpenMetadata, Amundsen's extractors) do: one
  SQLAlchemy `Inspector`, then for every table `get_columns`, `get_pk_constraint`, `get_foreign_keys` and
  `get_table_comment`, i.e. several round trips per table. It runs in-process (no start-up cost, nothing
  stored), which favours it; the catalog's first crawl should still be >= 10x faster.

The schema (`bench_crawl_<hex>`, N tables x M columns of varied types, a primary key per table, a foreign key
from every 10th table to the previous one, table and column comments) is created for the run and dropped in
a `finally`.

Run: `python bench/crawl_sql.py [--tables 2000] [--columns 25] [--url URL]`; `--tables 200` for a quick run.
The script always exits 0 once it has measured something; PASS/FAIL is printed against the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency_proxy import LatencyProxy  # noqa: E402 - a sibling script module, not a package

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SOURCE_NAME = "bench"
REFLECTION_TARGET = 10.0  # per-table reflection seconds / catalog first-crawl seconds
RECRAWL_TARGET = 2.0  # first-crawl seconds / re-crawl seconds
# Creating a table takes locks on the table, its primary-key index and its TOAST table and index until commit;
# 2000 tables in one transaction overflow the default lock table (max_locks_per_transaction=64 x
# max_connections), so DDL is committed every TABLES_PER_TXN tables (a handful of big transactions).
TABLES_PER_TXN = 250
COLUMN_TYPES = ["integer", "bigint", "text", "varchar({n})", "numeric(12,2)", "timestamptz", "boolean",
                "jsonb", "date"]


# --- URLs -----------------------------------------------------------------------------------------------


def sqlalchemy_url(url: str) -> str:
    """The URL with the psycopg 3 driver, for SQLAlchemy."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def bare_url(url: str) -> str:
    """The URL without a driver (`postgresql://...`): the form a user gives `catalog source add`, and libpq's."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


# --- schema ---------------------------------------------------------------------------------------------


def column_type(table: int, column: int) -> str:
    kind = COLUMN_TYPES[(table + column) % len(COLUMN_TYPES)]
    return kind.format(n=16 * (1 + (table + column) % 16))


def table_name(table: int) -> str:
    return f"t{table:05d}"


def table_ddl(schema: str, table: int, columns: int) -> str:
    """CREATE TABLE plus comments for one table; every 10th table references the previous one."""
    name = f"{schema}.{table_name(table)}"
    cols = ["id integer PRIMARY KEY"]
    has_fk = table > 0 and table % 10 == 0
    if has_fk and columns > 1:
        cols.append(f"prev_id integer REFERENCES {schema}.{table_name(table - 1)} (id)")
    first_plain = len(cols)
    cols += [f"c{c:03d} {column_type(table, c)}" for c in range(first_plain, columns)]
    parts = [f"CREATE TABLE {name} (\n  " + ",\n  ".join(cols) + "\n);",
             f"COMMENT ON TABLE {name} IS 'Benchmark table {table} of the crawl benchmark';"]
    parts += [f"COMMENT ON COLUMN {name}.c{c:03d} IS 'Column {c} of table {table}';"
              for c in range(first_plain, columns) if c % 5 == 0]
    return "\n".join(parts)


def ddl_batches(schema: str, tables: int, columns: int) -> Iterator[str]:
    """Big multi-statement DDL strings, each covering TABLES_PER_TXN tables (in dependency order)."""
    for start in range(0, tables, TABLES_PER_TXN):
        stop = min(start + TABLES_PER_TXN, tables)
        yield "\n".join(table_ddl(schema, t, columns) for t in range(start, stop))


def create_schema(url: str, schema: str, tables: int, columns: int) -> float:
    """Create and ANALYZE the benchmark schema; return the seconds it took."""
    started = time.perf_counter()
    with psycopg.connect(bare_url(url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        for batch in ddl_batches(schema, tables, columns):
            with conn.transaction():
                conn.execute(batch)  # no parameters: psycopg sends it as one multi-statement simple query
        conn.execute(f"ANALYZE {schema_tables(schema, tables)}")
    return time.perf_counter() - started


def schema_tables(schema: str, tables: int) -> str:
    return ", ".join(f"{schema}.{table_name(t)}" for t in range(tables))


def drop_schema(url: str, schema: str, tables: int) -> None:
    """Drop the schema, tables in batches first (one DROP SCHEMA CASCADE would overflow the lock table too)."""
    with psycopg.connect(bare_url(url), autocommit=True) as conn:
        for stop in range(tables, 0, -TABLES_PER_TXN):
            names = [f"{schema}.{table_name(t)}" for t in range(max(0, stop - TABLES_PER_TXN), stop)]
            conn.execute(f"DROP TABLE IF EXISTS {', '.join(names)} CASCADE")
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


# --- catalog CLI ----------------------------------------------------------------------------------------


def catalog_command() -> list[str]:
    """The `catalog` entry point of this interpreter's environment (falls back to PATH, then `-c`)."""
    beside = Path(sys.executable).with_name("catalog")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("catalog")
    return [found] if found else [sys.executable, "-c", "from catalog.cli import main; main()"]


def run_cli(args: list[str], home: Path) -> tuple[float, str]:
    """Run `catalog <args>` with CATALOG_HOME=home; return (wall seconds, stdout); fail loudly on error."""
    env = {k: v for k, v in os.environ.items() if k != "CATALOG_DATABASE_URL"}  # fresh embedded store
    env["CATALOG_HOME"] = str(home)
    started = time.perf_counter()
    done = subprocess.run(catalog_command() + args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`catalog {' '.join(args[:2])}` exited {done.returncode}:\n{done.stderr}{done.stdout}")
    return seconds, done.stdout


def parse_crawl(stdout: str) -> dict[str, Any]:
    """The summary of source `bench` from `catalog crawl --json`, read defensively."""
    try:
        doc: Any = json.loads(stdout)
    except json.JSONDecodeError:
        start = stdout.find("{")
        if start < 0:
            raise SystemExit(f"crawl printed no JSON:\n{stdout}") from None
        doc = json.loads(stdout[start:])
    if isinstance(doc, dict) and isinstance(doc.get("crawls"), list):
        doc = doc["crawls"]
    if isinstance(doc, list):
        matching = [c for c in doc if isinstance(c, dict) and c.get("source") == SOURCE_NAME]
        doc = (matching or doc or [{}])[0]
    if not isinstance(doc, dict):
        raise SystemExit(f"unexpected crawl JSON:\n{stdout}")
    return doc


def check_counts(summary: dict[str, Any], key: str, expected: int, label: str) -> None:
    if summary.get("status") not in (None, "succeeded"):
        raise SystemExit(f"{label}: status {summary.get('status')!r}, error {summary.get('error')!r}")
    if summary.get(key) != expected:
        counts = {k: summary.get(k) for k in ("new", "changed", "unchanged", "deleted", "restored")}
        raise SystemExit(f"{label}: expected {key} == {expected}, got {counts}")


def time_catalog(url: str, schema: str, tables: int) -> dict[str, Any]:
    """init, source add, then time the first crawl and a no-change re-crawl through the real CLI."""
    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as home_dir:
        home = Path(home_dir)
        startup_s, _ = run_cli(["--help"], home)
        run_cli(["init"], home)
        run_cli(["source", "add", SOURCE_NAME, bare_url(url), "--option", f"include_schemas={schema}"], home)
        first_s, first_out = run_cli(["crawl", SOURCE_NAME, "--json"], home)
        first = parse_crawl(first_out)
        check_counts(first, "new", tables, "first crawl")
        again_s, again_out = run_cli(["crawl", SOURCE_NAME, "--json"], home)
        again = parse_crawl(again_out)
        check_counts(again, "unchanged", tables, "re-crawl")
    return {"startup": startup_s, "first": first_s, "first_inproc": first.get("seconds"),
            "again": again_s, "again_inproc": again.get("seconds")}


# --- per-table reflection -------------------------------------------------------------------------------


def time_reflection(url: str, schema: str, tables: int) -> float:
    """Seconds for list-tables + per-table reflection (columns, pk, fks, comment), like popular catalogs.

    Cache choice: one fresh Inspector per run (new engine, nothing carried between runs), shared by the loop
    as those tools do. Its info cache is keyed by (method, table, schema) and every table is asked each
    question once, so the cache cannot answer a per-table call from an earlier one. Checked with SQLAlchemy
    2.1 on PostgreSQL: shared inspector, `clear_cache()` per table and a new Inspector per table all issue
    the same 5 queries per table and take the same time, so the shared one is not artificially fast.
    """
    engine = create_engine(sqlalchemy_url(url))
    try:
        started = time.perf_counter()
        with engine.connect() as conn:
            inspector = inspect(conn)
            names = inspector.get_table_names(schema=schema)
            for name in names:
                inspector.get_columns(name, schema=schema)
                inspector.get_pk_constraint(name, schema=schema)
                inspector.get_foreign_keys(name, schema=schema)
                inspector.get_table_comment(name, schema=schema)
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    if len(names) != tables:
        raise SystemExit(f"reflection saw {len(names)} tables, expected {tables}")
    return seconds


# --- report ---------------------------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    return "PASS" if value >= target else "FAIL"


def fmt_inproc(value: Any) -> str:
    return f" (in-process {float(value):.2f} s)" if isinstance(value, int | float) else ""


def report(tables: int, columns: int, catalog: dict[str, Any], reflection: float, rtt_ms: float) -> None:
    ratio_reflect = reflection / catalog["first"]
    ratio_recrawl = catalog["first"] / catalog["again"]
    rows = [
        ("catalog first crawl (CLI wall)", f"{catalog['first']:.2f} s{fmt_inproc(catalog['first_inproc'])}", ""),
        ("catalog re-crawl (CLI wall)", f"{catalog['again']:.2f} s{fmt_inproc(catalog['again_inproc'])}", ""),
        ("per-table reflection", f"{reflection:.2f} s", "in-process, nothing stored"),
        ("CLI start-up (catalog --help)", f"{catalog['startup']:.2f} s", "included in both crawl times"),
        ("reflection / first crawl", f"{ratio_reflect:.1f}x", f"target >= {REFLECTION_TARGET:g}x  "
                                                                f"{verdict(ratio_reflect, REFLECTION_TARGET)}"),
        ("first crawl / re-crawl", f"{ratio_recrawl:.1f}x", f"target >= {RECRAWL_TARGET:g}x  "
                                                              f"{verdict(ratio_recrawl, RECRAWL_TARGET)}"),
    ]
    link = "loopback" if rtt_ms == 0 else f"through a {rtt_ms:g} ms round-trip link (bench/latency_proxy.py)"
    print(f"\nSQL crawl benchmark: {tables} tables x {columns} columns, {link}")
    for label, value, note in rows:
        print(f"  {label:<32} {value:<32} {note}".rstrip())
    overall = ratio_reflect >= REFLECTION_TARGET and ratio_recrawl >= RECRAWL_TARGET
    print(f"  overall: {'PASS' if overall else 'FAIL'}")


def measure_link(args: argparse.Namespace, schema: str, rtt_ms: float) -> None:
    """Time both approaches over one link: plain loopback, or the latency proxy in front of the server."""
    if rtt_ms == 0:
        catalog = time_catalog(args.url, schema, args.tables)
        reflection = time_reflection(args.url, schema, args.tables)
    else:
        parsed = make_url(args.url)
        with LatencyProxy(parsed.host or "127.0.0.1", parsed.port or 5432, rtt_ms) as port:
            url = parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
            catalog = time_catalog(url, schema, args.tables)
            reflection = time_reflection(url, schema, args.tables)
    report(args.tables, args.columns, catalog, reflection, rtt_ms)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--columns", type=int, default=25)
    parser.add_argument("--url", default=os.environ.get("CATALOG_TEST_POSTGRES_URL") or DEFAULT_URL)
    parser.add_argument("--rtt-ms", default="0,1",
                        help="comma-separated emulated network round trips in ms (0 = plain loopback)")
    args = parser.parse_args(argv)
    args.rtt_ms = [float(x) for x in str(args.rtt_ms).split(",") if x.strip()]
    if args.tables < 1 or args.columns < 2:
        parser.error("need --tables >= 1 and --columns >= 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    schema = f"bench_crawl_{secrets.token_hex(4)}"
    try:
        created = create_schema(args.url, schema, args.tables, args.columns)
        print(f"created {schema}: {args.tables} tables x {args.columns} columns in {created:.1f} s", flush=True)
        for rtt in args.rtt_ms:
            measure_link(args, schema, rtt)
    finally:
        drop_schema(args.url, schema, args.tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
