"""API parameters that take one of a closed set of values are enums in the OpenAPI document (so generated
clients and schemathesis know them), the sets are the services' own, and any other value is a 400 naming the
field and what it may be."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from catalog import access_requests, classifications, datasets, descriptions, lineage_graph, review, search, stewardship
from catalog.app import create_app
from catalog.drift_watch import DRIFT_STATUSES
from catalog.settings import Settings

QUERY_CHOICES = [
    ("/api/v1/search", "mode", search.MODES),
    ("/api/v1/search", "kind", datasets.DATASET_KINDS),
    ("/api/v1/datasets", "kind", datasets.DATASET_KINDS),
    ("/api/v1/datasets", "order", datasets.ORDERS),
    ("/api/v1/classifications", "status", (*classifications.STATUSES, "all")),
    ("/api/v1/access-requests", "status", access_requests.STATUSES),
    ("/api/v1/access-review", "format", ("json", "csv")),
    ("/api/v1/models", "status", DRIFT_STATUSES),
    ("/api/v1/lineage/graph", "direction", lineage_graph.DIRECTIONS),
    ("/api/v1/review", "kind", review.KINDS),
]
BODY_CHOICES = [
    ("/api/v1/classifications", "decision", tuple(classifications.DECISIONS)),
    ("/api/v1/descriptions", "decision", descriptions.DECISIONS),
    ("/api/v1/tags", "action", stewardship.ACTIONS),
    ("/api/v1/owners", "action", stewardship.ACTIONS),
    ("/api/v1/access-requests", "permission", access_requests.REQUESTABLE),
    ("/api/v1/access-requests/{request_id}/decision", "decision", tuple(access_requests.DECISIONS)),
    ("/api/v1/review/decisions", "decision", review.DECISIONS),
]


@pytest.fixture
def document(settings: Settings) -> dict[str, Any]:
    return TestClient(create_app(settings)).get("/api/openapi.json").json()


def _enum(schema: dict[str, Any], document: dict[str, Any]) -> list[str] | None:
    """The enum of a (possibly nullable, possibly referenced) schema."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "enum" in schema:
        return schema["enum"]
    for option in schema.get("anyOf", []):
        found = _enum(option, document)
        if found:
            return found
    return None


@pytest.mark.parametrize(("path", "name", "allowed"), QUERY_CHOICES)
def test_query_choices_are_enums(document: dict[str, Any], path: str, name: str, allowed: tuple[str, ...]) -> None:
    parameter = next(p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name)
    assert _enum(parameter["schema"], document) == list(allowed)


@pytest.mark.parametrize(("path", "name", "allowed"), BODY_CHOICES)
def test_body_choices_are_enums(document: dict[str, Any], path: str, name: str, allowed: tuple[str, ...]) -> None:
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    model = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert _enum(model["properties"][name], document) == list(allowed)


def test_review_items_name_their_kind(document: dict[str, Any]) -> None:
    item = document["components"]["schemas"]["ReviewItem"]
    assert _enum(item["properties"]["kind"], document) == list(review.ITEM_KINDS)


def test_another_value_is_a_400_naming_the_field_and_the_choices(settings: Settings) -> None:
    api = TestClient(create_app(settings))
    answer = api.get("/api/v1/search", params={"q": "email", "mode": "fuzzy"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "mode: Input should be 'hybrid', 'keyword' or 'vector' (not 'fuzzy')"
    answer = api.post("/api/v1/tags", json={"dataset": "shop/main/customers", "value": "gold", "action": "toggle"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "body.action: Input should be 'add' or 'remove' (not 'toggle')"
