"""Labels and profiles through the JSON API and the dataset page: review queue, decisions, forms, escaping."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalog.access import Actor
from catalog.annotate import annotate
from catalog.app import create_app
from catalog.settings import Settings
from tests.helpers import crawl, register

ORIGIN = {"origin": "http://testserver"}
HOSTILE = "<script>alert('x')</script> contact mail"


@pytest.fixture
def client(settings: Settings, actor: Actor, tmp_path: Path) -> TestClient:
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, city TEXT)")
        conn.execute(f"CREATE TABLE notes (id INTEGER PRIMARY KEY, \"{HOSTILE}\" TEXT)")
        conn.executemany("INSERT INTO contacts VALUES (?, ?, ?)",
                         [(i, f"user{i}@example.org", ["Lyon", "Bonn", "Leeds"][i % 3]) for i in range(1, 301)])
        conn.executemany("INSERT INTO notes VALUES (?, ?)", [(i, f"n{i}@example.net") for i in range(1, 101)])
    register(settings, "crm", f"sqlite:///{path}")
    crawl(settings, "crm")
    annotate(settings, actor)
    return TestClient(create_app(settings))


def test_dataset_api_carries_labels_and_profiles(client: TestClient) -> None:
    body = client.get("/api/v1/datasets/crm/main/contacts").json()
    columns = {c["name"]: c for c in body["columns"]}
    assert columns["email"]["classifications"] == ["pii.email"]
    assert columns["email"]["labels"][0]["evidence"]
    assert columns["city"]["profile"]["top_values"], "a column without personal data shows its common values"
    assert "example.org" not in client.get("/api/v1/datasets/crm/main/contacts").text
    assert body["profile"]["rows_sampled"] == 300


def test_review_queue_and_decisions_over_the_api(client: TestClient) -> None:
    queue = client.get("/api/v1/classifications").json()["labels"]
    assert any(v["dataset"] == "crm/main/contacts" and (v["column"], v["label"]) == ("email", "pii.email")
               for v in queue)
    decided = client.post("/api/v1/classifications", json={
        "dataset": "crm/main/contacts", "column": "email", "label": "pii.email", "decision": "confirm",
        "comment": "customer contact"})
    assert decided.status_code == 200 and decided.json()["status"] == "confirmed"
    confirmed = client.get("/api/v1/classifications", params={"status": "confirmed"}).json()["labels"]
    assert [(v["column"], v["decided_by"]) for v in confirmed] == [("email", "local")]
    bad = client.post("/api/v1/classifications", json={
        "dataset": "crm/main/contacts", "column": "email", "label": "pii.email", "decision": "approve"})
    assert bad.status_code == 400 and "(not 'approve')" in bad.json()["error"]
    missing = client.post("/api/v1/classifications", json={
        "dataset": "crm/main/contacts", "column": "nope", "label": "pii.email", "decision": "reject"})
    assert missing.status_code == 404
    assert client.get("/api/v1/classifications", params={"status": "odd"}).status_code == 400


def test_dataset_page_shows_labels_evidence_and_profiles(client: TestClient) -> None:
    page = client.get("/datasets/crm/main/contacts")
    assert page.status_code == 200
    html = page.text
    assert "Personal data" in html and "pii.email" in html and "suggested" in html
    assert 'action="/labels"' in html and "Confirm" in html and "Reject" in html
    assert "example.org" not in html, "masked samples only"
    assert "<svg class=\"histogram\"" in html or "Most common" in html


def test_label_form_requires_this_sites_origin(client: TestClient) -> None:
    form = {"dataset": "crm/main/contacts", "column": "email", "label": "pii.email", "decision": "reject",
            "comment": "<b>not</b> real"}
    refused = client.post("/labels", data=form, follow_redirects=False)
    assert refused.status_code == 403
    forged = client.post("/labels", data=form, headers={"origin": "http://evil.example"}, follow_redirects=False)
    assert forged.status_code == 403
    accepted = client.post("/labels", data=form, headers=ORIGIN, follow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/datasets/crm/main/contacts#pii"
    html = client.get("/datasets/crm/main/contacts").text
    assert "&lt;b&gt;not&lt;/b&gt; real" in html and "<b>not</b>" not in html
    assert "rejected" in html


def test_hostile_column_names_stay_inert(client: TestClient) -> None:
    html = client.get("/datasets/crm/main/notes").text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
