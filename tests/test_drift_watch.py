"""`catalog watch`: retrain recommended beyond the thresholds, no retrain needed below, safe to run from cron."""

from __future__ import annotations

import fcntl
import json
import sqlite3
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from catalog.access import Actor
from catalog.annotate import annotate
from catalog.cli import app as cli_app
from catalog.client import Client
from catalog.drift_measures import Thresholds, histogram_psi, top_share_js
from catalog.drift_watch import watch
from catalog.errors import InvalidInput
from catalog.publish import publish
from catalog.settings import Settings
from tests.helpers import crawl, register


def features(rows: int = 4000, seed: int = 1, shift: float = 0.0, nulls: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    amount = rng.normal(100 + shift, 15, rows)
    mask = rng.random(rows) < nulls
    return pa.table({"amount": pa.array(amount, mask=mask),
                     "segment": pa.array(rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2]))})


@pytest.fixture
def trained(settings: Settings, actor: Actor) -> Client:
    publish(settings, actor, "team/features", data=features())
    client = Client(str(settings.home))
    client.log_run("train", inputs=["team/features@v1"], outputs=[{"model": "churn"}])
    return client


def test_same_population_needs_no_retrain_and_a_shift_recommends_it(settings: Settings, actor: Actor,
                                                                    trained: Client) -> None:
    first = watch(settings, actor)
    assert first["checked"][0]["status"] == "no_retrain_needed"
    assert "has not changed" in first["checked"][0]["summary"]
    publish(settings, actor, "team/features", data=features(seed=2))  # new sample, same population
    calm = watch(settings, actor)
    assert [c["status"] for c in calm["checked"]] == ["no_retrain_needed"]
    assert "v1 → v2" in calm["checked"][0]["summary"]
    assert trained.model("churn")["drift_status"] == "no_retrain_needed"
    unchanged = watch(settings, actor)
    assert unchanged["checked"] == [] and unchanged["skipped_unchanged"] == 1  # cron: nothing new, no work
    publish(settings, actor, "team/features", data=features(seed=3, shift=12.0))
    shifted = watch(settings, actor)
    assert [c["status"] for c in shifted["checked"]] == ["retrain_recommended"]
    model = trained.model("churn")
    assert model["drift_status"] == "retrain_recommended"
    [detail] = model["drift"]["inputs"]
    assert detail["trained_on"] == "v1" and detail["latest"] == "v3"
    moved = {c["column"]: c for c in detail["columns"]}
    assert moved["amount"]["exceeds"] and moved["amount"]["psi"] > 0.25 and not moved["segment"]["exceeds"]
    assert len(model["drift_history"]) == 3


def test_thresholds_are_configurable_and_columns_used_limit_the_check(settings: Settings, actor: Actor,
                                                                      trained: Client) -> None:
    publish(settings, actor, "team/features", data=features(seed=3, shift=6.0))
    strict = watch(settings, actor, Thresholds.parse("psi=0.05"))
    assert strict["checked"][0]["status"] == "retrain_recommended"
    loose = watch(settings, actor, Thresholds.parse("psi=5"))  # other thresholds: checked again, not skipped
    assert loose["checked"][0]["status"] == "no_retrain_needed"
    trained.log_run("train-segment", inputs=[{"dataset": "team/features", "version": "v1", "columns": ["segment"]}],
                    outputs=[{"model": "segmenter"}])
    only_segment = watch(settings, actor, Thresholds.parse("psi=0.05"), model="segmenter")
    assert only_segment["checked"][0]["status"] == "no_retrain_needed"  # amount moved, but it is not used
    with pytest.raises(InvalidInput, match="psi"):
        Thresholds.parse("psi=-1")
    with pytest.raises(InvalidInput, match="not one of"):
        Thresholds.parse("ks=0.1")


def test_a_second_watch_at_the_same_time_steps_aside(settings: Settings, actor: Actor, trained: Client) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / "watch.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert watch(settings, actor)["status"] == "busy"
    assert watch(settings, actor)["status"] == "done"


def test_cli_watch_json_and_exit_code(settings: Settings, actor: Actor, trained: Client,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_HOME", str(settings.home))
    monkeypatch.setenv("CATALOG_DRIFT_THRESHOLDS", "psi=0.2")
    publish(settings, actor, "team/features", data=features(seed=4, shift=15.0))
    runner = CliRunner()
    result = runner.invoke(cli_app, ["watch", "--json", "--exit-code"])
    assert result.exit_code == 3, result.stderr
    document = json.loads(result.stdout)
    assert document["thresholds"]["psi"] == 0.2 and document["counts"] == {"retrain_recommended": 1}
    quiet = runner.invoke(cli_app, ["watch", "--exit-code"])
    assert quiet.exit_code == 0 and "1 unchanged since their last check" in quiet.stdout


def test_a_crawled_source_that_changes_is_compared_with_its_training_snapshot(
        settings: Settings, actor: Actor, tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    rng = np.random.default_rng(5)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, channel TEXT)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                         [(i, float(rng.normal(50, 5)), str(rng.choice(["web", "shop"]))) for i in range(3000)])
    register(settings, "shop", f"sqlite:///{path}")
    crawl(settings, "shop")
    annotate(settings, actor, sources=["shop"])
    client = Client(str(settings.home))
    client.log_run("train-basket", inputs=["shop/main/orders"], outputs=[{"model": "basket"}])
    calm = watch(settings, actor, reprofile_after_s=0)  # sampled again: same rows, same statistics
    assert calm["reprofiled"] == ["shop/main/orders"] and calm["checked"][0]["status"] == "no_retrain_needed"
    assert watch(settings, actor)["checked"] == []  # profile is fresh: not sampled again, nothing to check
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE orders SET amount = amount * 3, channel = 'app' WHERE id % 2 = 0")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, 400.0, "app") for i in range(3000, 3500)])
    crawl(settings, "shop")  # rows changed, schema did not: only a fresh sample shows it
    result = watch(settings, actor, reprofile_after_s=0)
    assert [c["status"] for c in result["checked"]] == ["retrain_recommended"]
    detail = client.model("basket")["drift"]["inputs"][0]
    assert detail["kind"] == "crawled" and detail["compared"] == "profile when trained → profile now"
    assert {c["column"] for c in detail["columns"] if c["exceeds"]} >= {"amount", "channel"}
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE orders DROP COLUMN channel")
    crawl(settings, "shop")
    dropped = watch(settings, actor, reprofile_after_s=0)
    assert "column 'channel' removed" in json.dumps(dropped["checked"])


def test_drift_measures_on_known_distributions() -> None:
    same = {"edges": [0, 1, 2, 3, 4], "counts": [10, 20, 20, 10]}
    assert histogram_psi(same, same) == pytest.approx(0.0, abs=1e-9)
    finer = {"edges": [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4], "counts": [5, 5, 10, 10, 10, 10, 5, 5]}
    assert histogram_psi(same, finer) == pytest.approx(0.0, abs=1e-6)  # same shape, other bins
    moved = {"edges": [2, 3, 4, 5, 6], "counts": [10, 20, 20, 10]}
    assert histogram_psi(same, moved) > 1.0
    assert top_share_js({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == pytest.approx(0.0)
    assert top_share_js({"a": 1.0}, {"b": 1.0}) == pytest.approx(1.0)
