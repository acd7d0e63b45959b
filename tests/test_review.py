"""The review queue: open AI suggestions across datasets, bulk decisions (all or nothing), edits, filters, rights
(server mode), escaping and form-post origin checks, through the JSON API, the page and the service."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from catalog import review
from catalog.access import Actor
from catalog.annotate import annotate
from catalog.app import create_app
from catalog.db import session_scope
from catalog.errors import Conflict, InvalidInput, NotFound
from catalog.models import AuditEvent, Dataset, Description
from catalog.principals import add_grant, add_user, create_token
from catalog.settings import Settings
from catalog.web_auth import COOKIE
from tests.helpers import crawl, governed_catalog, register, show

ORIGIN = {"origin": "http://testserver"}
CONTACTS, NOTES = "crm/main/contacts", "crm/main/notes"
HOSTILE = "<script>alert(1)</script>"
PASSWORD = "a long enough passphrase"


def _crm(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, city TEXT -- where they live\n)")
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, mail TEXT)")
        conn.executemany("INSERT INTO contacts VALUES (?, ?, ?)",
                         [(i, f"user{i}@example.org", ["Lyon", "Bonn", "Leeds"][i % 3]) for i in range(1, 301)])
        conn.executemany("INSERT INTO notes VALUES (?, ?, ?)",
                         [(i, f"note {i}", f"n{i}@example.net") for i in range(1, 151)])
    return path


@pytest.fixture
def crm(settings: Settings, actor: Actor, tmp_path: Path) -> Settings:
    """Two annotated datasets with suggested descriptions (dataset and columns) and a suggested email label each."""
    register(settings, "crm", f"sqlite:///{_crm(tmp_path / 'crm.db')}")
    crawl(settings, "crm")
    annotate(settings, actor)
    return settings


@pytest.fixture
def client(crm: Settings) -> TestClient:
    return TestClient(create_app(crm), follow_redirects=False)


def _key(*parts: str) -> str:
    """A checkbox value as the page writes it."""
    return json.dumps(list(parts), ensure_ascii=False)


def _statuses(settings: Settings) -> dict[tuple[str, str], str]:
    with session_scope(settings) as session:
        rows = session.execute(select(Dataset.name, Description.column_name, Description.status)
                               .join(Dataset, Dataset.id == Description.dataset_id))
        return {(name, column): status for name, column, status in rows}


def _audit_lines(settings: Settings) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _labels(client: TestClient, status: str) -> set[tuple[str, str, str]]:
    listed = client.get("/api/v1/classifications", params={"status": status}).json()["labels"]
    return {(v["dataset"], v["column"], v["label"]) for v in listed}


def test_queue_lists_open_suggestions_across_datasets(client: TestClient) -> None:
    queue = client.get("/api/v1/review").json()
    found = {(d["dataset"], d["column"]) for d in queue["descriptions"]}
    assert {(CONTACTS, ""), (CONTACTS, "email"), (NOTES, ""), (NOTES, "mail")} <= found
    assert queue["totals"]["descriptions"] == len(queue["descriptions"]) == 8  # 2 tables + 6 columns
    assert all(d["source"].startswith("ai:") and d["text"] for d in queue["descriptions"])
    city = next(d for d in queue["descriptions"] if d["column"] == "city")
    assert city["native_comment"] == "where they live"
    labels = {(v["dataset"], v["column"], v["label"]) for v in queue["labels"]}
    assert labels == {(CONTACTS, "email", "pii.email"), (NOTES, "mail", "pii.email")}
    assert queue["totals"]["labels"] == 2 and all(v["evidence"] and v["confidence"] for v in queue["labels"])
    page = client.get("/review")
    assert page.status_code == 200
    html = page.text
    assert '<a href="/review" aria-current="page">' in html
    assert "8 descriptions and 2 labels to review" in html
    assert html.count("data-select-all=") == 2, "the page script adds a select-all box; the page works without"
    assert html.count('name="item"') == 10 and html.count('form="bulk-descriptions"') >= 8 + 2
    assert 'class="visually-hidden">Select the description of column email of crm/main/contacts</label>' in html
    assert "Select label pii.email on column mail of crm/main/notes" in html
    assert "ai:rules/" in html and "where they live" in html
    assert html.count('action="/review/edit"') == 8 and "<details" in html and "<textarea" in html


def test_bulk_accept_of_descriptions_shows_them_accepted_on_the_dataset_page(client: TestClient,
                                                                            crm: Settings) -> None:
    before = client.get("/datasets/crm/main/contacts").text
    assert "to review" in before and "/descriptions/accept-all" in before
    items = [_key("description", CONTACTS, column) for column in ("", "id", "email", "city")]
    posted = client.post("/review/decisions", headers=ORIGIN,
                         data={"decision": "accept", "item": items, "back": "kind=descriptions"})
    assert posted.status_code == 303
    assert posted.headers["location"] == "/review?kind=descriptions&done=accepted+4"
    shown = client.get(posted.headers["location"])
    assert re.search(r'role="status">Accepted 4 suggestions\.</p>', shown.text)
    assert CONTACTS not in {d["dataset"] for d in client.get("/api/v1/review").json()["descriptions"]}
    statuses = _statuses(crm)
    assert {statuses[(CONTACTS, c)] for c in ("", "id", "email", "city")} == {"accepted"}
    assert statuses[(NOTES, "mail")] == "suggested", "only the ticked items are decided"
    after = client.get("/datasets/crm/main/contacts").text
    assert "to review" not in after and "/descriptions/accept-all" not in after
    dataset = client.get("/api/v1/datasets/crm/main/contacts").json()
    assert dataset["written_description"]["status"] == "accepted"
    assert dataset["written_description"]["decided_by"] == "local"


def test_bulk_reject_of_labels_over_the_api(client: TestClient) -> None:
    body = {"decision": "reject", "items": [
        {"kind": "label", "dataset": CONTACTS, "column": "email", "label": "pii.email"},
        {"kind": "label", "dataset": NOTES, "column": "mail", "label": "pii.email"}]}
    decided = client.post("/api/v1/review/decisions", json=body)
    assert decided.status_code == 200, decided.text
    assert decided.json()["decided"] == 2 and decided.json()["labels"] == 2
    assert {v["status"] for v in decided.json()["items"]} == {"rejected"}
    assert _labels(client, "rejected") == {(CONTACTS, "email", "pii.email"), (NOTES, "mail", "pii.email")}
    assert client.get("/api/v1/review", params={"kind": "labels"}).json()["totals"]["labels"] == 0
    again = client.post("/api/v1/review/decisions", json=body)
    assert again.status_code == 409
    assert "item 1 (label pii.email on column 'email' of 'crm/main/contacts')" in again.json()["error"]
    assert "already rejected by local" in again.json()["error"]


def test_accepting_a_label_from_the_page_confirms_it(client: TestClient) -> None:
    posted = client.post("/review/decisions", headers=ORIGIN, data={
        "decision": "accept", "item": [_key("label", NOTES, "mail", "pii.email")], "back": "label=pii.email"})
    assert posted.status_code == 303 and posted.headers["location"] == "/review?label=pii.email&done=accepted+1"
    assert _labels(client, "confirmed") == {(NOTES, "mail", "pii.email")}


def test_edit_saves_a_persons_text(client: TestClient, crm: Settings) -> None:
    posted = client.post("/review/edit", headers=ORIGIN, data={
        "dataset": NOTES, "column": "body", "text": "  Free text typed by the support desk. ", "back": "source=crm"})
    assert posted.status_code == 303 and posted.headers["location"] == "/review?source=crm&done=edited+1"
    assert "Saved your description" in client.get(posted.headers["location"]).text
    body = next(c for c in show(crm, NOTES)["columns"] if c["name"] == "body")
    assert body["description"] == "Free text typed by the support desk."
    assert body["description_source"] == "human:local" and body["written_description"]["ai_text"]
    assert (NOTES, "body") not in {(d["dataset"], d["column"]) for d in client.get("/api/v1/review").json()[
        "descriptions"]}
    again = client.post("/review/edit", headers=ORIGIN, data={"dataset": NOTES, "column": "body", "text": "Late."})
    assert again.status_code == 409 and "already accepted by local" in again.text, "a stale edit form cannot win"
    api = client.post("/api/v1/review/decisions", json={
        "decision": "edit", "text": "The note's own words.", "items": [{"kind": "description", "dataset": NOTES}]})
    assert api.status_code == 200 and api.json()["items"][0]["source"] == "human:local"
    two = client.post("/api/v1/review/decisions", json={"decision": "edit", "text": "x", "items": [
        {"kind": "description", "dataset": CONTACTS}, {"kind": "description", "dataset": CONTACTS, "column": "id"}]})
    assert two.status_code == 400 and "exactly one description" in two.json()["error"]


def test_a_batch_with_one_bad_item_changes_nothing(client: TestClient, crm: Settings) -> None:
    client.post("/api/v1/review/decisions", json={"decision": "reject", "items": [
        {"kind": "description", "dataset": NOTES, "column": "body"}]})
    before, lines = _statuses(crm), _audit_lines(crm)
    good = [_key("description", CONTACTS, c) for c in ("", "id", "email")]
    decided = client.post("/review/decisions", headers=ORIGIN, data={
        "decision": "accept", "item": [*good, _key("description", NOTES, "body")]})
    assert decided.status_code == 409
    assert "item 4 (description of column &#39;body&#39; of &#39;crm/main/notes&#39;)" in decided.text
    unknown = client.post("/api/v1/review/decisions", json={"decision": "accept", "items": [
        {"kind": "description", "dataset": CONTACTS}, {"kind": "description", "dataset": "crm/main/nope"}]})
    assert unknown.status_code == 404 and "item 2" in unknown.json()["error"]
    assert "dataset 'crm/main/nope' does not exist" in unknown.json()["error"]
    no_column = client.post("/api/v1/review/decisions", json={"decision": "reject", "items": [
        {"kind": "label", "dataset": CONTACTS, "column": "email", "label": "pii.email"},
        {"kind": "label", "dataset": CONTACTS, "column": "city", "label": "pii.email"}]})
    assert no_column.status_code == 404 and "item 2 (label pii.email on column 'city'" in no_column.json()["error"]
    repeated = client.post("/api/v1/review/decisions", json={"decision": "accept", "items": [
        {"kind": "description", "dataset": CONTACTS}, {"kind": "description", "dataset": CONTACTS, "column": ""}]})
    assert repeated.status_code == 400 and "item 2 repeats item 1" in repeated.json()["error"]
    too_many = client.post("/api/v1/review/decisions", json={"decision": "accept", "items": [
        {"kind": "description", "dataset": f"crm/{i}"} for i in range(review.MAX_BATCH + 1)]})
    assert too_many.status_code == 400 and "items" in too_many.json()["error"]
    assert _statuses(crm) == before and _audit_lines(crm) == lines
    assert _labels(client, "suggested") == {(CONTACTS, "email", "pii.email"), (NOTES, "mail", "pii.email")}


def test_the_service_undoes_a_failed_batch_even_when_the_caller_carries_on(crm: Settings, actor: Actor) -> None:
    """The savepoint: a caller that catches the error and commits keeps nothing of the batch."""
    items = [("description", CONTACTS, ""), ("label", CONTACTS, "email", "pii.email"), ("description", NOTES, "x")]
    with session_scope(crm) as session:
        with pytest.raises(NotFound, match=r"item 3 \(description of column 'x' of 'crm/main/notes'\)"):
            review.decide_many(session, actor, items, "accept")
    assert _statuses(crm)[(CONTACTS, "")] == "suggested"
    with session_scope(crm) as session:
        assert review.suggestions(session, actor, kind="labels")["totals"]["labels"] == 2
        done = review.decide_many(session, actor, items[:2], "accept")
    assert (done["descriptions"], done["labels"]) == (1, 1)
    with session_scope(crm) as session:
        with pytest.raises(Conflict, match="item 1 .* already accepted"):
            review.decide_many(session, actor, items[:1], "reject")
        for bad, message in ((("thing", CONTACTS, ""), "kind 'thing'"), (("label", CONTACTS, "email"), "needs"),
                             (("description", "", ""), "dataset must be given")):
            with pytest.raises(InvalidInput, match=message):
                review.decide_many(session, actor, [bad], "accept")
        with pytest.raises(InvalidInput, match="decision 'approve'"):
            review.decide_many(session, actor, items[:1], "approve")
        with pytest.raises(InvalidInput, match="text is only for decision 'edit'"):
            review.decide_many(session, actor, [("description", NOTES, "")], "accept", "words")


def test_a_failed_batch_leaves_nothing_on_postgresql(pg_store: Settings, actor: Actor, tmp_path: Path) -> None:
    """The production store: the savepoint and the queue's SQL (case-insensitive match, ordering) on PostgreSQL."""
    register(pg_store, "crm", f"sqlite:///{_crm(tmp_path / 'crm.db')}")
    crawl(pg_store, "crm")
    annotate(pg_store, actor)
    with session_scope(pg_store) as session:
        queue = review.suggestions(session, actor, dataset="CONTACTS")
        assert [d["column"] for d in queue["descriptions"]] == ["", "id", "email", "city"]
        review.decide_many(session, actor, [("description", CONTACTS, "city")], "reject")
    with session_scope(pg_store) as session:
        with pytest.raises(Conflict, match=r"item 3 .*'city'.* already rejected"):
            review.decide_many(session, actor, [("label", CONTACTS, "email", "pii.email"),
                                                ("description", CONTACTS, "id"),
                                                ("description", CONTACTS, "city")], "accept")
    with session_scope(pg_store) as session:
        assert review.suggestions(session, actor)["totals"] == {"descriptions": 7, "labels": 2}


def test_filters_narrow_the_queue_and_bad_ones_name_the_parameter(client: TestClient) -> None:
    def queue(**params: Any) -> dict[str, Any]:
        response = client.get("/api/v1/review", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    only_labels = queue(kind="labels")
    assert only_labels["descriptions"] == [] and only_labels["totals"] == {"descriptions": 0, "labels": 2}
    notes = queue(dataset="NOTES")
    assert {d["dataset"] for d in notes["descriptions"] + notes["labels"]} == {NOTES}
    assert queue(source="crm")["totals"] == {"descriptions": 8, "labels": 2}
    assert queue(source="elsewhere")["totals"] == {"descriptions": 0, "labels": 0}
    by_label = queue(label="pii.email")
    assert by_label["totals"] == {"descriptions": 0, "labels": 2}
    assert queue(label="pii.phone")["totals"]["labels"] == 0
    first, second = queue(limit=5), queue(limit=5, offset=5)
    assert len(first["descriptions"]) == 5 and len(second["descriptions"]) == 3
    assert first["totals"] == second["totals"] == {"descriptions": 8, "labels": 2}
    assert {(d["dataset"], d["column"]) for d in first["descriptions"]}.isdisjoint(
        {(d["dataset"], d["column"]) for d in second["descriptions"]})
    bad = client.get("/api/v1/review", params={"kind": "columns"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "kind: Input should be 'descriptions' or 'labels' (not 'columns')"
    mixed = client.get("/api/v1/review", params={"kind": "descriptions", "label": "pii.email"})
    assert mixed.status_code == 400 and "label" in mixed.json()["error"]
    assert client.get("/api/v1/review", params={"limit": 0}).status_code == 400
    page = client.get("/review", params={"dataset": "notes", "kind": "labels"})
    assert page.status_code == 200 and "crm/main/contacts" not in page.text and "Labels only</option>" in page.text
    assert 'name="back" value="dataset=notes&amp;kind=labels"' in page.text
    assert "Descriptions <span" not in page.text, "the descriptions table is left out"
    assert client.get("/review", params={"kind": "columns"}).status_code == 400
    assert client.get("/review", params={"page": "x"}).status_code == 400
    empty = client.get("/review", params={"source": "elsewhere"}).text
    assert "No open suggestion matches these filters" in empty and 'href="/review">Clear the filters' in empty


def test_an_empty_queue_says_what_to_do(settings: Settings) -> None:
    html = TestClient(create_app(settings)).get("/review").text
    assert "No open suggestions. Run <code>catalog annotate</code>" in html and 'name="item"' not in html


def test_past_the_last_page_shows_the_last_page(client: TestClient) -> None:
    html = client.get("/review", params={"page": "7"}).text
    assert html.count('name="item"') == 10


def test_hostile_text_is_escaped_on_the_page(client: TestClient, crm: Settings) -> None:
    with session_scope(crm) as session:
        session.execute(update(Description).where(Description.column_name == "city").values(text=HOSTILE))
    html = client.get("/review").text
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    crafted = client.get("/review", params={"done": "<b>your account is locked</b>"}).text
    assert "account is locked" not in crafted and 'role="status"' not in crafted


def test_form_posts_need_this_sites_origin(client: TestClient, crm: Settings) -> None:
    before = _statuses(crm)
    form = {"decision": "accept", "item": [_key("description", CONTACTS, "")]}
    assert client.post("/review/decisions", data=form).status_code == 403
    assert client.post("/review/decisions", data=form, headers={"origin": "http://evil.example"}).status_code == 403
    edit = {"dataset": CONTACTS, "column": "", "text": "forged"}
    refused = client.post("/review/edit", data=edit)
    assert refused.status_code == 403 and "Origin" in refused.text
    assert _statuses(crm) == before
    nothing = client.post("/review/decisions", headers=ORIGIN, data={"decision": "accept", "back": "kind=labels"})
    assert nothing.status_code == 303 and nothing.headers["location"] == "/review?kind=labels&done=none"
    assert "Nothing was selected" in client.get(nothing.headers["location"]).text


# --- server mode ---------------------------------------------------------------------------------------------


@pytest.fixture
def governed(settings: Settings, actor: Actor, sqlite_source: Path) -> Settings:
    """Server mode; gil has no role, may manage `shop/main/customers` and only read `shop/main/orders`."""
    server = governed_catalog(settings, actor, sqlite_source, {"vic": ["viewer"], "ada": ["admin"]})
    annotate(server, actor)
    with session_scope(server) as session:
        add_user(session, actor, "gil", [], password=PASSWORD)
        add_grant(session, actor, "gil", "shop/main/customers", "manage", reason="steward of customers")
        add_grant(session, actor, "gil", "shop/main/orders", "read_metadata", reason="reads orders")
    return server


def _bearer(settings: Settings, user: str) -> TestClient:
    with session_scope(settings) as session:
        token = create_token(session, Actor.local(), user, days=1)["token"]
    return TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}, follow_redirects=False)


def test_people_see_only_what_they_may_read_and_decide_only_what_they_manage(governed: Settings) -> None:
    everything = _bearer(governed, "ada").get("/api/v1/review").json()
    seen_by_admin = {d["dataset"] for d in everything["descriptions"]}
    assert {"shop/main/customers", "shop/main/orders", "shop/main/select"} <= seen_by_admin
    gil = _bearer(governed, "gil")
    queue = gil.get("/api/v1/review").json()
    assert {d["dataset"] for d in queue["descriptions"] + queue["labels"]} == {"shop/main/customers",
                                                                               "shop/main/orders"}
    page = gil.get("/review")
    assert page.status_code == 200 and "shop/main/orders" in page.text and "shop/main/select" not in page.text
    viewer = _bearer(governed, "vic").get("/api/v1/review").json()
    assert viewer["totals"] == {"descriptions": 0, "labels": 0}, "discovering is not reading metadata"
    refused = gil.post("/api/v1/review/decisions", json={"decision": "accept", "items": [
        {"kind": "description", "dataset": "shop/main/customers"},
        {"kind": "description", "dataset": "shop/main/orders"}]})
    assert refused.status_code == 403 and "item 2" in refused.json()["error"]
    assert "may not manage dataset 'shop/main/orders'" in refused.json()["error"]
    hidden = gil.post("/review/decisions", headers=ORIGIN, data={
        "decision": "reject", "item": [_key("description", "shop/main/select", "")]})
    assert hidden.status_code == 403
    with session_scope(governed) as session:
        status = session.scalar(select(Description.status).join(Dataset, Dataset.id == Description.dataset_id)
                                .where(Dataset.name == "shop/main/customers", Description.column_name == ""))
    assert status == "suggested", "the refused batch changed nothing"
    allowed = gil.post("/review/decisions", headers=ORIGIN, data={
        "decision": "accept", "item": [_key("description", "shop/main/customers", "")]})
    assert allowed.status_code == 303 and allowed.headers["location"] == "/review?done=accepted+1"
    with session_scope(governed) as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "gil")))
    assert actions.count("description.accept") == 1, "the decision is audited once, by the owning service"


def test_rows_say_who_may_decide_them_and_mine_lists_only_those(governed: Settings) -> None:
    gil = _bearer(governed, "gil")
    queue = gil.get("/api/v1/review").json()
    decides = {(d["dataset"], d["can_decide"]) for d in queue["descriptions"] + queue["labels"]}
    assert decides == {("shop/main/customers", True), ("shop/main/orders", False)}
    mine = gil.get("/api/v1/review", params={"decidable_only": "true"}).json()
    assert {d["dataset"] for d in mine["descriptions"] + mine["labels"]} == {"shop/main/customers"}
    page = gil.get("/review").text
    orders_rows = [row for row in page.split("<tr>") if "shop/main/orders</a>" in row]
    assert orders_rows and all('name="item"' not in row and "read only" in row for row in orders_rows)
    assert all("/review/edit" not in row for row in orders_rows)
    only_mine = gil.get("/review", params={"mine": "1"}).text
    assert "shop/main/orders</a>" not in only_mine and "shop/main/customers</a>" in only_mine
    assert 'id="review-mine" name="mine" type="checkbox" value="1" checked' in only_mine


def test_a_signed_in_browser_needs_the_forms_csrf_token(governed: Settings) -> None:
    browser = TestClient(create_app(governed), follow_redirects=False)
    signed = browser.post("/login", data={"name": "gil", "password": PASSWORD, "next": "/review"}, headers=ORIGIN)
    assert signed.status_code == 303 and COOKIE in signed.headers["set-cookie"]
    html = browser.get("/review").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None and html.count('name="csrf_token"') >= 3  # both bulk forms and the edit forms
    form = {"decision": "accept", "item": [_key("description", "shop/main/customers", "")]}
    assert browser.post("/review/decisions", data=form, headers=ORIGIN).status_code == 403
    accepted = browser.post("/review/decisions", data={**form, "csrf_token": token.group(1)}, headers=ORIGIN)
    assert accepted.status_code == 303, accepted.text


# --- a real browser ------------------------------------------------------------------------------------------


def test_bulk_forms_work_in_a_browser_with_and_without_javascript(crm: Settings) -> None:
    """The checkboxes reach their table's form through the `form` attribute, which only a browser shows working;
    without JavaScript ticking and pressing a button is enough, with it the page script adds a select-all box."""
    from playwright import sync_api  # a test dependency: missing, the test fails rather than skips

    from tests.browser import launch, screenshot, serious_violations
    from tests.helpers import live_server

    with live_server(create_app(crm)) as url, sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            plain = browser.new_context(base_url=url, java_script_enabled=False).new_page()
            plain.goto("/review?kind=descriptions")
            for column in ("id", "email"):
                plain.get_by_label(f"Select the description of column {column} of {CONTACTS}").check()
            plain.get_by_role("button", name="Accept selected descriptions").first.click()
            plain.wait_for_url(re.compile(r".*done=accepted\+2$"))
            assert plain.get_by_role("status").inner_text() == "Accepted 2 suggestions."
            plain.locator("summary", has_text="Edit").first.click()
            plain.get_by_label("Your description of the dataset").first.fill("People we may write to.")
            plain.get_by_role("button", name=f"Save the description of dataset {CONTACTS}").click()
            plain.wait_for_url(re.compile(r".*done=edited\+1$"))
            screenshot(plain, "review-queue-no-javascript")
            scripted = browser.new_context(base_url=url).new_page()
            scripted.goto("/review?kind=labels")
            assert serious_violations(scripted) == []
            scripted.get_by_label("Select every label on this page").check()
            scripted.get_by_role("button", name="Reject selected labels").last.click()
            scripted.wait_for_url(re.compile(r".*done=rejected\+2$"))
        finally:
            browser.close()
    statuses = _statuses(crm)
    assert statuses[(CONTACTS, "id")] == statuses[(CONTACTS, "email")] == statuses[(CONTACTS, "")] == "accepted"
    assert statuses[(CONTACTS, "city")] == "suggested"
    with session_scope(crm) as session:
        assert review.suggestions(session, Actor.local(), kind="labels")["totals"]["labels"] == 0
