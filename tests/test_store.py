"""Applying crawls: new/changed/unchanged/deleted/restored, schema versions, failures that lose nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalog.db import session_scope
from catalog.models import Column, CrawlRun, Dataset
from catalog.settings import Settings
from tests.helpers import crawl, names, register, show


def _exec(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.close()


def test_first_crawl_reports_everything_new(settings: Settings, sqlite_source: Path) -> None:
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    result = crawl(settings, "shop")
    assert result["status"] == "succeeded", result
    assert (result["new"], result["changed"], result["unchanged"], result["deleted"]) == (4, 0, 0, 0)
    assert names(settings) == ["shop/main/customers", "shop/main/orders", "shop/main/select", "shop/main/v_orders"]


def test_recrawl_without_changes_is_unchanged(settings: Settings, sqlite_source: Path) -> None:
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    before = show(settings, "shop/main/orders")
    result = crawl(settings, "shop")
    assert (result["new"], result["changed"], result["unchanged"]) == (0, 0, 4)
    after = show(settings, "shop/main/orders")
    assert after["last_seen"] > before["last_seen"]
    assert after["last_changed"] == before["last_changed"]
    assert len(after["schema_versions"]) == 1


def test_schema_change_creates_version_with_diff(settings: Settings, sqlite_source: Path) -> None:
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    with session_scope(settings) as session:
        column_ids = dict(session.execute(
            select(Column.name, Column.id).join(Dataset).where(Dataset.name == "shop/main/orders")).all())
    _exec(sqlite_source, """
        ALTER TABLE orders ADD COLUMN status TEXT;
        ALTER TABLE orders DROP COLUMN ord_dt;
    """)
    result = crawl(settings, "shop")
    assert (result["changed"], result["unchanged"]) == (1, 3)
    dataset = show(settings, "shop/main/orders")
    assert [v["version"] for v in dataset["schema_versions"]] == [2, 1]
    diff = dataset["schema_versions"][0]["diff"]
    assert diff["added"] == ["status"] and diff["removed"] == ["ord_dt"]
    with session_scope(settings) as session:
        kept = dict(session.execute(
            select(Column.name, Column.id).join(Dataset).where(Dataset.name == "shop/main/orders")).all())
    assert kept["amt_usd"] == column_ids["amt_usd"], "column ids stay stable across schema changes"


def test_retype_is_reported(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    _exec(path, "CREATE TABLE t (a INTEGER, b TEXT);")
    register(settings, "r", f"sqlite:///{path}")
    crawl(settings, "r")
    _exec(path, "DROP TABLE t; CREATE TABLE t (a BIGINT, b TEXT NOT NULL);")
    crawl(settings, "r")
    diff = show(settings, "r/main/t")["schema_versions"][0]["diff"]
    assert diff["retyped"] == [{"name": "a", "from": "INTEGER", "to": "BIGINT"}]
    assert diff["changed"] == [{"name": "b", "fields": ["nullable"]}]


def test_comment_change_is_a_change_but_not_a_new_schema(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _exec(path, "CREATE TABLE t (\n a INTEGER -- first\n);")
    register(settings, "c", f"sqlite:///{path}")
    crawl(settings, "c")
    _exec(path, "DROP TABLE t; CREATE TABLE t (\n a INTEGER -- second\n);")
    result = crawl(settings, "c")
    assert result["changed"] == 1
    dataset = show(settings, "c/main/t")
    assert dataset["columns"][0]["description"] == "second"
    assert len(dataset["schema_versions"]) == 1


def test_dropped_table_is_soft_deleted_and_restored(settings: Settings, sqlite_source: Path) -> None:
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    _exec(sqlite_source, 'DROP TABLE "select";')
    result = crawl(settings, "shop")
    assert result["deleted"] == 1
    assert "shop/main/select" not in names(settings)
    assert "shop/main/select" in names(settings, include_deleted=True)
    assert show(settings, "shop/main/select")["deleted"] is True
    _exec(sqlite_source, 'CREATE TABLE "select" ("from" INTEGER, "where" TEXT);')
    result = crawl(settings, "shop")
    assert result["restored"] == 1 and result["deleted"] == 0
    restored = show(settings, "shop/main/select")
    assert restored["deleted"] is False
    assert len(restored["schema_versions"]) == 1


def test_crawl_failing_halfway_keeps_previous_state(settings: Settings, sqlite_source: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    _exec(sqlite_source, "ALTER TABLE customers ADD COLUMN phone TEXT; DROP VIEW v_orders; DROP TABLE orders;")

    import connectors.sql.connector as connector_module

    real_assemble = connector_module.assemble

    def failing_assemble(*args, **kwargs):  # type: ignore[no-untyped-def]
        for count, snapshot in enumerate(real_assemble(*args, **kwargs)):
            if count == 1:
                raise ConnectionResetError("server closed the connection unexpectedly")
            yield snapshot

    monkeypatch.setattr(connector_module, "assemble", failing_assemble)
    result = crawl(settings, "shop")
    assert result["status"] == "failed"
    assert "server closed the connection" in result["error"]
    assert "shop/main/orders" in names(settings), "nothing is deleted by a failed crawl"
    assert [c["name"] for c in show(settings, "shop/main/customers")["columns"]][-1] == "Straße"
    with session_scope(settings) as session:
        statuses = session.scalars(select(CrawlRun.status).order_by(CrawlRun.id)).all()
    assert statuses == ["succeeded", "failed"]
    monkeypatch.setattr(connector_module, "assemble", real_assemble)
    result = crawl(settings, "shop")
    assert result["status"] == "succeeded" and result["deleted"] == 2 and result["changed"] == 1


def test_unreadable_scope_is_not_deleted(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    _exec(path, "CREATE TABLE base (x INTEGER); CREATE VIEW v AS SELECT x FROM base;")
    register(settings, "v", f"sqlite:///{path}")
    crawl(settings, "v")
    _exec(path, "DROP TABLE base; CREATE TABLE other (y INTEGER);")
    result = crawl(settings, "v")
    assert result["status"] == "partial"
    assert any(w["dataset"] == "main/v" and "no such table" in w["message"] for w in result["warnings"])
    assert "v/main/v" in names(settings), "a view that fails to compile keeps its last known schema"
    assert result["deleted"] == 1  # base


def test_small_batches_give_the_same_result(tmp_path: Path, sqlite_source: Path) -> None:
    from dataclasses import replace

    from catalog.db import migrate
    from catalog.settings import load_settings

    settings = replace(load_settings(home=tmp_path / "batched"), crawl_batch_size=1)
    migrate(settings)
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    assert crawl(settings, "shop")["new"] == 4
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(Column)) == 12
