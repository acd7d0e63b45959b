"""Publishing a raw PostgreSQL table through a redaction recipe: rows/s end to end and peak memory.

    python bench/publish_clean.py [--rows 5000000] [--small 1000000] [--keep]

A table of `--rows` rows is made in PostgreSQL (schema `bench_publish_clean`, filled server-side by
generate_series, reused between runs unless its size differs) with 4 PII columns, as a customer table has them:
an e-mail (hash), a phone (mask keep_last 2), a birth date (generalise to 10-year age bands) and free-text notes
(scrub) where one row in 16 each holds a planted phone number, e-mail or card number (3 in 16 in all; the other
notes are ordinary text with small numbers), plus an id, an amount and a timestamp that are kept.
CATALOG_TEST_POSTGRES_URL (or --url) names the server.

Each measurement runs in a fresh process (so peak RSS is its own) against a fresh embedded catalog:
- copy: the same rows read and written as the version's Parquet, no recipe (the floor of any publish);
- clean: `catalog.publish.publish(..., dataset=..., options=PublishOptions(recipe=...))` end to end: read, redact,
  write, the PII scan, the Great Expectations suite on up to 1M rows, DVC, the tag and the catalog's crawl.
Both run on the full table and on a `--small` row view of it: peak RSS that does not grow with the rows is the
"flat memory" the issue asks for. Prints rows/s, the clean/copy ratio and peak RSS (MiB) of each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCHEMA = "bench_publish_clean"
RECIPE = """
version: 1
default: keep
columns:
  email: {rule: hash}
  phone: {rule: mask, keep_last: 2}
  birth_date: {rule: generalise, to: age_band, reference_date: 2026-01-01, band: 10, top: 90}
  notes: {rule: scrub}
"""
KEY = "bench-publish-clean-key-0123456789abcdef"
FILL = f"""
INSERT INTO {SCHEMA}.customers
SELECT g,
       'user' || g || '@' || (ARRAY['example.com','mail.de','post.fr','web.nl','shop.co.uk'])[1 + g % 5],
       '+49 ' || (1000000000 + (g::bigint * 7919) % 899999999)::text,
       DATE '1940-01-01' + (g * 37 % 22000),
       CASE g % 16 WHEN 0 THEN 'Call me back on +44 20 7946 ' || lpad((g % 10000)::text, 4, '0') || ' after five'
                   WHEN 5 THEN 'New address: please write to user' || g || '@example.com from now on'
                   WHEN 10 THEN 'Paid by card 4111 1111 1111 1111 on the second attempt'
                   ELSE (ARRAY['Delivery left with the neighbour, no complaints this time',
                               'Asked about the loyalty programme and the spring catalogue',
                               'Returned item 3 of order, size too small; refund issued',
                               'Prefers e-mail contact; do not call during working hours'])[1 + g % 4] END,
       round((g % 100000) / 7.0, 2)::double precision,
       TIMESTAMP '2024-01-01' + (g % 31536000) * INTERVAL '1 second'
FROM generate_series(1, :rows) AS g
"""


def _engine(url: str) -> Any:
    from sqlalchemy import create_engine

    return create_engine(url)


def prepare(url: str, rows: int, small: int) -> None:
    """The table of `rows` rows and a view of its first `small` rows (made again only when the size differs)."""
    from sqlalchemy import text

    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        have = conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{SCHEMA}.customers"}).scalar()
        made = conn.execute(text("SELECT obj_description(to_regclass(:t), 'pg_class')"),
                            {"t": f"{SCHEMA}.customers"}).scalar() if have else None
        wanted = f"{rows} rows, fill {hashlib.sha256(FILL.encode()).hexdigest()[:12]}"
        if made != wanted:
            started = time.perf_counter()
            conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
            conn.execute(text(f"""CREATE TABLE {SCHEMA}.customers (id bigint PRIMARY KEY, email text, phone text,
                                  birth_date date, notes text, amount double precision, created_at timestamp)"""))
            conn.execute(text(FILL), {"rows": rows})
            conn.execute(text(f"COMMENT ON TABLE {SCHEMA}.customers IS '{wanted}'"))
            print(f"made {SCHEMA}.customers: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        conn.execute(text(f"CREATE OR REPLACE VIEW {SCHEMA}.customers_small AS "
                          f"SELECT * FROM {SCHEMA}.customers WHERE id <= {int(small)}"))
        conn.execute(text(f"ANALYZE {SCHEMA}.customers"))
    engine.dispose()


def child(mode: str, url: str, table: str) -> dict[str, Any]:
    """One measurement in this process: a fresh catalog, the source crawled, then the timed part."""
    from catalog.access import Actor
    from catalog.db import migrate, session_scope
    from catalog.settings import load_settings
    from catalog.sources import add_source

    os.environ["CATALOG_REDACTION_KEY"] = KEY
    home = Path(tempfile.mkdtemp(prefix="bench-publish-clean-"))
    settings = load_settings(home=home)
    migrate(settings)
    actor = Actor.local()
    with session_scope(settings) as session:
        add_source(session, actor, "pg", url, {"include_schemas": SCHEMA})
    from catalog.crawl import crawl_source

    crawl_source(settings, actor, "pg")
    dataset = f"pg/{SCHEMA}/{table}"
    import catalog.publish  # noqa: F401  (imported before timing, as a running service has it)

    before = _rss_mib()
    started = time.perf_counter()
    try:
        rows = _copy(settings, actor, dataset) if mode == "copy" else _clean(settings, actor, dataset)
    finally:
        seconds = time.perf_counter() - started
        from catalog.db import get_engine

        get_engine(settings).dispose()
        shutil.rmtree(home, ignore_errors=True)
    return {"mode": mode, "table": table, "rows": rows, "seconds": seconds, "rss_before_mib": before,
            "peak_rss_mib": _rss_mib()}


def _copy(settings: Any, actor: Any, dataset: str) -> int:
    from catalog.export import open_export
    from catalog.publish_input import stage_batches
    from catalog.streams import prefetch
    from catalog.version_repo import VersionRepo

    repo = VersionRepo(settings)
    repo.ensure()
    export = open_export(settings, actor, dataset)
    staged = stage_batches(export.schema, prefetch(export.batches()), repo.staging_dir(), "bench")
    staged.digest  # noqa: B018  (the publish hashes what it stages; so does the baseline)
    staged.discard()
    return staged.rows


def _clean(settings: Any, actor: Any, dataset: str) -> int:
    from catalog.publish import PublishOptions, publish
    from catalog.recipes import parse

    done = publish(settings, actor, "clean/customers", dataset=dataset,
                   options=PublishOptions(recipe=parse(RECIPE), message="bench"))
    if done["status"] != "published":
        raise SystemExit(f"publish did not land: {done['status']}")
    return int(done["version"]["rows"])


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(mode: str, url: str, table: str) -> dict[str, Any]:
    found = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url, "--table", table],
                           capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise SystemExit(f"{mode} on {table} failed:\n{found.stderr[-3000:]}")
    return json.loads(found.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--url", default=os.environ.get("CATALOG_TEST_POSTGRES_URL", ""))
    parser.add_argument("--child", choices=("copy", "clean"))
    parser.add_argument("--table", default="customers")
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("set CATALOG_TEST_POSTGRES_URL or pass --url")
    if args.child:
        print(json.dumps(child(args.child, args.url, args.table)))
        return
    prepare(args.url, args.rows, args.small)
    results = {(mode, table): run_child(mode, args.url, table)
               for table in ("customers_small", "customers") for mode in ("copy", "clean")}
    print(f"{'measurement':<28}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak RSS MiB':>14}")
    for (mode, table), found in results.items():
        rate = found["rows"] / found["seconds"]
        print(f"{mode + ' ' + table:<28}{found['rows']:>12,}{found['seconds']:>10.2f}{rate:>12,.0f}"
              f"{found['peak_rss_mib']:>14,.0f}")
    full_copy, full_clean = results[("copy", "customers")], results[("clean", "customers")]
    clean_rate = full_clean["rows"] / full_clean["seconds"]
    ratio = full_copy["seconds"] / full_clean["seconds"]
    growth = full_clean["peak_rss_mib"] / results[("clean", "customers_small")]["peak_rss_mib"]
    print(f"clean publish: {clean_rate:,.0f} rows/s end to end (target 500,000); clean/copy throughput ratio "
          f"{ratio:.2f}x; peak RSS {full_clean['peak_rss_mib']:,.0f} MiB at {full_clean['rows']:,} rows vs "
          f"{results[('clean', 'customers_small')]['peak_rss_mib']:,.0f} MiB at {args.small:,} ({growth:.2f}x)")


if __name__ == "__main__":
    main()
