"""Benchmark: the HTML page of a 500-column dataset, against a 10-column page and the same dataset's JSON.

What is measured, and why:

* **catalog** - a temporary CATALOG_HOME with one SQLite source holding `wide` (`--columns`, default 500, mixed
  types: integers, reals, dates, flags, codes, free text, and PII-looking e-mails, phone numbers, names and IBANs;
  `--rows` rows) and `narrow` (10 columns of the same kinds). It is crawled, then profiled, classified and
  described with the no-model `rules` backend through the same service functions `catalog crawl` and
  `catalog annotate` call, so every column has a profile (with a histogram), an AI description and, for the
  PII-looking ones, labels with evidence.
* **requests** - `GET /datasets/<source>/main/wide` through a real HTTP server (uvicorn on loopback, in a process of
  its own as `catalog serve` runs it, so the client shares neither its GIL nor the heap left by building the
  catalog), one connection, one request at a time, after a warm-up: p50, p95, max, page bytes, the server
  process's CPU time per request (from /proc: less swayed than wall time when other work shares the two cores),
  and SQL statements per request (a `before_cursor_execute` listener on the store's engine in the server
  process, read through an extra `GET /_bench/sql` route before and after the timed requests).
* **baselines, same run** - the `narrow` page (the ratio wide/narrow and the cost per extra column say whether
  rendering grows with the columns) and `GET /api/v1/datasets/<wide>` (the ratio page/JSON is the cost of HTML
  over the same service call).

Run: `python bench/page_render.py [--columns 500] [--rows 2000] [--requests 50] [--no-gc-freeze]`
(`--no-gc-freeze` serves without `catalog serve`'s `gc.freeze()` after start-up, to see what it saves).
Target: p95 of the wide page at most 200 ms. Always exits 0 once it has measured.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from serving import served

TARGET_P95_MS = 200.0
WARM_UP = 5
SOURCE = "bench"
NARROW_COLUMNS = 10
FIRST_NAMES = ["Anna", "Bram", "Chloé", "Daan", "Eva", "Finn", "Greta", "Hugo", "Iris", "Jonas", "Katja", "Lars"]
LAST_NAMES = ["de Vries", "Jansen", "Müller", "Dubois", "Rossi", "Smith", "Kowalski", "Novak", "Berg", "Visser"]
WORDS = ["late", "gift", "fragile", "express", "return", "bulk", "priority", "promo", "retry", "damaged", "resend"]
CODES = ["NEW", "PAID", "SHIPPED", "DONE", "CANCELLED"]


# ---------------------------------------------------------------------------------------------------------------------
# The source: column kinds cycle so every width gets the same mix (4 of the 12 kinds look like personal data).
# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    """One kind of column: its name stem, declared SQL type and a value generator (row index, random)."""

    stem: str
    sql_type: str
    make: Callable[[int, random.Random], Any]


def _email(i: int, rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES).lower()}.{i}@example.{rng.choice(['com', 'nl', 'de'])}"


def _phone(i: int, rng: random.Random) -> str:
    return f"+31 6 {rng.randrange(10**7, 10**8)}"


def _name(i: int, rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _iban(i: int, rng: random.Random) -> str:
    return f"NL{rng.randrange(10, 99)}INGB{rng.randrange(10**9, 10**10)}"


KINDS = (
    Kind("id_ref", "INTEGER", lambda i, rng: rng.randrange(1, 100_000)),
    Kind("amount", "NUMERIC(12,2)", lambda i, rng: round(rng.gammavariate(2.0, 40.0), 2)),
    Kind("email", "TEXT", _email),
    Kind("created_on", "DATE", lambda i, rng: (date(2020, 1, 1) + timedelta(days=rng.randrange(1500))).isoformat()),
    Kind("status", "VARCHAR(20)", lambda i, rng: rng.choice(CODES)),
    Kind("phone", "TEXT", _phone),
    Kind("ratio", "REAL", lambda i, rng: rng.random()),
    Kind("active", "BOOLEAN", lambda i, rng: rng.random() < 0.7),
    Kind("full_name", "VARCHAR(80)", _name),
    Kind("note", "TEXT", lambda i, rng: " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 6)))),
    Kind("quantity", "INTEGER", lambda i, rng: None if rng.random() < 0.1 else rng.randrange(1, 50)),
    Kind("iban", "TEXT", _iban),
)


def column_kinds(count: int) -> list[tuple[str, Kind]]:
    """`count` (name, kind) pairs cycling through KINDS: `email_000`, `amount_001`, ..."""
    return [(f"{KINDS[n % len(KINDS)].stem}_{n:03d}", KINDS[n % len(KINDS)]) for n in range(count)]


def make_table(conn: sqlite3.Connection, table: str, columns: int, rows: int, seed: int) -> None:
    """A table of `columns` mixed columns (plus an `id` key) and `rows` deterministic rows."""
    kinds = column_kinds(columns - 1)
    ddl = ", ".join([f'"{name}" {kind.sql_type}' for name, kind in kinds])
    conn.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, {ddl})')
    rng = random.Random(seed)
    marks = ", ".join("?" * columns)
    data = [(i, *(kind.make(i, rng) for _, kind in kinds)) for i in range(rows)]
    conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', data)  # noqa: S608 - bench-made identifiers


def make_source(path: Path, wide_columns: int, rows: int) -> None:
    conn = sqlite3.connect(path)
    make_table(conn, "wide", wide_columns, rows, seed=1)
    make_table(conn, "narrow", NARROW_COLUMNS, rows, seed=2)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


# ---------------------------------------------------------------------------------------------------------------------
# The catalog: crawl and annotate through the services the CLI uses.
# ---------------------------------------------------------------------------------------------------------------------
def build_catalog(folder: Path, home: Path, wide_columns: int, rows: int) -> Any:
    """Settings of a catalog in `home` holding the crawled, profiled, classified and described source (whose
    SQLite file goes in `folder`)."""
    from catalog.access import Actor
    from catalog.annotate import annotate
    from catalog.crawl import crawl_source
    from catalog.db import migrate, session_scope
    from catalog.settings import load_settings
    from catalog.sources import add_source

    source_db = folder / "source.db"
    make_source(source_db, wide_columns, rows)
    settings = load_settings(home=home)
    migrate(settings)
    actor = Actor.local()
    with session_scope(settings) as session:
        add_source(session, actor, SOURCE, f"sqlite:///{source_db}", {})
    crawl_source(settings, actor, SOURCE)
    result = annotate(settings, actor, sources=[SOURCE], backend="rules")
    if result["failed"]:
        raise SystemExit(f"annotate failed: {result['results']}")
    return settings


def check_annotated(settings: Any, name: str) -> dict[str, int]:
    """Counts showing the page has everything to render: columns, profiles, AI descriptions and labels."""
    from catalog.access import Actor
    from catalog.datasets import get_dataset
    from catalog.db import session_scope

    with session_scope(settings) as session:
        shown = get_dataset(session, Actor.local(), name)
    columns = shown["columns"]
    return {"columns": len(columns),
            "profiled": sum(1 for c in columns if c["profile"]),
            "ai described": sum(1 for c in columns if (c["description_source"] or "").startswith("ai:")),
            "labelled": sum(1 for c in columns if c["labels"])}


# ---------------------------------------------------------------------------------------------------------------------
# Measuring.
# ---------------------------------------------------------------------------------------------------------------------
class StatementCounter:
    """SQL statements sent on an engine, counted by a `before_cursor_execute` listener."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


def serve(home: str, port: int, freeze: bool) -> None:
    """The server process: the catalog app as `catalog serve` runs it, plus `GET /_bench/sql` (the statements
    counted so far, no SQL of its own) so the measuring process can count statements per request.

    `freeze` moves everything alive after start-up out of the collector's reach, as `catalog serve` does
    (`catalog.serve.freeze_startup_objects`): a full collection then scans what requests left, not the whole app.
    """
    import uvicorn

    from catalog.app import create_app
    from catalog.db import get_engine
    from catalog.serve import freeze_startup_objects
    from catalog.settings import load_settings

    settings = load_settings(home=Path(home))
    app = create_app(settings)
    counter = StatementCounter(get_engine(settings))
    app.add_api_route("/_bench/sql", lambda: {"statements": counter.count}, methods=["GET"])
    if freeze:
        freeze_startup_objects()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@dataclass
class Timing:
    """One endpoint's timed requests."""

    label: str
    seconds: list[float]
    size: int
    statements: float  # per request, averaged over the timed requests
    cpu_ms: float  # server process CPU per request (user + system)

    def ms(self, q: float) -> float:
        """The q-th percentile in milliseconds (nearest rank)."""
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))] * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_get(client: Any, pid: int, label: str, path: str, requests: int) -> Timing:
    """`requests` timed GETs of `path` after a warm-up, one at a time over one connection."""
    for _ in range(WARM_UP):
        client.get(path).raise_for_status()
    seconds, size = [], 0
    statements, cpu = client.get("/_bench/sql").json()["statements"], cpu_seconds(pid)
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - start)
        response.raise_for_status()
        size = len(response.content)
    cpu = cpu_seconds(pid) - cpu
    statements = client.get("/_bench/sql").json()["statements"] - statements
    return Timing(label, seconds, size, statements / requests, cpu * 1000 / requests)


def measure(home: Path, wide: str, narrow: str, requests: int, freeze: bool) -> list[Timing]:
    import httpx

    command = [sys.executable, __file__, "--serve", str(home), *([] if freeze else ["--no-gc-freeze"])]
    with served(command, ready="/_bench/sql") as (url, pid), httpx.Client(base_url=url, timeout=60.0) as client:
        return [time_get(client, pid, "page, wide", dataset_path(wide), requests),
                time_get(client, pid, "page, narrow (baseline)", dataset_path(narrow), requests),
                time_get(client, pid, "JSON, wide (baseline)", "/api/v1/datasets/" + quote(wide, safe="/"),
                         requests)]


def dataset_path(name: str) -> str:
    return "/datasets/" + quote(name, safe="/")


# ---------------------------------------------------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------------------------------------------------
def report(timings: Sequence[Timing], wide_columns: int, facts: dict[str, int], built: float, freeze: bool,
           load: float) -> None:
    wide, narrow, json_ = timings
    print(f"\ndataset page render, {os.cpu_count()} cores, load average {load:.1f} before the run"
          f"{'' if freeze else ', server WITHOUT gc.freeze()'}; catalog built in {built:.1f} s; wide dataset: "
          + ", ".join(f"{v} {k}" for k, v in facts.items()))
    print(f"  {'request':<26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'server CPU ms':>14} {'bytes':>11}"
          f" {'SQL/request':>12}")
    for t in timings:
        print(f"  {t.label:<26} {t.ms(50):>8.1f} {t.ms(95):>8.1f} {t.ms(100):>8.1f} {t.cpu_ms:>14.1f} {t.size:>11,}"
              f" {t.statements:>12g}")
    extra = max(1, wide_columns - NARROW_COLUMNS)
    print(f"  wide/narrow page p50: {wide.ms(50) / narrow.ms(50):.1f}x;"
          f" per extra column: {(wide.ms(50) - narrow.ms(50)) / extra * 1000:.0f} µs,"
          f" {(wide.size - narrow.size) / extra:,.0f} bytes")
    print(f"  page/JSON p50 (wide): {wide.ms(50) / json_.ms(50):.2f}x")
    verdict = "PASS" if wide.ms(95) <= TARGET_P95_MS else "FAIL"
    print(f"  {verdict}: wide page p95 {wide.ms(95):.1f} ms (target p95 <= {TARGET_P95_MS:.0f} ms)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--columns", type=int, default=500, help="columns of the wide table (default 500)")
    parser.add_argument("--rows", type=int, default=2000, help="rows of each table (default 2,000)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per endpoint (default 50)")
    parser.add_argument("--no-gc-freeze", action="store_true",
                        help="serve without gc.freeze() after start-up (catalog serve freezes; this shows the cost)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # internal: run the server process on this home
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, not args.no_gc_freeze)
        return 0
    if args.columns < NARROW_COLUMNS or args.requests < 1:
        parser.error(f"--columns must be at least {NARROW_COLUMNS} and --requests at least 1")
    load = os.getloadavg()[0]  # other work on the machine slows wall time, not the server's CPU time
    with tempfile.TemporaryDirectory(prefix="bench-page-") as folder:
        home = Path(folder) / "catalog"
        os.environ["CATALOG_HOME"] = str(home)  # no setting may come from the shell's catalog
        os.environ.pop("CATALOG_DATABASE_URL", None)
        os.environ.pop("CATALOG_MODE", None)
        start = time.perf_counter()
        settings = build_catalog(Path(folder), home, args.columns, args.rows)
        built = time.perf_counter() - start
        wide, narrow = f"{SOURCE}/main/wide", f"{SOURCE}/main/narrow"
        facts = check_annotated(settings, wide)
        timings = measure(home, wide, narrow, args.requests, not args.no_gc_freeze)
    report(timings, args.columns, facts, built, not args.no_gc_freeze, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
