"""Lineage pages: the graph around data and models, the model list and page with its drift verdict, runs."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from catalog.access import Actor
from catalog.app import create_app
from catalog.client import Client
from catalog.drift_watch import watch
from catalog.publish import PublishOptions, publish
from catalog.settings import Settings

HOSTILE = '<script>alert("x")</script> & \'quoted\' Ünïcode'


def table(seed: int = 1, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"amount": rng.normal(50 + shift, 5, 2000), "kind": pa.array(rng.choice(["a", "b"], 2000))})


@pytest.fixture
def pages(settings: Settings, actor: Actor) -> TestClient:
    publish(settings, actor, "team/raw", data=table())
    publish(settings, actor, "team/features", data=table(), options=PublishOptions(parents=("team/raw@v1",)))
    client = Client(str(settings.home))
    client.log_run(HOSTILE, run_id="run-1", inputs=["team/features@v1"],
                   outputs=[{"model": "churn " + HOSTILE, "framework": "sk<b>learn", "metrics": {"auc": 0.9}}])
    return TestClient(create_app(settings))


def test_the_model_page_shows_the_run_versions_drift_and_an_escaped_graph(settings: Settings, actor: Actor,
                                                                          pages: TestClient) -> None:
    publish(settings, actor, "team/features", data=table(seed=2, shift=8.0))
    watch(settings, actor)
    listing = pages.get("/models")
    assert listing.status_code == 200 and "retrain recommended" in listing.text
    assert "<script>alert" not in listing.text and "&lt;script&gt;" in listing.text
    link = re.search(r'href="(/models/detail\?[^"]+)"', listing.text)
    assert link is not None
    page = pages.get(link.group(1).replace("&amp;", "&"))
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "sk<b>learn" not in page.text
    assert "team/features@v1" in page.text and "v1 → v2" in page.text and "beyond threshold" in page.text
    assert "<svg" in page.text and 'aria-label="Lineage graph"' in page.text
    assert pages.get("/models?status=retrain_recommended").text.count("/models/detail?") == 1
    assert "No models match" in pages.get("/models?status=no_retrain_needed").text
    missing = pages.get("/models/detail", params={"name": "nope"})
    assert missing.status_code == 404 and "does not exist" in missing.text


def test_the_lineage_page_of_a_dataset_shows_the_graph_and_the_models_trained_on_it(pages: TestClient) -> None:
    page = pages.get("/lineage", params={"dataset": "team/raw", "direction": "down"})
    assert page.status_code == 200 and "<svg" in page.text
    assert "through derived data" in page.text and "<script>alert" not in page.text
    column = pages.get("/lineage", params={"dataset": "team/raw", "column": "amount"})
    assert column.status_code == 200 and "Models trained on it" in column.text
    bad = pages.get("/lineage", params={"dataset": "team/raw", "direction": "left"})
    assert bad.status_code == 400 and "direction must be one of" in bad.text
    assert pages.get("/lineage").status_code == 400


def test_dataset_and_run_pages_link_the_lineage(pages: TestClient) -> None:
    dataset = pages.get("/datasets/team/features")
    assert dataset.status_code == 200 and 'id="lineage"' in dataset.text and "Models trained on it" in dataset.text
    assert "derived" in dataset.text.lower() and "team/raw@v1" in dataset.text
    run = pages.get("/runs", params={"run": "run-1"})
    assert run.status_code == 200 and "team/features@v1" in run.text and "<script>alert" not in run.text
    assert pages.get("/runs", params={"run": "nope"}).status_code == 404


def test_a_graph_of_sixty_nodes_stays_readable(settings: Settings, actor: Actor, pages: TestClient) -> None:
    client = Client(str(settings.home))
    for i in range(30):
        client.log_run(f"experiment-{i}", inputs=["team/features@v1"], outputs=[{"model": f"m{i}"}])
    page = pages.get("/lineage", params={"dataset": "team/features", "version": "v1", "direction": "down"})
    assert page.status_code == 200
    places = re.findall(r'transform="translate\(([\d.]+),([\d.]+)\)">\s*<title>[^<]*</title>\s*'
                        r'(?:<rect class="lg-focus-ring"[^>]*>\s*)?<rect class="lg-box" width="([\d.]+)" '
                        r'height="([\d.]+)"', page.text)
    boxes = [tuple(map(float, m)) for m in places]
    assert len(boxes) >= 60
    for i, (x1, y1, w1, h1) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1  # no two boxes overlap
