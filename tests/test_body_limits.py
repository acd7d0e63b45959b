"""API request bodies over their route's limit are refused with a JSON 413 naming the limit (issue 11).

`catalog.body_limits` sits in front of the app: a declared Content-Length over the limit is refused without
reading the body, a chunked body is counted and refused once it passes the limit, and routes that carry more
than a JSON document (uploads, lineage events, dvc.lock, runs) have limits of their own.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from fastapi.testclient import TestClient

from catalog import api_versions, body_limits
from catalog.access import Actor
from catalog.app import create_app
from catalog.publish import publish
from catalog.settings import Settings

DATASET = "team/scores"
JSON = {"Content-Type": "application/json"}


def scores_csv(rows: int = 20) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(pa.table({"id": list(range(rows)), "score": [i / 10 for i in range(rows)]}), buffer)
    return buffer.getvalue()


@pytest.fixture
def client(settings: Settings) -> TestClient:
    publish(settings, Actor.local(), DATASET, data=pacsv.read_csv(io.BytesIO(scores_csv(20))))
    return TestClient(create_app(settings))


def refused(response: Any, limit: int) -> str:
    """The error of a 413 that names `limit`."""
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert f"larger than {limit:,} bytes" in error
    return error


def test_a_json_body_over_the_limit_is_413(client: TestClient) -> None:
    too_big = b'{"dataset": "' + b"x" * body_limits.JSON_BODY_BYTES + b'"}'
    error = refused(client.post("/api/v1/tags", content=too_big, headers=JSON), body_limits.JSON_BODY_BYTES)
    assert error.endswith("the limit for a JSON request")


def test_a_chunked_json_body_is_counted_and_refused(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(body_limits, "JSON_BODY_BYTES", 1000)

    def chunks() -> Iterator[bytes]:  # no Content-Length: httpx sends a generator chunked
        yield b'{"dataset": "'
        yield b"x" * 2000
        yield b'", "value": "a", "action": "add"}'

    refused(client.post("/api/v1/tags", content=chunks(), headers=JSON), 1000)


def test_an_upload_over_the_limit_is_413(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_versions, "MAX_UPLOAD_BYTES", 500)
    response = client.post("/api/v1/versions", params={"dataset": DATASET}, content=scores_csv(200),
                           headers={"Content-Type": "text/csv"})
    assert "CATALOG_MAX_UPLOAD_BYTES" in refused(response, 500)
    chunked = client.post("/api/v1/versions", params={"dataset": DATASET}, content=iter([scores_csv(200)]),
                          headers={"Content-Type": "text/csv"})
    refused(chunked, 500)


def test_requests_within_the_limits_are_unaffected(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_versions, "MAX_UPLOAD_BYTES", 5000)
    upload = client.post("/api/v1/versions", params={"dataset": DATASET, "message": "small"},
                         content=scores_csv(20), headers={"Content-Type": "text/csv"})
    assert upload.status_code == 200 and upload.json()["status"] == "unchanged", upload.text
    tag = client.post("/api/v1/tags", json={"dataset": DATASET, "value": "gold", "action": "add"})
    assert tag.status_code == 200, tag.text
    # A run may be larger than a JSON request (its own 16 MiB limit): a 5 MiB run (500 parameters of 10,000
    # characters, the most one value may hold) is read and judged on content.
    run = {"name": "big-run", "parameters": {f"p{i}": "x" * 10_000 for i in range(500)}}
    assert len(json.dumps(run)) > 5_000_000
    assert client.post("/api/v1/runs", json=run).status_code == 200


def test_a_gzip_event_is_bounded_as_sent_and_once_inflated(client: TestClient,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog import openlineage

    monkeypatch.setattr(openlineage, "MAX_EVENT_BYTES", 10_000)
    refused(client.post("/api/v1/lineage", content=b"{" + b" " * 20_000 + b"}", headers=JSON), 10_000)
    bomb = gzip.compress(b" " * 50_000)  # small as sent, too large once inflated
    response = client.post("/api/v1/lineage", content=bomb, headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 413 and "once inflated" in response.json()["error"]


def test_pages_keep_their_own_bound(client: TestClient) -> None:
    """Page forms are bounded by `deps._bound_page_form` (256 KiB), not by the API's JSON limit."""
    response = client.post("/descriptions", headers={"Origin": "http://testserver"},
                           data={"dataset": DATASET, "decision": "edit", "text": "y" * 300_000})
    assert response.status_code == 413 and "limited to 256 KiB" in response.text


class _Body:
    """An ASGI `receive` that hands out `chunk` forever (a client that never stops sending), counting calls."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk, self.calls = chunk, 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"type": "http.request", "body": self.chunk, "more_body": True}


def asgi_post(app: Any, path: str, receive: _Body, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST straight through the ASGI interface; returns the status and the JSON answer."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"dataset=team%2Fscores",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


def test_a_declared_length_over_the_limit_is_refused_before_reading(settings: Settings) -> None:
    body = _Body(b"x" * 65536)
    declared = str(api_versions.MAX_UPLOAD_BYTES + 1)
    status, answer = asgi_post(create_app(settings), "/api/v1/versions", body,
                               {"content-type": "text/csv", "content-length": declared})
    assert status == 413 and f"{api_versions.MAX_UPLOAD_BYTES:,} bytes" in answer["error"]
    assert body.calls == 0, "not one byte of the body was read"


def test_an_endless_chunked_body_stops_at_the_limit(settings: Settings) -> None:
    body = _Body(b"x" * 65536)
    status, answer = asgi_post(create_app(settings), "/api/v1/tags", body, {"content-type": "application/json"})
    assert status == 413 and f"{body_limits.JSON_BODY_BYTES:,} bytes" in answer["error"]
    assert body.calls == body_limits.JSON_BODY_BYTES // 65536 + 1, "reading stopped at the first chunk past it"
