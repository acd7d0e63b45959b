"""OpenLineage events sent by the real `openlineage-python` client over HTTP to a running catalog server."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import attr
import httpx
import numpy as np
import pyarrow as pa
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    column_lineage_dataset,
    dataset_version_dataset,
    schema_dataset,
)
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from sqlalchemy import func, select

from catalog.access import Actor
from catalog.app import create_app
from catalog.client import Client
from catalog.db import session_scope
from catalog.models import LineageEvent, LineageRun
from catalog.publish import publish
from catalog.settings import Settings
from tests.helpers import live_server


@attr.define
class CatalogModelFacet(DatasetFacet):
    """The catalog's custom facet marking an output as a model."""

    name: str
    version: str
    framework: str
    metrics: dict = attr.field(factory=dict)


class RecordingApp:
    """ASGI middleware keeping each request's headers, to check what the OpenLineage client sent."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)  # type: ignore[operator]


@pytest.fixture
def served(settings: Settings, actor: Actor) -> Iterator[tuple[str, RecordingApp]]:
    rng = np.random.default_rng(3)
    publish(settings, actor, "team/features", data=pa.table({"id": np.arange(500), "x": rng.random(500)}))
    publish(settings, actor, "team/features", data=pa.table({"id": np.arange(600), "x": rng.random(600)}))
    recording = RecordingApp(create_app(settings))
    with live_server(recording) as url:
        yield url, recording


def _client(url: str) -> OpenLineageClient:
    config = HttpConfig(url=url, auth=ApiKeyTokenProvider({"apiKey": "ol-secret-token"}),
                        compression=HttpCompression.GZIP, retry={"total": 0})
    return OpenLineageClient(transport=HttpTransport(config))


def _event(state: RunState, run_id: str, content_hash: str) -> RunEvent:
    inputs = [InputDataset(namespace="catalog", name="team/features", facets={
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=content_hash[:12]),
        "schema": schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="x")]),
    }), InputDataset(namespace="postgres://warehouse:5432", name="dw.public.events")]
    outputs = [OutputDataset(namespace="models", name="churn", facets={
        "catalog_model": CatalogModelFacet(name="churn", version="2026.11", framework="xgboost",
                                           metrics={"auc": 0.77})}),
        OutputDataset(namespace="catalog", name="team/scores", facets={
            "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(fields={
                "score": column_lineage_dataset.Fields(inputFields=[column_lineage_dataset.InputField(
                    namespace="catalog", name="team/features", field="x")], transformationDescription="",
                    transformationType="")})})]
    return RunEvent(eventType=state, eventTime=datetime.now(UTC).isoformat(), run=Run(runId=run_id),
                    job=Job(namespace="airflow", name="train_churn"), producer="https://example.com/tests",
                    inputs=inputs if state == RunState.START else [], outputs=outputs
                    if state == RunState.COMPLETE else [])


def test_start_and_complete_events_become_one_run_with_exact_versions(served: tuple[str, RecordingApp],
                                                                      settings: Settings) -> None:
    url, recording = served
    client = Client(url)
    v1 = client.version("team/features", "v1")["content_hash"]
    run_id = str(uuid.uuid4())
    ol = _client(url)
    ol.emit(_event(RunState.START, run_id, v1))
    ol.emit(_event(RunState.COMPLETE, run_id, v1))
    posted = [h for h in recording.headers if h.get("content-encoding") == "gzip"]
    assert len(posted) == 2 and all(h["authorization"] == "Bearer ol-secret-token" for h in posted)
    model = client.model("churn")
    assert model["version"] == "2026.11" and model["framework"] == "xgboost" and model["metrics"] == {"auc": 0.77}
    run = model["run"]
    assert run["run_id"] == run_id and run["state"] == "complete" and run["origin"] == "openlineage"
    assert run["started_at"] and run["ended_at"]
    inputs = {i["dataset"]: i for i in run["inputs"]}
    assert inputs["team/features"]["version"] == "v1" and inputs["team/features"]["content_hash"] == v1
    assert inputs["team/features"]["columns"] == ["x"]
    assert inputs["dw.public.events"]["kind"] == "external"
    assert inputs["dw.public.events"]["namespace"] == "postgres://warehouse:5432"
    assert [o["dataset"] for o in run["outputs"]] == ["team/scores"]
    up = client.lineage("team/features", column="x", direction="down")
    assert ("team/scores", "score") in {(n.get("dataset"), n.get("column")) for n in up["nodes"]}


def test_a_redelivered_event_is_ignored_and_a_late_start_does_not_reopen_a_run(
        served: tuple[str, RecordingApp], settings: Settings) -> None:
    url, _ = served
    run_id = str(uuid.uuid4())
    complete = _event(RunState.COMPLETE, run_id, "v2")
    body = Serde.to_json(complete).encode()
    first = httpx.post(f"{url}/api/v1/lineage", content=body, headers={"Content-Type": "application/json"})
    again = httpx.post(f"{url}/api/v1/lineage", content=gzip.compress(body),
                       headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert first.json()["status"] == "recorded" and again.json()["status"] == "duplicate"
    _client(url).emit(_event(RunState.START, run_id, "v2"))  # arrives after the COMPLETE
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(LineageEvent)) == 2
        run = session.scalar(select(LineageRun).where(LineageRun.run_key == run_id))
        assert run is not None and run.state == "complete"


def test_bad_events_get_a_clear_error_and_change_nothing(served: tuple[str, RecordingApp],
                                                         settings: Settings) -> None:
    url, _ = served

    def post(content: bytes, **headers: str) -> httpx.Response:
        return httpx.post(f"{url}/api/v1/lineage", content=content, headers={"Content-Type": "application/json",
                                                                            **headers})

    assert "not a JSON" in post(b"{nope").json()["error"]
    assert "does not inflate" in post(b"\x1f\x8bgarbage", **{"Content-Encoding": "gzip"}).json()["error"]
    no_run_id = {"eventType": "START", "run": {}, "job": {"namespace": "a", "name": "b"}}
    assert post(json.dumps(no_run_id).encode()).json()["error"] == "run.runId is required"
    unknown_version = {"eventType": "START", "eventTime": datetime.now(UTC).isoformat(),
                       "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "a", "name": "b"},
                       "inputs": [{"namespace": "catalog", "name": "team/features",
                                   "facets": {"version": {"datasetVersion": "v99"}}}]}
    response = post(json.dumps(unknown_version).encode())
    assert response.status_code == 404 and "v99" in response.json()["error"]
    bomb = gzip.compress(b" " * (20 * 1024 * 1024))
    assert "larger than" in post(bomb, **{"Content-Encoding": "gzip"}).json()["error"]
    dataset_event = {"eventTime": datetime.now(UTC).isoformat(), "producer": "x",
                     "dataset": {"namespace": "a", "name": "b"}}
    assert post(json.dumps(dataset_event).encode()).json()["status"] == "ignored"
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(LineageRun)) == 0


def test_a_failed_run_is_recorded_as_failed(served: tuple[str, RecordingApp]) -> None:
    url, _ = served
    run_id = str(uuid.uuid4())
    ol = _client(url)
    ol.emit(_event(RunState.START, run_id, "v1"))
    ol.emit(RunEvent(eventType=RunState.FAIL, eventTime=datetime.now(UTC).isoformat(), run=Run(runId=run_id),
                     job=Job(namespace="airflow", name="train_churn"), producer="https://example.com/tests"))
    run = Client(url).lineage(run=run_id, direction="up")
    [node] = [n for n in run["nodes"] if n["kind"] == "run"]
    assert node["status"] == "failed" and node["sublabel"].startswith("failed")
    assert "team/features@v1" in {n["label"] for n in run["nodes"]}
