"""Row sampling of SQL tables and views: SQLite files, a real PostgreSQL and a real MariaDB.

Targets are built from what the connector's own crawl yields, so the dataset paths and column names are exactly
those the catalog stores.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.base import ConnectorError, CrawlReport, DatasetKind, DatasetSnapshot, SampleTarget
from connectors.sql import SqlConnector
from tests.helpers import run_sql

HOSTILE_TABLE = 'we"ird tablé; DROP TABLE x; --'
HOSTILE_COLUMNS = ("select", "Größe <script>", 'qu"ote', "a.b")


def targets(connector: SqlConnector) -> dict[str, SampleTarget]:
    report = CrawlReport(connector.name)
    return {
        s.path: SampleTarget(s.path, s.kind, tuple(c.name for c in s.columns), s.row_estimate, s.properties)
        for s in connector.crawl(report) if isinstance(s, DatasetSnapshot)
    }


def assert_spread(ids: Sequence[int], low: int, high: int) -> None:
    """Sampled keys come from every tenth of the key range, not from its start."""
    span = high - low + 1
    deciles = {(i - low) * 10 // span for i in ids}
    assert deciles == set(range(10)), sorted(deciles)


# -- SQLite ----------------------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "sample.db"
    conn = sqlite3.connect(path)
    quoted = '"' + HOSTILE_TABLE.replace('"', '""') + '"'
    hostile_columns = ", ".join('"' + c.replace('"', '""') + '" TEXT' for c in HOSTILE_COLUMNS)
    conn.executescript(f"""
        CREATE TABLE small (id INTEGER PRIMARY KEY, name TEXT, photo BLOB, price NUMERIC, note TEXT);
        CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT);
        CREATE TABLE heap (label TEXT, n INT);
        CREATE TABLE sparse (id INTEGER PRIMARY KEY, v TEXT);
        CREATE TABLE keyed (code TEXT PRIMARY KEY, n INT) WITHOUT ROWID;
        CREATE TABLE {quoted} ({hostile_columns});
        CREATE VIEW big_view AS SELECT id, label FROM big;
        CREATE VIEW forever AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
            SELECT count(*) AS n FROM c;
    """)
    conn.executemany("INSERT INTO small VALUES (?, ?, ?, ?, ?)",
                     [(i, f"n{i}", b"\x00\xff", 1.5, "x" * 10_000 if i == 2 else None) for i in range(1, 6)])
    conn.executemany("INSERT INTO big VALUES (?, ?)", ((i, f"row {i}") for i in range(1, 200_001)))
    conn.executemany("INSERT INTO heap VALUES (?, ?)", ((f"h{i}", i) for i in range(50_000)))
    conn.executemany("INSERT INTO sparse VALUES (?, ?)", ((i * 1_000_003, "s") for i in range(1, 101)))
    conn.executemany("INSERT INTO keyed VALUES (?, ?)", ((f"k{i:06d}", i) for i in range(30_000)))
    conn.execute(f"INSERT INTO {quoted} VALUES (?, ?, ?, ?)", ("<script>alert(1)</script>", "ü", "'", "dot"))
    conn.commit()
    conn.close()
    return path


def test_sqlite_small_table_is_read_whole(sqlite_db: Path) -> None:
    connector = SqlConnector("s", f"sqlite:///{sqlite_db}")
    sample = connector.sample(targets(connector)["main/small"], 10_000)
    assert (sample.rows, sample.method, sample.population) == (5, "whole table (5 rows)", 5)
    assert sample.values["id"] == [1, 2, 3, 4, 5]
    assert sample.values["photo"][0] == b"\x00\xff" and isinstance(sample.values["photo"][0], bytes)
    assert sample.values["note"][0] is None and len(sample.values["note"][1]) == 4096
    assert any("cut" in w for w in sample.warnings), sample.warnings
    sparse = connector.sample(targets(connector)["main/sparse"], 10_000)  # keys far apart: ranges, all read
    assert (sparse.rows, sparse.method) == (100, "whole table (100 rows)")


def test_sqlite_large_table_is_sampled_in_key_ranges(sqlite_db: Path) -> None:
    connector = SqlConnector("s", f"sqlite:///{sqlite_db}")
    found = targets(connector)
    started = time.monotonic()
    sample = connector.sample(found["main/big"], 10_000)
    assert time.monotonic() - started < 5
    assert (sample.rows, sample.method) == (10_000, "20 primary-key ranges")
    assert len(set(sample.values["id"])) == 10_000, "ranges never overlap"
    assert_spread(sample.values["id"], 1, 200_000)
    assert all(label == f"row {i}" for i, label in zip(sample.values["id"], sample.values["label"], strict=True))

    heap = connector.sample(found["main/heap"], 1_000)  # no integer key: the rowid
    assert (heap.rows, heap.method) == (1_000, "20 rowid ranges")
    assert_spread(heap.values["n"], 0, 49_999)


def test_sqlite_fallbacks_views_and_hostile_names(sqlite_db: Path) -> None:
    connector = SqlConnector("s", f"sqlite:///{sqlite_db}")
    found = targets(connector)
    keyed = connector.sample(found["main/keyed"], 100)
    assert (keyed.rows, keyed.method) == (100, "first rows")
    assert any("no sampling method" in w for w in keyed.warnings)
    view = connector.sample(found["main/big_view"], 100)
    assert (view.rows, view.method) == (100, "first rows of a view")
    hostile = connector.sample(found[f"main/{HOSTILE_TABLE}"], 100)
    assert hostile.method == "whole table (1 rows)"
    assert [hostile.values[c] for c in HOSTILE_COLUMNS] == [["<script>alert(1)</script>"], ["ü"], ["'"], ["dot"]]


def test_sqlite_statement_budget_and_vanished_table(sqlite_db: Path) -> None:
    connector = SqlConnector("s", f"sqlite:///{sqlite_db}", {"sample_timeout_s": "1"})
    found = targets(connector)
    started = time.monotonic()
    with pytest.raises(ConnectorError, match="main/forever"):
        connector.sample(found["main/forever"], 10)
    assert time.monotonic() - started < 5
    conn = sqlite3.connect(sqlite_db)
    conn.execute("DROP TABLE small")
    conn.commit()
    conn.close()
    with pytest.raises(ConnectorError, match="'main/small'.*no longer exists"):
        connector.sample(found["main/small"], 10)


def test_sqlite_attached_database(sqlite_db: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("INSERT INTO t VALUES (1, 'one')")
    conn.commit()
    conn.close()
    connector = SqlConnector("s", f"sqlite:///{sqlite_db}", {"attach": f"ext={other}"})
    sample = connector.sample(targets(connector)["ext/t"], 10)
    assert sample.values == {"id": [1], "v": ["one"]}


# -- PostgreSQL ------------------------------------------------------------------------------------------------


def test_postgres_large_table_uses_tablesample(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    s = f'"{schema}"'
    run_sql(url,
            f"CREATE TABLE {s}.events (id int PRIMARY KEY, amount numeric(10,2), at date, payload jsonb, tags text[])",
            f"INSERT INTO {s}.events SELECT g, g / 100.0, DATE '2024-01-01' + g % 300, jsonb_build_object('g', g), "
            "ARRAY['a', 'b'] FROM generate_series(1, 200000) g",
            f"CREATE TABLE {s}.small (id int, label text)",
            f"INSERT INTO {s}.small SELECT g, 'x' FROM generate_series(1, 300) g",
            f"CREATE VIEW {s}.events_view AS SELECT id, amount FROM {s}.events",
            f"CREATE MATERIALIZED VIEW {s}.events_mv AS SELECT id FROM {s}.events",
            f"ANALYZE {s}.events", f"ANALYZE {s}.events_mv")
    connector = SqlConnector("pg", url, {"include_schemas": schema})
    found = targets(connector)
    sample = connector.sample(found[f"{schema}/events"], 10_000)
    assert sample.method.startswith("TABLESAMPLE SYSTEM (") and sample.rows == 10_000, sample.method
    assert 150_000 < (sample.population or 0) < 250_000
    assert_spread(sample.values["id"], 1, 200_000)
    first = sample.values["id"].index(min(sample.values["id"]))
    assert isinstance(sample.values["amount"][first], Decimal)
    assert sample.values["payload"][first] == {"g": sample.values["id"][first]}
    assert sample.values["tags"][first] == ["a", "b"]

    small = connector.sample(found[f"{schema}/small"], 10_000)
    assert (small.rows, small.method) == (300, "whole table (300 rows)")
    view = connector.sample(found[f"{schema}/events_view"], 500)
    assert (view.rows, view.method) == (500, "first rows of a view")
    materialized = connector.sample(found[f"{schema}/events_mv"], 500)
    assert materialized.method.startswith("TABLESAMPLE SYSTEM")
    assert_spread(materialized.values["id"], 1, 200_000)


def test_postgres_stale_statistics_fall_back_to_bernoulli(pg_schema: tuple[str, str]) -> None:
    """Statistics from before most rows were deleted promise 100x the rows the pages still hold: page sampling
    comes back short twice, then row sampling is used."""
    url, schema = pg_schema
    s = f'"{schema}"'
    run_sql(url, f"CREATE TABLE {s}.bloated (id int, pad text) WITH (autovacuum_enabled = false)",
            f"INSERT INTO {s}.bloated SELECT g, repeat('x', 500) FROM generate_series(1, 100000) g",
            f"ANALYZE {s}.bloated", f"DELETE FROM {s}.bloated WHERE id % 100 <> 0")
    connector = SqlConnector("pg", url, {"include_schemas": schema})
    target = SampleTarget(f"{schema}/bloated", DatasetKind.TABLE, ("id",))
    sample = connector.sample(target, 1_000)
    assert sample.method.startswith("TABLESAMPLE BERNOULLI"), sample.method
    assert 0 < sample.rows < 1_000 and all(i % 100 == 0 for i in sample.values["id"])
    assert any("too few rows" in w for w in sample.warnings)


def test_postgres_hostile_names(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    quoted = '"' + HOSTILE_TABLE.replace('"', '""') + '"'
    columns = ", ".join('"' + c.replace('"', '""') + '" text' for c in HOSTILE_COLUMNS)
    run_sql(url, f'CREATE TABLE "{schema}".{quoted} ({columns})',
            f"INSERT INTO \"{schema}\".{quoted} SELECT '<b>' || g, 'ü', '''', NULL FROM generate_series(1, 20000) g",
            f'ANALYZE "{schema}".{quoted}')
    connector = SqlConnector("pg", url, {"include_schemas": schema})
    sample = connector.sample(targets(connector)[f"{schema}/{HOSTILE_TABLE}"], 1_000)
    assert sample.method.startswith("TABLESAMPLE") and sample.rows == 1_000
    assert set(sample.values["Größe <script>"]) == {"ü"} and set(sample.values["a.b"]) == {None}
    assert all(v.startswith("<b>") for v in sample.values["select"])


def test_postgres_statement_timeout_and_errors(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    run_sql(url, f'CREATE VIEW "{schema}".slow AS SELECT 1 AS x FROM pg_sleep(10)')
    connector = SqlConnector("pg", url, {"include_schemas": schema, "sample_timeout_s": "1"})
    started = time.monotonic()
    with pytest.raises(ConnectorError, match=f"'{schema}/slow'.*statement timeout"):
        connector.sample(SampleTarget(f"{schema}/slow", DatasetKind.VIEW, ("x",)), 10)
    assert time.monotonic() - started < 5
    with pytest.raises(ConnectorError, match="no longer exists"):
        connector.sample(SampleTarget(f"{schema}/gone", DatasetKind.TABLE, ("x",)), 10)
    unreachable = SqlConnector("pg", "postgresql://u:s3cret-pw@127.0.0.1:1/db", {"connect_timeout": "2"})
    with pytest.raises(ConnectorError) as caught:
        unreachable.sample(SampleTarget("public/t", DatasetKind.TABLE, ("x",)), 10)
    assert "s3cret-pw" not in str(caught.value) and "\n" not in str(caught.value)


# -- MariaDB / MySQL -------------------------------------------------------------------------------------------


def test_mariadb_primary_key_ranges_and_head(mysql_db: str) -> None:
    run_sql(mysql_db,
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, amount DECIMAL(10,2), placed DATE, blob_col BLOB)",
            "INSERT INTO orders SELECT seq, seq / 100, DATE '2024-01-01' + INTERVAL (seq % 300) DAY, X'00FF' "
            "FROM seq_1_to_200000",
            "CREATE TABLE notes (body TEXT, n INT)",
            "INSERT INTO notes SELECT CONCAT('note ', seq), seq FROM seq_1_to_20000",
            "CREATE VIEW orders_view AS SELECT id FROM orders")
    connector = SqlConnector("my", mysql_db)
    db = mysql_db.rsplit("/", 1)[1]
    found = targets(connector)
    sample = connector.sample(found[f"{db}/orders"], 10_000)
    assert (sample.rows, sample.method) == (10_000, "20 primary-key ranges")
    assert len(set(sample.values["id"])) == 10_000
    assert_spread(sample.values["id"], 1, 200_000)
    assert isinstance(sample.values["amount"][0], Decimal) and sample.values["blob_col"][0] == b"\x00\xff"

    notes = connector.sample(found[f"{db}/notes"], 1_000)
    assert (notes.rows, notes.method) == (1_000, "first rows")
    assert any("no sampling method" in w for w in notes.warnings)
    assert notes.values["n"] == list(range(1, 1_001))
    view = connector.sample(found[f"{db}/orders_view"], 10)
    assert view.method == "first rows of a view"


def test_mariadb_hostile_names_and_small_tables(mysql_db: str) -> None:
    table = "we`ird tablé; DROP --"
    run_sql(mysql_db,
            "CREATE TABLE `we``ird tablé; DROP --` (`select` INT PRIMARY KEY, `Größe <b>` TEXT, `100%` TEXT)",
            "INSERT INTO `we``ird tablé; DROP --` SELECT seq, '<script>', '%s' FROM seq_1_to_50")
    connector = SqlConnector("my", mysql_db)
    db = mysql_db.rsplit("/", 1)[1]
    sample = connector.sample(targets(connector)[f"{db}/{table}"], 10_000)
    assert (sample.rows, sample.method) == (50, "whole table (50 rows)")
    assert set(sample.values["Größe <b>"]) == {"<script>"} and set(sample.values["100%"]) == {"%s"}
    with pytest.raises(ConnectorError, match="no longer exists"):
        connector.sample(SampleTarget(f"{db}/gone", DatasetKind.TABLE, ("x",)), 10)


def test_mariadb_statement_budget(mysql_db: str) -> None:
    run_sql(mysql_db, "CREATE VIEW slow AS SELECT sum(seq * 2) AS n FROM seq_1_to_1000000000")
    connector = SqlConnector("my", mysql_db, {"sample_timeout_s": "1"})
    db = mysql_db.rsplit("/", 1)[1]
    started = time.monotonic()
    with pytest.raises(ConnectorError, match=f"'{db}/slow'.*max_statement_time"):
        connector.sample(SampleTarget(f"{db}/slow", DatasetKind.VIEW, ("n",)), 10)
    assert time.monotonic() - started < 5
