"""The JSON API through FastAPI's test client: shapes from CONTRACT.md, filters, errors, no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalog.app import create_app
from catalog.settings import Settings
from tests.helpers import crawl, register


@pytest.fixture
def client(settings: Settings, sqlite_source: Path) -> TestClient:
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    register(settings, "pg", "postgresql://app:${NOT_SET_ANYWHERE}@127.0.0.1:1/x")
    crawl(settings, "shop")
    return TestClient(create_app(settings))


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_dataset_listing_and_filters(client: TestClient) -> None:
    body = client.get("/api/v1/datasets").json()
    assert body["total"] == 4
    assert [d["name"] for d in client.get("/api/v1/datasets", params={"kind": "view"}).json()["datasets"]] == [
        "shop/main/v_orders"]
    assert client.get("/api/v1/datasets", params={"q": "CUST"}).json()["total"] == 1
    assert client.get("/api/v1/datasets", params={"q": "%"}).json()["total"] == 0, "LIKE wildcards are escaped"
    assert client.get("/api/v1/datasets", params={"source": "pg"}).json()["total"] == 0
    page = client.get("/api/v1/datasets", params={"limit": 2, "offset": 2}).json()
    assert [d["name"] for d in page["datasets"]] == ["shop/main/select", "shop/main/v_orders"]


def test_an_offset_past_the_store_is_a_400_not_a_500(client: TestClient) -> None:
    """Found by the fuzzer (tests/test_api_fuzz.py): an offset beyond 64 bits overflowed the database driver."""
    response = client.get("/api/v1/datasets", params={"offset": 2**80})
    assert response.status_code == 400 and response.json()["error"].startswith("offset: ")
    assert client.get("/api/v1/datasets", params={"offset": 10_000_000}).json()["datasets"] == []
    from catalog.access import Actor
    from catalog.datasets import list_datasets
    from catalog.db import session_scope
    from catalog.errors import InvalidInput

    settings = client.app.state.settings  # type: ignore[attr-defined]
    with session_scope(settings) as session, pytest.raises(InvalidInput, match="offset must be between"):
        list_datasets(session, Actor.local(), offset=2**63)


def test_dataset_shape_matches_the_contract(client: TestClient) -> None:
    body = client.get("/api/v1/datasets/shop/main/customers").json()
    assert body["name"] == "shop/main/customers" and body["source"] == "shop"
    assert body["description"] == "People who bought something."
    for column in body["columns"]:
        assert set(column) >= {"name", "type", "description", "description_source", "classifications"}
        assert isinstance(column["classifications"], list)
    assert isinstance(body["versions"], list)
    assert body["schema_versions"][0]["version"] == 1


def test_names_with_odd_characters_resolve(client: TestClient) -> None:
    assert client.get("/api/v1/datasets/shop/main/select").status_code == 200


def test_errors_are_clear_json(client: TestClient) -> None:
    missing = client.get("/api/v1/datasets/shop/main/nope")
    assert missing.status_code == 404 and missing.json() == {"error": "dataset 'shop/main/nope' does not exist"}
    bad = client.get("/api/v1/datasets", params={"kind": "planet"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "kind: Input should be 'table', 'view', 'collection' or 'file_set' (not 'planet')"
    assert client.get("/api/v1/datasets", params={"limit": 0}).status_code == 400
    assert client.get("/api/v1/sources/ghost").status_code == 404


def test_sources_never_expose_secrets(client: TestClient) -> None:
    body = client.get("/api/v1/sources").json()
    pg = next(s for s in body["sources"] if s["name"] == "pg")
    assert pg["url"] == "postgresql://app:${NOT_SET_ANYWHERE}@127.0.0.1:1/x"
    shop = client.get("/api/v1/sources/shop").json()
    assert shop["crawl_runs"][0]["status"] == "succeeded" and shop["datasets"] == 4


def test_openapi_is_served_without_cdn_pages(client: TestClient) -> None:
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/api/docs").status_code == 404


def test_recent_order_and_bad_order(client: TestClient) -> None:
    body = client.get("/api/v1/datasets", params={"order": "recent", "limit": 1}).json()
    assert body["total"] == 4 and len(body["datasets"]) == 1
    bad = client.get("/api/v1/datasets", params={"order": "sideways"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "order: Input should be 'name' or 'recent' (not 'sideways')"
