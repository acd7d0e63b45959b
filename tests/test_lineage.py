"""Lineage: runs that read exact versions, models, graph walks up and down, impact, visibility, CLI and show."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import ColumnElement, select, true
from typer.testing import CliRunner

from catalog.access import Action, Actor, EmbeddedPolicy, Resource, set_policy
from catalog.cli import app as cli_app
from catalog.client import Client, ClientError
from catalog.db import session_scope
from catalog.lineage_graph import Focus, graph, impact
from catalog.models import RunDataset
from catalog.publish import PublishOptions, publish
from catalog.settings import Settings
from tests.helpers import show


def orders(rows: int = 1500, seed: int = 1, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"order_id": np.arange(rows), "amount": rng.normal(100 + shift, 15, rows),
                     "country": pa.array(rng.choice(["NL", "DE", "FR"], rows))})


@pytest.fixture
def pipeline(settings: Settings, actor: Actor) -> Client:
    """raw@v1 -> (derived) features@v1 -> train run -> model churn 1."""
    publish(settings, actor, "team/raw", data=orders())
    publish(settings, actor, "team/features", data=orders().select(["order_id", "amount"]),
            options=PublishOptions(parents=("team/raw@v1",)))
    client = Client(str(settings.home))
    client.log_run("train-churn", inputs=[("team/features", "v1")],
                   outputs=[{"model": "churn", "framework": "sklearn", "metrics": {"auc": 0.81},
                             "location": "s3://keeper:hunter2@models/churn.pkl?X-Amz-Signature=deadbeef"}],
                   metrics={"auc": 0.81}, parameters={"max_depth": 6})
    return client


def test_a_run_records_the_exact_version_and_the_model_it_produced(pipeline: Client) -> None:
    model = pipeline.model("churn")
    assert model["version"] == "1" and model["framework"] == "sklearn" and model["metrics"] == {"auc": 0.81}
    assert model["drift_status"] == "unchecked"
    assert "hunter2" not in json.dumps(model) and "deadbeef" not in json.dumps(model)
    assert model["location"] == "s3://keeper:***@models/churn.pkl"
    run = model["run"]
    assert run["job"] == "train-churn" and run["state"] == "complete" and run["parameters"] == {"max_depth": 6}
    [read] = run["inputs"]
    assert read["dataset"] == "team/features" and read["version"] == "v1"
    assert read["content_hash"] == pipeline.version("team/features", "v1")["content_hash"]
    assert read["resolution"] == "as given (v1)"


def test_input_forms_latest_resolution_retries_and_conflicts(pipeline: Client) -> None:
    first = pipeline.log_run("score", run_id="nightly-1", inputs=["team/raw@v1", ("team/features",)])
    by_name = {i["dataset"]: i for i in first["inputs"]}
    assert by_name["team/raw"]["version"] == "v1"
    assert by_name["team/features"]["resolution"] == "latest when recorded"
    again = pipeline.log_run("score", run_id="nightly-1", inputs=["team/raw@v1", ("team/features",)],
                             metrics={"rows": 10})
    assert len(again["inputs"]) == 2 and again["metrics"] == {"rows": 10}  # merged, not doubled
    with pytest.raises(ClientError) as missing:
        pipeline.log_run("score", inputs=["team/nope@v1"])
    assert missing.value.status == 404 and "team/nope" in str(missing.value)
    with pytest.raises(ClientError) as unknown_version:
        pipeline.log_run("score", inputs=["team/raw@v9"])
    assert unknown_version.value.status == 404
    with pytest.raises(ClientError) as taken:
        pipeline.log_run("other", outputs=[{"model": "churn", "version": "1"}])
    assert taken.value.status == 409
    assert [m["version"] for m in pipeline.models(name="churn")] == ["1"]
    second = pipeline.log_run("train-churn", inputs=["team/features@v1"], outputs=[{"model": "churn"}])
    assert second["models"] == [{"name": "churn", "version": "2"}]


def test_run_metrics_and_parameters_are_bounded(pipeline: Client) -> None:
    with pytest.raises(ClientError, match="'notes' is longer than 10,000 characters") as long:
        pipeline.log_run("score", inputs=["team/raw@v1"], parameters={"notes": "x" * 10_001})
    assert long.value.status == 400
    with pytest.raises(ClientError, match="at most 1000 values, not 1001"):
        pipeline.log_run("score", inputs=["team/raw@v1"], metrics={f"m{i}": i for i in range(1001)})
    with pytest.raises(ClientError, match="model 'big' metrics: at most 1000 values"):
        pipeline.log_run("score", outputs=[{"model": "big", "metrics": {f"m{i}": i for i in range(1001)}}])
    ok = pipeline.log_run("score", inputs=["team/raw@v1"], parameters={"notes": "x" * 10_000})
    assert len(ok["parameters"]["notes"]) == 10_000
    assert [m["name"] for m in pipeline.models()] == ["churn"]  # the refused runs left nothing behind


def test_graph_walks_down_from_a_version_and_up_from_a_model(pipeline: Client) -> None:
    down = pipeline.lineage("team/raw", "v1", direction="down")
    labels = {n["label"] for n in down["nodes"]}
    assert {"team/raw@v1", "team/features@v1", "train-churn", "churn 1"} <= labels
    kinds = {n["id"]: n["kind"] for n in down["nodes"]}
    assert all(kinds[e["source"]] != "model" for e in down["edges"])  # models are leaves
    up = pipeline.lineage(model="churn", direction="up")
    assert {"team/raw@v1", "team/features@v1", "train-churn"} <= {n["label"] for n in up["nodes"]}
    edges = {(e["source"].split(":")[0], e["target"].split(":")[0], e["label"]) for e in up["edges"]}
    assert ("version", "version", "derived into") in edges and ("version", "run", "read by") in edges
    assert ("run", "model", "trained") in edges
    short = pipeline.lineage(model="churn", direction="up", depth=1)
    assert short["truncated"] and {n["kind"] for n in short["nodes"]} == {"model", "run"}


def test_impact_of_a_version_a_column_and_a_label(settings: Settings, actor: Actor, pipeline: Client) -> None:
    direct = pipeline.impact("team/features", "v1")
    assert [(m["name"], m["direct"]) for m in direct["models"]] == [("churn", True)]
    through = pipeline.impact("team/raw", "v1")
    assert [(m["name"], m["direct"], m["trained_on"]) for m in through["models"]] == [
        ("churn", False, ["team/features@v1"])]
    assert [m["name"] for m in pipeline.impact("team/raw", column="amount")["models"]] == ["churn"]
    assert pipeline.impact("team/raw", column="country")["models"] == []  # features dropped country
    people = pa.table({"user_id": np.arange(400), "email": [f"user{i}@example.com" for i in range(400)],
                       "spend": np.linspace(1, 50, 400)})
    publish(settings, actor, "team/users", data=people,
            options=PublishOptions(allow_pii={"email": "needed to join the CRM export, deleted after 30 days"}))
    pipeline.log_run("train-ltv", inputs=["team/users@v1"], outputs=[{"model": "ltv"}])
    assert [m["name"] for m in pipeline.impact(label="pii.email")["models"]] == ["ltv"]
    assert [m["name"] for m in pipeline.impact(label="pii")["models"]] == ["ltv"]
    assert pipeline.impact(label="pii.iban")["models"] == []
    with pytest.raises(ClientError):
        pipeline.impact("team/raw", label="pii.email")


def test_column_lineage_and_the_column_graph(settings: Settings, actor: Actor, pipeline: Client) -> None:
    with session_scope(settings) as session:
        from catalog.lineage import ColumnEdge, DatasetRef, RunRecord, record_run

        record_run(session, actor, RunRecord(
            job_name="enrich", inputs=[DatasetRef("team/raw", "v1")], outputs=[DatasetRef("team/features", "v1")],
            column_edges=[ColumnEdge("team/features", "amount", "team/raw", "amount", "IDENTITY")]))
    up = pipeline.lineage("team/features", column="amount", direction="up")
    assert any(n["kind"] == "column" and n["dataset"] == "team/raw" and n["column"] == "amount"
               for n in up["nodes"])
    down = pipeline.lineage("team/raw", column="amount", direction="down")
    assert "churn 1" in {n["label"] for n in down["nodes"]}


def test_nodes_the_caller_may_not_discover_are_left_out(settings: Settings, pipeline: Client) -> None:
    class HideRaw(EmbeddedPolicy):
        def allows(self, actor: Actor, action: Action, resource: Resource) -> bool:
            return not (resource.kind == "dataset" and resource.name == "team/raw")

        def dataset_filter(self, actor: Actor, action: Action) -> ColumnElement[bool]:
            return true()

    set_policy(HideRaw())
    try:
        with session_scope(settings) as session:
            result = graph(session, Actor("analyst"), Focus(model="churn"), "up")
            assert "team/raw@v1" not in json.dumps(result)
            assert "team/features@v1" in {n["label"] for n in result["nodes"]}
            assert impact(session, Actor("analyst"), "team/features", "v1")["models"][0]["name"] == "churn"
    finally:
        set_policy(EmbeddedPolicy())


def test_show_lists_the_models_trained_on_a_dataset(settings: Settings, pipeline: Client) -> None:
    lineage = show(settings, "team/features")["lineage"]
    assert lineage["models"] == [{"name": "churn", "version": "1", "drift_status": "unchecked", "trained_on": "v1"}]
    assert lineage["derived_from"] == [{"version": "v1", "from": "team/raw@v1"}]
    assert lineage["read_by"][0]["job"] == "train-churn"


def test_crawled_inputs_keep_a_schema_hash_and_a_value_free_snapshot(settings: Settings, actor: Actor,
                                                                     sqlite_source: Path) -> None:
    from tests.helpers import crawl, register

    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    client = Client(str(settings.home))
    run = client.log_run("segment", inputs=["shop/main/customers"], outputs=[{"model": "seg"}])
    [read] = run["inputs"]
    assert read["kind"] == "crawled" and read["schema_hash"]
    with session_scope(settings) as session:
        row = session.scalar(select(RunDataset).where(RunDataset.dataset_name == "shop/main/customers"))
        assert row is not None and "c_eml" in row.snapshot["columns"]
        assert "@" not in json.dumps(row.snapshot)  # no sampled value, not even an email


def test_cli_lineage_models_runs_and_impact(settings: Settings, pipeline: Client,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_HOME", str(settings.home))
    runner = CliRunner()

    def run(*args: str) -> dict:
        result = runner.invoke(cli_app, list(args))
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    assert run("models", "--json")["models"][0]["name"] == "churn"
    assert run("model", "churn", "--json")["run"]["inputs"][0]["version"] == "v1"
    assert run("runs", "--json")["runs"][0]["job"] == "train-churn"
    assert run("lineage", "impact", "team/raw", "--version", "v1", "--json")["models"][0]["name"] == "churn"
    shown = run("lineage", "show", "team/features", "--version", "v1", "--json")
    assert {n["kind"] for n in shown["nodes"]} >= {"version", "run", "model"}
    text = runner.invoke(cli_app, ["lineage", "show", "--model", "churn", "--direction", "up"])
    assert text.exit_code == 0 and "team/features@v1  --read by-->  train-churn" in text.stdout
    bad = runner.invoke(cli_app, ["lineage", "show", "team/features", "--direction", "sideways"])
    assert bad.exit_code == 1 and "direction must be one of" in bad.stderr



def test_lineage_on_a_postgres_store(pg_store: Settings, actor: Actor) -> None:
    from fastapi.testclient import TestClient

    from catalog.app import create_app
    from catalog.drift_watch import watch

    publish(pg_store, actor, "team/features", data=orders())
    api = TestClient(create_app(pg_store))
    run = api.post("/api/v1/runs", json={"name": "train", "inputs": [{"dataset": "team/features", "version": "v1"}],
                                         "models": [{"name": "churn", "framework": "lightgbm"}]})
    assert run.status_code == 200, run.text
    assert run.json()["inputs"][0]["version"] == "v1"
    event = {"eventType": "COMPLETE", "eventTime": "2026-11-22T10:00:00Z", "producer": "tests",
             "run": {"runId": "4b9f6b0e-2f57-4a4e-9a7e-1f0c2a8f9d11"}, "job": {"namespace": "ns", "name": "score"},
             "inputs": [{"namespace": "catalog", "name": "team/features"}]}
    assert api.post("/api/v1/lineage", json=event).json()["status"] == "recorded"
    assert api.post("/api/v1/lineage", json=event).json()["status"] == "duplicate"
    graph_json = api.get("/api/v1/lineage/graph", params={"dataset": "team/features", "version": "v1"}).json()
    assert {"train", "score", "churn 1"} <= {n["label"] for n in graph_json["nodes"]}
    publish(pg_store, actor, "team/features", data=orders(seed=2, shift=20.0))
    assert watch(pg_store, actor)["checked"][0]["status"] == "retrain_recommended"
    model = api.get("/api/v1/models/detail", params={"name": "churn"}).json()
    assert model["drift_status"] == "retrain_recommended" and model["drift"]["inputs"][0]["latest"] == "v2"
