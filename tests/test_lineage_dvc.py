"""Lineage imported from a real DVC project: `dvc repro` writes dvc.lock; its md5s are matched to versions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from catalog.access import Actor
from catalog.app import create_app
from catalog.client import Client, ClientError
from catalog.publish import publish
from catalog.settings import Settings
from tests.helpers import live_server

TRAIN = """import hashlib
data = open("data/features.parquet", "rb").read()
open("model.bin", "wb").write(hashlib.sha256(data).digest())
"""
PIPELINE = f"""stages:
  train:
    cmd: {sys.executable} train.py
    deps:
    - data/features.parquet
    - train.py
    outs:
    - model.bin
"""


def features(rows: int, seed: int) -> pa.Table:
    return pa.table({"id": np.arange(rows), "x": np.random.default_rng(seed).random(rows)})


def _dvc(project: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=project, check=True, capture_output=True)


@pytest.fixture
def project(settings: Settings, actor: Actor, tmp_path: Path) -> Path:
    """A DVC project whose `train` stage read features@v1 (downloaded byte for byte) and wrote model.bin."""
    publish(settings, actor, "team/features", data=features(800, 1))
    publish(settings, actor, "team/features", data=features(900, 2))
    folder = tmp_path / "churn-project"
    folder.mkdir()
    _dvc(folder, "init", "--no-scm", "-q")
    Client(str(settings.home)).download("team/features", "v1", folder / "data" / "features.parquet")
    (folder / "train.py").write_text(TRAIN)
    (folder / "dvc.yaml").write_text(PIPELINE)
    _dvc(folder, "repro", "-q")
    return folder


def test_stages_become_runs_matched_to_versions_by_md5(settings: Settings, project: Path) -> None:
    client = Client(str(settings.home))
    result = client.import_dvc(project, models={"model.bin": "churn-dvc"})
    assert result["project"] == "churn-project" and result["stages"] == 1 and result["versions_matched"] == 1
    [run] = result["runs"]
    assert run["job"] == "churn-project:train" and run["origin"] == "dvc"
    inputs = {i["dataset"]: i for i in run["inputs"]}
    assert inputs["team/features"]["version"] == "v1"
    assert inputs["train.py"]["kind"] == "external" and inputs["train.py"]["namespace"] == "dvc://churn-project"
    [model] = run["models"]
    assert model["name"] == "churn-dvc" and len(model["version"]) == 12
    assert client.impact("team/features", "v1")["models"][0]["name"] == "churn-dvc"
    assert client.impact("team/features", "v2")["models"] == []
    again = client.import_dvc(project, models={"model.bin": "churn-dvc"})
    assert again["runs"][0]["run_id"] == run["run_id"]  # the same lock file is the same run
    assert len(client.models(name="churn-dvc")) == 1


def test_a_stage_rerun_on_a_new_version_is_a_new_run(settings: Settings, project: Path) -> None:
    client = Client(str(settings.home))
    client.import_dvc(project, models={"model.bin": "churn-dvc"})
    client.download("team/features", "v2", project / "data" / "features.parquet")
    _dvc(project, "repro", "-q")
    second = client.import_dvc(project, models={"model.bin": "churn-dvc"})
    assert second["runs"][0]["inputs"][0]["version"] == "v2"
    assert len(client.models(name="churn-dvc")) == 2
    assert client.impact("team/features", "v2")["models"][0]["name"] == "churn-dvc"


def test_import_over_http_and_bad_lock_files(settings: Settings, project: Path, tmp_path: Path) -> None:
    with live_server(create_app(settings)) as url:
        client = Client(url)
        result = client.import_dvc(project / "dvc.lock", models={"model.bin": "churn-dvc"}, name="churn")
        assert result["runs"][0]["job"] == "churn:train"
        with pytest.raises(ClientError) as unknown:
            client.import_dvc(project, models={"weights.pt": "x"})
        assert "weights.pt" in str(unknown.value) and unknown.value.status == 400
        broken = tmp_path / "broken"
        broken.mkdir()
        (broken / "dvc.lock").write_text("schema: '2.0'\nstages: [unclosed\n")
        with pytest.raises(ClientError) as bad:
            client.import_dvc(broken)
        assert "not valid YAML" in str(bad.value)
    with pytest.raises(ClientError, match="no dvc.lock"):
        Client(str(settings.home)).import_dvc(tmp_path / "nowhere")
