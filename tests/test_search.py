"""Hybrid search end to end: index what changed, find cryptic columns by meaning, exact names first, filters,
explanations, the API, the page, the CLI's JSON shape and the Python client against a running server."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from catalog.access import Actor
from catalog.annotate import annotate
from catalog.app import create_app
from catalog.client import Client, ClientError
from catalog.db import session_scope
from catalog.search import Filters, build_index, search
from catalog.settings import Settings
from tests.helpers import crawl, register


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE customers (cust_id INTEGER PRIMARY KEY, c_eml TEXT, cust_nm TEXT, tel_no TEXT);
            CREATE TABLE orders (ord_id INTEGER PRIMARY KEY, cust_id INTEGER REFERENCES customers(cust_id),
                                 ord_dt DATE, amt_usd NUMERIC(10,2));
            CREATE TABLE order_items (item_id INTEGER PRIMARY KEY, ord_id INTEGER, qty INTEGER);
            CREATE TABLE wh_temp (sensor_id INTEGER, rdg_c REAL, ts TIMESTAMP); -- warehouse temperature readings
        """)
        conn.executemany("INSERT INTO customers VALUES (?,?,?,?)",
                         [(i, f"user{i}@example.com", f"Person {i}", f"+1 415-555-{i:04d}") for i in range(1, 120)])
    return path


@pytest.fixture
def indexed(settings: Settings, actor: Actor, shop: Path) -> dict[str, Any]:
    register(settings, "shop", f"sqlite:///{shop}")
    crawl(settings, "shop")
    annotate(settings, actor)
    return build_index(settings, actor)


def _search(settings: Settings, actor: Actor, query: str, **kwargs: Any) -> list[dict[str, Any]]:
    with session_scope(settings) as session:
        return search(session, actor, settings, query, **kwargs)["results"]


def _names(results: list[dict[str, Any]]) -> list[str]:
    return [r["dataset"] + ("#" + r["column"] if r["column"] else "") for r in results]


def test_cryptic_column_found_by_meaning(settings: Settings, actor: Actor, indexed: dict[str, Any]) -> None:
    assert indexed["indexed"] == indexed["documents"] > 0
    assert "shop/main/customers#c_eml" in _names(_search(settings, actor, "customer email address"))[:3]
    top = _search(settings, actor, "warehouse temperature")[0]
    assert top["dataset"] == "shop/main/wh_temp" and top["why"]


def test_exact_name_first_and_partial_multiword(settings: Settings, actor: Actor, indexed: dict[str, Any]) -> None:
    results = _search(settings, actor, "orders")
    assert _names(results)[0] == "shop/main/orders" and "exact name" in results[0]["why"]
    assert _search(settings, actor, "qty zzzunknownword"), "a query with one known word still finds something"
    keyword_only = _search(settings, actor, "tel_no", mode="keyword")
    assert _names(keyword_only)[0] == "shop/main/customers#tel_no"


def test_filters(settings: Settings, actor: Actor, indexed: dict[str, Any]) -> None:
    with_pii = _search(settings, actor, "customer", filters=Filters(pii=True), limit=20)
    assert with_pii and all(any(lb.startswith("pii.") for lb in r["classifications"]) for r in with_pii)
    without = _search(settings, actor, "customer", filters=Filters(pii=False), limit=20)
    assert without and all(not r["classifications"] for r in without)
    assert _search(settings, actor, "customer", filters=Filters(source="elsewhere")) == []
    views = _search(settings, actor, "orders", filters=Filters(kind="view"))
    assert views == []


def test_incremental_index(settings: Settings, actor: Actor, indexed: dict[str, Any], shop: Path) -> None:
    again = build_index(settings, actor)
    assert again["indexed"] == 0 and again["removed"] == 0
    with sqlite3.connect(shop) as conn:
        conn.execute("ALTER TABLE orders ADD COLUMN ship_mthd TEXT")
        conn.execute("DROP TABLE order_items")
    crawl(settings, "shop")
    changed = build_index(settings, actor)
    assert changed["removed"] == 4, "the dropped table and its three columns"
    assert 0 < changed["indexed"] <= 3
    assert "shop/main/orders#ship_mthd" in _names(_search(settings, actor, "shipping method"))[:3]
    assert not [n for n in _names(_search(settings, actor, "order items", limit=50)) if "order_items" in n]


def test_bad_queries_are_refused_clearly(settings: Settings, actor: Actor, indexed: dict[str, Any]) -> None:
    from catalog.errors import InvalidInput

    for query, message in (("   ", "must not be empty"), ("x" * 600, "longer than")):
        with pytest.raises(InvalidInput, match=message):
            _search(settings, actor, query)
    with pytest.raises(InvalidInput, match="mode 'fuzzy'"):
        _search(settings, actor, "orders", mode="fuzzy")
    assert isinstance(_search(settings, actor, '"; DROP TABLE x; -- NEAR( * OR'), list)


def test_api_page_and_cli(settings: Settings, indexed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(create_app(settings))
    body = client.get("/api/v1/search", params={"q": "customer email", "limit": 5}).json()
    assert body["query"] == "customer email" and len(body["results"]) <= 5
    for result in body["results"]:
        assert {"kind", "dataset", "column", "score", "description"} <= set(result)
        assert result["kind"] in ("dataset", "column") and isinstance(result["score"], float)
    assert client.get("/api/v1/search", params={"q": ""}).status_code == 400
    page = client.get("/search", params={"q": "<script>alert(1)</script> email"}).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<mark>" in client.get("/search", params={"q": "eml"}).text
    assert client.get("/search", params={"q": "x", "pii": "maybe"}).status_code == 400
    from catalog.cli import app

    monkeypatch.setenv("CATALOG_HOME", str(settings.home))
    out = CliRunner().invoke(app, ["search", "customer email", "--json", "--limit", "3"])
    assert out.exit_code == 0, out.stderr
    assert len(json.loads(out.stdout)["results"]) <= 3
    assert CliRunner().invoke(app, ["index", "--json"]).exit_code == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(settings: Settings, indexed: dict[str, Any]) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not running.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(5)


def test_python_client_searches_a_running_server(server: str) -> None:
    with Client(server, token="unused-in-embedded-mode") as client:
        results = client.search("customer email", limit=5)
        assert any(r["column"] == "c_eml" for r in results)
        assert client.dataset("shop/main/orders")["name"] == "shop/main/orders"
        with pytest.raises(ClientError) as missing:
            client.dataset("shop/main/nope")
        assert missing.value.status == 404 and "does not exist" in str(missing.value)
    with pytest.raises(ClientError) as down, Client("http://127.0.0.1:1") as client:
        client.search("x")
    assert down.value.status == 0


def test_index_and_search_on_a_postgres_store(pg_store: Settings, actor: Actor, shop: Path) -> None:
    register(pg_store, "shop", f"sqlite:///{shop}")
    crawl(pg_store, "shop")
    annotate(pg_store, actor)
    first = build_index(pg_store, actor)
    assert first["indexed"] == first["documents"] > 0
    assert "shop/main/customers#c_eml" in _names(_search(pg_store, actor, "customer email address"))[:3]
    assert build_index(pg_store, actor)["indexed"] == 0


def test_a_lost_index_file_is_rebuilt(settings: Settings, actor: Actor, indexed: dict[str, Any]) -> None:
    import catalog.search as search_module

    search_module._open.clear()  # a new process: nothing cached
    for leftover in (settings.home / "search").glob("keywords.sqlite*"):
        leftover.unlink()
    rebuilt = build_index(settings, actor)
    assert rebuilt["rebuilt"] and rebuilt["indexed"] == indexed["documents"]
    assert rebuilt["embedded"] == 0, "vectors come from the cache, not the model"
    assert _names(_search(settings, actor, "orders"))[0] == "shop/main/orders"


def test_index_reads_only_datasets_that_may_have_changed(settings: Settings, actor: Actor,
                                                         indexed: dict[str, Any], shop: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    import catalog.search as search_module
    from catalog.stewardship import change

    monkeypatch.setattr(search_module, "SYNC_MARGIN", timedelta(0))  # one machine here: no clock skew to allow

    assert indexed["datasets_read"] == 4
    assert build_index(settings, actor)["datasets_read"] == 0
    with session_scope(settings) as session:
        change(session, actor, "shop/main/wh_temp", "tag", "iot", "add")
    tagged = build_index(settings, actor)
    assert tagged["datasets_read"] == 1 and tagged["indexed"] == 1, "only the dataset's own document changed"
    assert _names(_search(settings, actor, "iot"))[0] == "shop/main/wh_temp"
    with sqlite3.connect(shop) as conn:
        conn.execute("ALTER TABLE order_items ADD COLUMN sku TEXT")
    crawl(settings, "shop")
    assert build_index(settings, actor)["datasets_read"] == 1


def test_a_search_reads_the_store_in_three_statements(settings: Settings, actor: Actor,
                                                      indexed: dict[str, Any]) -> None:
    """Whatever the number of datasets among the results: candidates, their labels/tags/owners, the shown
    descriptions (issue 11: per-dataset statements made searches queue under load)."""
    from sqlalchemy import event

    from catalog.db import get_engine

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(get_engine(settings), "before_cursor_execute", count)
    try:
        with session_scope(settings) as session:
            results = search(session, actor, settings, "customer order id", limit=20)["results"]
    finally:
        event.remove(get_engine(settings), "before_cursor_execute", count)
    assert len({r["dataset"] for r in results}) >= 3
    assert len(statements) <= 3, statements


def test_results_show_the_description_a_person_would_see(settings: Settings, actor: Actor,
                                                         indexed: dict[str, Any]) -> None:
    """A person's text beats the source's comment, which beats the AI's; a rejected AI text is never shown; the
    dataset's own comment shows on the dataset's result. Tags and owners come back sorted."""
    from sqlalchemy import update

    from catalog.descriptions import decide
    from catalog.models import Column, Dataset
    from catalog.stewardship import change

    with session_scope(settings) as session:
        session.execute(update(Column).where(Column.name.in_(["ord_dt", "cust_nm"]))
                        .values(native_comment="from the source"))
        session.execute(update(Dataset).where(Dataset.name == "shop/main/orders")
                        .values(native_comment="orders as placed"))
        decide(session, actor, "shop/main/customers", "cust_nm", "edit", "the customer's full name")
        decide(session, actor, "shop/main/customers", "tel_no", "reject")
        for owner in ("zoe", "Bob", "alice"):
            change(session, actor, "shop/main/orders", "owner", owner, "add")
    shown = {(r["dataset"], r["column"]): r
             for query in ("customer name telephone", "order date", "orders")
             for r in _search(settings, actor, query, limit=30)}
    assert (shown[("shop/main/customers", "cust_nm")]["description"],
            shown[("shop/main/customers", "cust_nm")]["description_source"]) == ("the customer's full name",
                                                                                  "human:local")
    assert (shown[("shop/main/orders", "ord_dt")]["description"],
            shown[("shop/main/orders", "ord_dt")]["description_source"]) == ("from the source", "source")
    assert shown[("shop/main/customers", "tel_no")]["description"] is None
    assert shown[("shop/main/orders", None)]["description"] == "orders as placed"
    assert shown[("shop/main/orders", None)]["owners"] == sorted(["zoe", "Bob", "alice"])
    assert shown[("shop/main/orders", "ord_dt")]["owners"] == shown[("shop/main/orders", None)]["owners"]
    assert shown[("shop/main/customers", "c_eml")]["description_source"].startswith("ai:")
