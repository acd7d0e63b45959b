"""Tags and owners: set by people through CLI and API, shown with the dataset, searchable and used as filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from catalog.access import Actor
from catalog.app import create_app
from catalog.cli import app
from catalog.db import session_scope
from catalog.errors import InvalidInput, NotFound
from catalog.search import Filters, build_index, search
from catalog.settings import Settings
from catalog.stewardship import change
from tests.helpers import crawl, register, show


@pytest.fixture
def shop(settings: Settings, actor: Actor, sqlite_source: Path) -> Settings:
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    return settings


def test_tags_and_owners_are_sets_shown_with_the_dataset(shop: Settings, actor: Actor) -> None:
    with session_scope(shop) as session:
        change(session, actor, "shop/main/orders", "tag", "Finance", "add")
        change(session, actor, "shop/main/orders", "tag", "finance", "add")
        change(session, actor, "shop/main/orders", "owner", "team-finance", "add")
        result = change(session, actor, "shop/main/orders", "tag", "gold", "add")
    assert result == {"dataset": "shop/main/orders", "tags": ["finance", "gold"], "owners": ["team-finance"]}
    shown = show(shop, "shop/main/orders")
    assert shown["tags"] == ["finance", "gold"] and shown["owners"] == ["team-finance"]
    crawl(shop, "shop")
    assert show(shop, "shop/main/orders")["tags"] == ["finance", "gold"], "a crawl never touches them"


def test_bad_values_are_refused(shop: Settings, actor: Actor) -> None:
    with session_scope(shop) as session:
        with pytest.raises(InvalidInput, match="tag '<b>'"):
            change(session, actor, "shop/main/orders", "tag", "<b>", "add")
        with pytest.raises(InvalidInput, match="action 'toggle'"):
            change(session, actor, "shop/main/orders", "tag", "gold", "toggle")
        with pytest.raises(NotFound, match="has no owner 'bob'"):
            change(session, actor, "shop/main/orders", "owner", "bob", "remove")
        with pytest.raises(NotFound, match="dataset 'shop/main/nope'"):
            change(session, actor, "shop/main/nope", "tag", "gold", "add")


def test_search_filters_and_finds_by_tag_and_owner(shop: Settings, actor: Actor) -> None:
    with session_scope(shop) as session:
        change(session, actor, "shop/main/orders", "tag", "finance", "add")
        change(session, actor, "shop/main/customers", "owner", "team-crm", "add")
    build_index(shop, actor)
    with session_scope(shop) as session:
        tagged = search(session, actor, shop, "orders", filters=Filters(tag="finance"), limit=20)["results"]
        assert tagged and {r["dataset"] for r in tagged} == {"shop/main/orders"}
        owned = search(session, actor, shop, "team-crm", limit=5)["results"]
        assert owned[0]["dataset"] == "shop/main/customers", "owners are part of the dataset's search text"
        assert search(session, actor, shop, "orders", filters=Filters(owner="nobody"))["results"] == []
        facets = search(session, actor, shop, "orders", limit=20)["facets"]
        assert set(facets["tag"]) == {"finance"} and facets["tag"]["finance"] >= 1


def test_cli_and_api(shop: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_HOME", str(shop.home))
    cli = CliRunner()
    out = cli.invoke(app, ["tag", "add", "shop/main/orders", "sales", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["tags"] == ["sales"]
    bad = cli.invoke(app, ["owner", "remove", "shop/main/orders", "ghost"])
    assert bad.exit_code == 1 and "has no owner 'ghost'" in bad.stderr
    client = TestClient(create_app(shop))
    added = client.post("/api/v1/owners", json={"dataset": "shop/main/orders", "value": "alice", "action": "add"})
    assert added.status_code == 200 and added.json()["owners"] == ["alice"]
    assert client.post("/api/v1/tags", json={"dataset": "shop/main/orders", "value": "x y!", "action": "add"}
                       ).status_code == 400
    page = client.get("/datasets/shop/main/orders").text
    assert "alice" in page and "sales" in page
