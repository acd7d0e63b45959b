"""Redaction recipes through every door: the JSON API, the Python client (over HTTP and local) and the CLI.
One SQLite shop with PII, annotated so its columns carry PII labels; the key comes from the environment."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from catalog.access import Actor
from catalog.app import create_app
from catalog.cli import app as cli_app
from catalog.client import Client, ClientError
from catalog.settings import Settings
from tests.helpers import labelled_source, live_server

KEY = "recipes-api-test-key-0123456789abcdef"
SOURCE = "crm/main/people"
FIRST = ["Anna", "Bernd", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiroshi", "Ingrid", "Olivia", "James"]
LAST = ["Müller", "O'Brien", "Schmidt", "Nguyen", "García", "Kowalski", "Rossi", "Jansen", "Taylor"]


def _crm(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, full_name TEXT, "
                     "city TEXT, remarks TEXT)")
        conn.executemany("INSERT INTO people VALUES (?,?,?,?,?,?)", [
            (i, f"person{i}@example.org", f"+44 20 7946 {i % 10000:04d}",
             f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}",
             ["Leeds", "York", "Bath"][i % 3], f"Reached at person{i}@example.org on {i % 28 + 1} May, long note")
            for i in range(1, 401)])
    return path


@pytest.fixture
def crm(settings: Settings, actor: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    labelled_source(settings, "crm", f"sqlite:///{_crm(tmp_path / 'crm.db')}")
    monkeypatch.setenv("CATALOG_REDACTION_KEY", KEY)
    return settings


def test_api_suggest_save_show_and_publish_from_a_dataset(crm: Settings) -> None:
    api = TestClient(create_app(crm))
    suggestion = api.get("/api/v1/recipes/suggest", params={"source": SOURCE}).json()
    assert suggestion["recipe"]["columns"]["email"]["rule"] == "hash"
    assert api.get("/api/v1/recipes", params={"dataset": "crm_clean/people"}).json()["recipe"] is None

    saved = api.put("/api/v1/recipes", params={"dataset": "crm_clean/people"},
                    json={"source": SOURCE, "recipe": suggestion["yaml"]})
    assert saved.status_code == 200, saved.text
    shown = api.get("/api/v1/recipes", params={"dataset": "crm_clean/people"}).json()
    assert shown["source"] == SOURCE and shown["recipe_hash"] == saved.json()["recipe_hash"]
    assert yaml.safe_load(shown["yaml"])["columns"]["email"]["rule"] == "hash"

    done = api.post("/api/v1/versions/from-dataset", params={"dataset": "crm_clean/people"},
                    json={"source": SOURCE, "message": "stored recipe"})
    assert done.status_code == 200, done.text
    version = done.json()["version"]
    assert version["derivation"]["recipe_origin"] == "stored" and version["source_dataset"] == SOURCE
    detail = api.get("/api/v1/versions/resolve", params={"dataset": "crm_clean/people", "version": "v1"}).json()
    assert detail["derivation"]["recipe_hash"] == shown["recipe_hash"]
    assert KEY not in done.text and KEY not in json.dumps(detail)


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"source": SOURCE, "recipe": {"version": 1, "default": "keep", "columns": {"emial": "drop"}}}, 400,
     'column "emial" does not exist in the source (did you mean "email"?)'),
    ({"source": SOURCE, "recipe": "version: 1\ndefault: keep\ncolumns: {email: {rule: hash, legnth: 8}}"}, 400,
     "legnth"),
    ({"source": SOURCE, "recipe": "version: 1\ndefault: [unclosed"}, 400, "recipe"),
    ({"source": "crm/main/nobody", "recipe": {"version": 1, "default": "keep", "columns": {}}}, 404, "nobody"),
    ({"source": SOURCE}, 400, "body.recipe: Field required"),
], ids=["missing-column", "unknown-option", "bad-yaml", "unknown-source", "no-recipe"])
def test_api_refuses_bad_recipes_with_the_reason(crm: Settings, body: dict[str, Any], status: int,
                                                 words: str) -> None:
    api = TestClient(create_app(crm))
    answer = api.put("/api/v1/recipes", params={"dataset": "crm_clean/people"}, json=body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]
    assert api.get("/api/v1/recipes", params={"dataset": "crm_clean/people"}).json()["recipe"] is None


def test_api_publish_through_a_recipe_that_keeps_pii_is_refused_with_the_report(crm: Settings) -> None:
    api = TestClient(create_app(crm))
    refused = api.post("/api/v1/versions/from-dataset", params={"dataset": "crm_clean/people"},
                       json={"source": SOURCE, "recipe": {"version": 1, "default": "keep", "columns": {}}})
    assert refused.status_code == 422
    pii = next(g for g in refused.json()["report"]["gates"] if g["gate"] == "pii")
    assert not pii["passed"] and "email" in {f["column"] for f in pii["findings"]}
    assert "person1@example.org" not in refused.text


def test_client_over_http_and_locally_publishes_from_a_dataset(crm: Settings, tmp_path: Path) -> None:
    recipe = {"version": 1, "default": "drop", "columns": {"id": "keep", "email": {"rule": "tokenize",
                                                                                    "prefix": "p_"},
                                                          "city": "keep", "remarks": {"rule": "scrub"}}}
    with live_server(create_app(crm)) as url, Client(url, cache_dir=tmp_path / "cache") as client:
        assert client.suggest_recipe(SOURCE)["recipe"]["columns"]["full_name"]["rule"] == "drop"
        done = client.publish_from("crm_clean/people", SOURCE, recipe=recipe, message="over http")
        assert done["status"] == "published"
        table = client.get("crm_clean/people")
        assert table.column_names == ["id", "email", "city", "remarks"]
        assert all(t.startswith("p_") for t in table.column("email").to_pylist())
        assert not any("@" in r for r in table.column("remarks").to_pylist())
        assert client.recipe("crm_clean/people")["recipe"]["columns"]["email"]["prefix"] == "p_"
        with pytest.raises(ClientError) as bad:
            client.save_recipe("crm_clean/people", {"version": 1, "default": "keep", "columns": {"x": "drop"}},
                               SOURCE)
        assert bad.value.status == 400 and '"x"' in str(bad.value)
    file = tmp_path / "recipe.yaml"
    file.write_text(yaml.safe_dump({**recipe, "columns": {**recipe["columns"], "city": "drop"}}))
    with Client(str(crm.home), cache_dir=tmp_path / "cache2") as local:
        again = local.publish_from("crm_clean/people", SOURCE, recipe=file, allow_schema_change="city is dropped")
        assert again["version"]["version"] == "v2" and again["version"]["derivation"]["recipe_origin"] == "given"
        assert local.recipe("crm_clean/people")["recipe"]["columns"]["city"]["rule"] == "drop"


def test_cli_suggest_then_publish_with_the_reviewed_file(crm: Settings, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_HOME", str(crm.home))
    runner = CliRunner()
    suggested = runner.invoke(cli_app, ["recipe", "suggest", SOURCE])
    assert suggested.exit_code == 0, suggested.stderr
    assert suggested.stdout.startswith("# Suggested from the PII labels")
    file = tmp_path / "people.yaml"
    file.write_text(suggested.stdout)
    assert yaml.safe_load(file.read_text())["columns"]["email"]["rule"] == "hash"

    monkeypatch.delenv("CATALOG_REDACTION_KEY")
    missing = runner.invoke(cli_app, ["publish", "crm_clean/people", "--from", SOURCE, "--recipe", str(file)])
    assert missing.exit_code == 1 and "CATALOG_REDACTION_KEY is not set" in missing.stderr
    assert len([line for line in missing.stderr.splitlines() if line.strip()]) == 1

    monkeypatch.setenv("CATALOG_REDACTION_KEY", KEY)
    done = runner.invoke(cli_app, ["publish", "crm_clean/people", "--from", SOURCE, "--recipe", str(file), "--json"])
    assert done.exit_code == 0, done.stderr
    version = json.loads(done.stdout)["version"]
    assert version["derivation"]["recipe_origin"] == "given" and KEY not in done.stdout
    shown = runner.invoke(cli_app, ["recipe", "show", "crm_clean/people"])
    assert shown.exit_code == 0 and f"from {SOURCE}" in shown.stdout and "rule: hash" in shown.stdout

    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ndefault: drop\ncolumns: {id: keep, phone: {rule: generalise, to: year}}\n")
    refused = runner.invoke(cli_app, ["recipe", "set", "crm_clean/people", str(broken), "--from", SOURCE])
    assert refused.exit_code == 1 and 'column "phone"' in refused.stderr and "format" in refused.stderr
    nowhere = runner.invoke(cli_app, ["recipe", "set", "crm_clean/people", str(tmp_path / "nope.yaml"),
                                      "--from", SOURCE])
    assert nowhere.exit_code == 1 and "nope.yaml" in nowhere.stderr
