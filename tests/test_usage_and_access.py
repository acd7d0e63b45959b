"""The home page's "most used" ranking and the dataset page's Access part (issue 10), through services and HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from catalog import dataset_access, usage
from catalog.access import Actor, GrantRule
from catalog.annotate import annotate
from catalog.app import create_app
from catalog.client import Client
from catalog.db import session_scope
from catalog.errors import InvalidInput, NotFound
from catalog.principals import create_token
from catalog.publish import publish
from catalog.settings import Settings
from tests.helpers import crawl, governed_catalog, register

SAME_ORIGIN = {"Origin": "http://testserver"}
WHY = "features for the churn model, quarterly refresh"


def _table(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"id": np.arange(100), "value": rng.random(100)})


@pytest.fixture
def used(settings: Settings, actor: Actor, tmp_path: Path, sqlite_source: Path) -> Settings:
    """team/a fetched three times (plus once from a warm cache) and read by one run; team/b read by two runs;
    team/c published and never used."""
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    for name, seed in (("team/a", 1), ("team/b", 2), ("team/c", 3)):
        publish(settings, actor, name, data=_table(seed))
    for n in range(3):  # three machines: a cached get makes no fetch, and counts none
        Client(str(settings.home), cache_dir=tmp_path / f"cache-{n}").get("team/a", version="v1")
    client = Client(str(settings.home), cache_dir=tmp_path / "cache-0")
    client.get("team/a", version="v1")
    client.log_run("train-a", run_id="run-a", inputs=[("team/a", "v1")])
    client.log_run("train-b1", run_id="run-b1", inputs=[("team/b", "v1")])
    client.log_run("train-b2", run_id="run-b2", inputs=[("team/b", "v1")])
    return settings


def test_most_used_counts_fetches_and_run_reads(used: Settings, actor: Actor) -> None:
    with session_scope(used) as session:
        ranked = usage.most_used(session, actor)["datasets"]
    assert [d["name"] for d in ranked] == ["team/a", "team/b"]
    assert ranked[0] == {"name": "team/a", "fetches": 3, "runs": 1, "users": 1}
    assert ranked[1] == {"name": "team/b", "fetches": 0, "runs": 2, "users": 1}


def test_most_used_hides_what_the_caller_may_not_discover(used: Settings) -> None:
    only_b = Actor(name="ana", governed=True, grants=(GrantRule("team/b", "discover"),))
    with session_scope(used) as session:
        assert [d["name"] for d in usage.most_used(session, only_b)["datasets"]] == ["team/b"]


def test_most_used_checks_its_bounds(used: Settings, actor: Actor) -> None:
    with session_scope(used) as session:
        with pytest.raises(InvalidInput, match="days"):
            usage.most_used(session, actor, days=0)
        with pytest.raises(InvalidInput, match="limit"):
            usage.most_used(session, actor, limit=1000)


def test_home_page_and_api_show_the_ranking(used: Settings) -> None:
    client = TestClient(create_app(used))
    page = client.get("/").text
    section = page[page.index('id="popular-heading"'):page.index('id="recent-heading"')]
    assert section.index("team/a") < section.index("team/b") and "team/c" not in section
    body = client.get("/api/v1/usage", params={"days": 7, "limit": 1}).json()
    assert body["days"] == 7 and [d["name"] for d in body["datasets"]] == ["team/a"]
    assert client.get("/api/v1/usage", params={"days": 0}).status_code == 400


def test_home_page_explains_an_empty_ranking(settings: Settings) -> None:
    page = TestClient(create_app(settings)).get("/").text
    assert "Nothing was fetched or read by a recorded run in the last 30 days" in page


@pytest.fixture
def server(settings: Settings, actor: Actor, sqlite_source: Path) -> Settings:
    return governed_catalog(settings, actor, sqlite_source, {"ana": ["analyst"], "ada": ["admin"],
                                                             "stella": ["steward"]}, rows=50)


def _client(settings: Settings, user: str) -> TestClient:
    with session_scope(settings) as session:
        token = create_token(session, Actor.local(), user, days=1)["token"]
    return TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}, follow_redirects=False)


def test_embedded_mode_says_there_is_no_access_control(settings: Settings, actor: Actor) -> None:
    publish(settings, actor, "team/x", data=_table(1))
    with session_scope(settings) as session:
        summary = dataset_access.access_summary(session, actor, "team/x")
    assert summary["governed"] is False and summary["requestable"] == []
    page = TestClient(create_app(settings)).get("/datasets/team/x").text
    assert "embedded single-user mode" in page and "Request access" not in page


def test_analyst_sees_own_rights_and_requests_from_the_dataset_page(server: Settings) -> None:
    ana = _client(server, "ana")
    summary = ana.get("/api/v1/access/dataset", params={"dataset": "team/scores"}).json()
    rights = {r["permission"]: r["allowed"] for r in summary["rights"]}
    assert rights == {"read_metadata": True, "read_data": False, "read_pii": False, "publish": False}
    assert summary["requestable"] == ["read_data", "read_pii", "publish"] and summary["can_review"] is False
    page = ana.get("/datasets/team/scores").text
    assert "Request access" in page and "Who can access this dataset" not in page

    sent = ana.post("/access/requests", data={"dataset": "team/scores", "permission": "read_data",
                                              "justification": WHY, "days": "7", "back": "dataset"},
                    headers=SAME_ORIGIN)
    assert sent.status_code == 303 and sent.headers["location"] == "/datasets/team/scores#access"
    after = ana.get("/api/v1/access/dataset", params={"dataset": "team/scores"}).json()
    assert [p["permission"] for p in after["pending"]] == ["read_data"]
    assert "read_data" not in after["requestable"]
    assert re.search(r"You asked for <span class=\"mono\">read_data</span>", ana.get("/datasets/team/scores").text)


def test_stewards_get_the_review_link_and_admins_need_no_request(server: Settings) -> None:
    steward = _client(server, "stella").get("/datasets/team/scores").text
    assert "Who can access this dataset, and why" in steward
    admin = _client(server, "ada").get("/api/v1/access/dataset", params={"dataset": "team/scores"}).json()
    assert all(r["allowed"] for r in admin["rights"]) and admin["requestable"] == []


def test_access_summary_of_an_unknown_dataset_is_not_found(server: Settings) -> None:
    assert _client(server, "ana").get("/api/v1/access/dataset", params={"dataset": "team/nope"}).status_code == 404
    with session_scope(server) as session, pytest.raises(NotFound):
        dataset_access.access_summary(session, Actor.local(), "team/nope")


def test_decision_forms_show_only_to_people_who_may_decide(server: Settings) -> None:
    """Descriptions and labels are decided with the manage right; others read the page without the buttons."""
    annotate(server, Actor.local())
    analyst = _client(server, "ana").get("/datasets/shop/main/customers").text
    assert 'action="/descriptions"' not in analyst and 'action="/labels"' not in analyst
    assert "needs the manage right" in analyst, "labels stay listed, with their evidence"
    admin = _client(server, "ada").get("/datasets/shop/main/customers").text
    assert 'action="/descriptions"' in admin and 'action="/labels"' in admin


def test_publish_links_show_only_to_people_who_may_publish(server: Settings) -> None:
    for user, shown in (("ana", False), ("ada", True)):
        client = _client(server, user)
        dataset_page = client.get("/datasets/team/scores").text
        version_page = client.get("/versions", params={"dataset": "team/scores", "version": "v1"}).text
        assert ('href="/publish?dataset=team%2Fscores"' in dataset_page) is shown, user
        assert ('href="/publish?dataset=team%2Fscores"' in version_page) is shown, user
