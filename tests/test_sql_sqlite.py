"""The SQL connector on real SQLite files: keys, comments, views, hostile names, wide tables, filters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from catalog.settings import Settings
from connectors.base import CrawlReport, DatasetKind
from connectors.sql import SqlConnector
from connectors.sql.sqlite_comments import parse_comments
from tests.helpers import crawl, names, register, show


def test_columns_keys_comments_and_estimates(settings: Settings, sqlite_source: Path) -> None:
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    customers = show(settings, "shop/main/customers")
    assert customers["description"] == "People who bought something."
    assert customers["description_source"] == "source"
    assert customers["row_estimate"] == 2
    by_name = {c["name"]: c for c in customers["columns"]}
    assert by_name["id"]["primary_key"] is True
    assert by_name["c_eml"]["description"] == "customer email"
    assert by_name["c_eml"]["nullable"] is False
    assert by_name['na"me <script>alert(1)</script>']["type"] == "VARCHAR(80)"
    assert by_name['na"me <script>alert(1)</script>']["normalized_type"] == "string"
    orders = show(settings, "shop/main/orders")
    fk = {c["name"]: c["foreign_key"] for c in orders["columns"]}
    assert fk["cust_id"] == "main/customers.id"
    assert {c["name"]: c["normalized_type"] for c in orders["columns"]} == {
        "ord_id": "integer", "cust_id": "integer", "ord_dt": "date", "amt_usd": "decimal"}
    view = show(settings, "shop/main/v_orders")
    assert view["kind"] == "view" and [c["name"] for c in view["columns"]] == ["ord_id", "amt_usd"]


def test_reserved_words_and_unicode_names(settings: Settings, sqlite_source: Path) -> None:
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    reserved = show(settings, "shop/main/select")
    assert [c["name"] for c in reserved["columns"]] == ["from", "where"]
    assert "Straße" in [c["name"] for c in show(settings, "shop/main/customers")["columns"]]


def test_two_thousand_column_table(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "wide.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE wide (" + ", ".join(f"c{i} INTEGER" for i in range(2000)) + ")")
    conn.close()
    register(settings, "w", f"sqlite:///{path}")
    result = crawl(settings, "w")
    assert result["status"] == "succeeded"
    columns = show(settings, "w/main/wide")["columns"]
    assert len(columns) == 2000 and columns[-1]["name"] == "c1999" and columns[-1]["ordinal"] == 2000


def test_attached_databases_are_schemas(settings: Settings, sqlite_source: Path, tmp_path: Path) -> None:
    hr = tmp_path / "hr.db"
    conn = sqlite3.connect(hr)
    conn.execute("CREATE TABLE employees (emp_id INTEGER PRIMARY KEY, full_name TEXT)")
    conn.close()
    register(settings, "co", f"sqlite:///{sqlite_source}", attach=f"hr={hr}")
    crawl(settings, "co")
    assert "co/hr/employees" in names(settings)


def test_include_and_exclude_patterns(settings: Settings, sqlite_source: Path) -> None:
    register(settings, "shop", f"sqlite:///{sqlite_source}", include_tables="c*,o*,v_*", exclude_tables="main/v_*")
    crawl(settings, "shop")
    assert names(settings) == ["shop/main/customers", "shop/main/orders"]


def test_crawl_opens_the_source_read_only(sqlite_source: Path) -> None:
    before = sqlite_source.read_bytes()
    connector = SqlConnector("s", f"sqlite:///{sqlite_source}")
    report = CrawlReport("s")
    assert len(list(connector.crawl(report))) == 4
    assert sqlite_source.read_bytes() == before


def test_missing_sqlite_file_is_one_clear_error(settings: Settings, tmp_path: Path) -> None:
    register(settings, "gone", f"sqlite:///{tmp_path / 'nope.db'}")
    result = crawl(settings, "gone")
    assert result["status"] == "failed"
    assert result["error"] == f"source 'gone': SQLite file not found: {tmp_path / 'nope.db'}"
    assert not (tmp_path / "nope.db").exists()


def test_comment_parser_handles_quotes_and_layouts() -> None:
    table, columns = parse_comments(
        'CREATE TABLE "t(--x" (\n'
        "  -- Table of things,\n  -- really.\n"
        "  id INTEGER PRIMARY KEY, -- the id\n"
        "  -- leading comment for b\n"
        "  b TEXT DEFAULT 'a,--b',\n"
        '  "c, d" NUMERIC(12,2) -- money\n'
        "  , FOREIGN KEY (b) REFERENCES x(y) -- not a column\n)"
    )
    assert table == "Table of things, really."
    assert columns == {"id": "the id", "b": "leading comment for b", "c, d": "money"}
    assert parse_comments("CREATE TABLE t (a int, b text)") == (None, {})
    assert parse_comments(None) == (None, {})


def test_generic_inspector_reader_gives_the_same_datasets(settings: Settings, sqlite_source: Path) -> None:
    """Dialects without a bulk reader go through SQLAlchemy's inspector; on SQLite both must agree."""
    register(settings, "bulk", f"sqlite:///{sqlite_source}")
    register(settings, "insp", f"sqlite:///{sqlite_source}", reader="inspector")
    crawl(settings, "bulk")
    assert crawl(settings, "insp")["status"] == "succeeded"
    for table in ("customers", "orders", "select", "v_orders"):
        bulk, insp = show(settings, f"bulk/main/{table}"), show(settings, f"insp/main/{table}")
        assert [(c["name"], c["primary_key"], c["foreign_key"]) for c in insp["columns"]] == [
            (c["name"], c["primary_key"], c["foreign_key"]) for c in bulk["columns"]]
        assert [c["normalized_type"] for c in insp["columns"]] == [c["normalized_type"] for c in bulk["columns"]]


def test_duplicate_column_names_are_a_warning(tmp_path: Path) -> None:
    from connectors.sql.rows import ColumnRow, RelationRow, SchemaRows, assemble

    rows = SchemaRows("s", relations={"t": RelationRow("t", DatasetKind.VIEW)},
                      columns=[ColumnRow("t", 1, "a", "int", True), ColumnRow("t", 2, "a", "text", True)])
    report = CrawlReport("x")
    (snapshot,) = list(assemble(rows, report))
    assert [c.name for c in snapshot.columns] == ["a"]
    assert report.warnings[0].message == "duplicate column name 'a' skipped"
