"""The version list comes in pages keyed on the version number: API, client (which follows the pages), CLI, the
dataset document (the newest few and a total) and the web list with its "Older versions" link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from catalog import client as client_module
from catalog import versions
from catalog.access import Actor
from catalog.app import create_app
from catalog.cli import main
from catalog.client import Client
from catalog.db import session_scope
from catalog.publish import PublishOptions, publish
from catalog.settings import Settings
from tests.helpers import CountingApp, live_server

NAME = "team/history"


def table(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"id": np.arange(200), "score": rng.random(200)})


@pytest.fixture
def history(settings: Settings, actor: Actor) -> Settings:
    """Five versions of team/history; v3 derives from v2."""
    for seed in range(1, 6):
        parents = ["team/history@v2"] if seed == 3 else []
        publish(settings, actor, NAME, data=table(seed), options=PublishOptions(parents=tuple(parents)))
    return settings


def test_pages_walk_every_version_once_newest_first(history: Settings, actor: Actor) -> None:
    seen: list[str] = []
    before = None
    with session_scope(history) as session:
        while True:
            page = versions.list_versions(session, actor, NAME, limit=2, before=before)
            assert page["total"] == 5 and len(page["versions"]) <= 2
            seen += [v["version"] for v in page["versions"]]
            before = page["next_before"]
            if before is None:
                break
        third = versions.list_versions(session, actor, NAME, limit=1, before=4)["versions"][0]
    assert seen == ["v5", "v4", "v3", "v2", "v1"]
    assert third["version"] == "v3" and third["parents"] == ["team/history@v2"]


def test_the_api_pages_and_refuses_bad_limits(history: Settings) -> None:
    api = TestClient(create_app(history))
    page = api.get("/api/v1/versions", params={"dataset": NAME, "limit": 2, "before": 4}).json()
    assert [v["version"] for v in page["versions"]] == ["v3", "v2"]
    assert page["next_before"] == 2 and page["total"] == 5
    last = api.get("/api/v1/versions", params={"dataset": NAME, "limit": 2, "before": 2}).json()
    assert [v["version"] for v in last["versions"]] == ["v1"] and last["next_before"] is None
    for bad in ({"limit": 0}, {"limit": versions.MAX_PAGE + 1}, {"before": 0}, {"before": "v3"}):
        answer = api.get("/api/v1/versions", params={"dataset": NAME, **bad})
        assert answer.status_code == 400, bad
        assert next(iter(bad)) in answer.json()["error"]


@pytest.fixture
def served(history: Settings) -> Iterator[tuple[str, CountingApp]]:
    counting = CountingApp(create_app(history))
    with live_server(counting) as url:
        yield url, counting


def test_the_client_follows_the_pages(served: tuple[str, CountingApp], history: Settings, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "VERSIONS_PER_CALL", 2)
    url, counting = served
    with Client(url, token="t", cache_dir=tmp_path / "http-cache") as remote:
        assert [v["version"] for v in remote.versions(NAME)] == ["v5", "v4", "v3", "v2", "v1"]
    assert counting.paths.count("/api/v1/versions") == 3
    with Client(str(history.home), cache_dir=tmp_path / "local-cache") as local:
        assert [v["version"] for v in local.versions(NAME)] == ["v5", "v4", "v3", "v2", "v1"]


def test_the_dataset_document_carries_the_newest_and_a_total(history: Settings,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "SHOWN_WITH_DATASET", 2)
    api = TestClient(create_app(history))
    document = api.get(f"/api/v1/datasets/{NAME}").json()
    assert [v["version"] for v in document["versions"]] == ["v5", "v4"] and document["versions_total"] == 5
    page = api.get(f"/datasets/{NAME}").text
    assert "The 2 most recent of 5 versions" in page
    assert 'href="/versions/all?dataset=team%2Fhistory"' in page


def test_the_list_page_links_to_older_versions(history: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "PAGE", 2)
    pages = TestClient(create_app(history))
    seen: list[str] = []
    url = f"/versions/all?dataset={NAME}"
    while url:
        html = pages.get(url).text
        seen += re.findall(r'<th scope="row"><a href="[^"]+">(v\d+)</a></th>', html)
        older = re.search(r'<a href="([^"]+)" rel="next">Older versions</a>', html)
        url = older.group(1).replace("&amp;", "&") if older else ""
    assert seen == ["v5", "v4", "v3", "v2", "v1"]
    assert "5 published versions" in html
    beyond = pages.get("/versions/all", params={"dataset": NAME, "before": 1})
    assert beyond.status_code == 200 and "No versions below that number" in beyond.text


def test_the_cli_shows_a_page_and_how_to_get_the_next(history: Settings, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_HOME", str(history.home))
    main(["versions", NAME, "--limit", "2", "--before", "5"])  # returns on success (raises SystemExit otherwise)
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[:2]] == ["v4", "v3"]
    assert out[2] == f"(2 of 5 shown; next page: catalog versions {NAME} --before 3)"
