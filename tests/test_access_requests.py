"""Access requests and the access review (server mode): ask, decide, grant, expire, review, revoke, export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from catalog import stewardship
from catalog.access import Actor
from catalog.app import create_app
from catalog.db import session_scope
from catalog.models import AccessRequest, AuditEvent, Classification, Dataset, Grant, utcnow
from catalog.principals import add_grant, add_group, create_token, set_member, set_user
from catalog.settings import Settings
from tests.helpers import governed_catalog

FETCH = {"dataset": "team/scores", "version": "v1"}
WHY = "features for the churn model, quarterly refresh"
SAME_ORIGIN = {"Origin": "http://testserver"}
PASSWORD = "a long enough passphrase"


@pytest.fixture
def server(settings: Settings, actor: Actor, sqlite_source: Path) -> Settings:
    """A server-mode catalog: a crawled source, a published dataset owned by olga, and people in every role."""
    governed = governed_catalog(settings, actor, sqlite_source, {
        "ana": ["analyst"], "bob": [], "vic": ["viewer"], "ada": ["admin"], "nob": [], "stella": ["steward"],
        "olga": ["owner"]}, rows=50)
    with session_scope(settings) as session:
        add_group(session, actor, "risk", ["analyst"])
        set_member(session, actor, "risk", "bob", True)
        stewardship.change(session, actor, "team/scores", "owner", "olga", "add")
    return governed


def client_for(settings: Settings, user: str) -> TestClient:
    with session_scope(settings) as session:
        token = create_token(session, Actor.local(), user, days=30)["token"]
    return TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"})


def ask(client: TestClient, dataset: str = "team/scores", permission: str = "read_data", days: int = 7,
        justification: str = WHY) -> Any:
    return client.post("/api/v1/access-requests", json={"dataset": dataset, "permission": permission,
                                                        "days": days, "justification": justification})


def audit_lines(settings: Settings, prefix: str = "access.") -> list[tuple[str, str, str | None, dict[str, Any]]]:
    with session_scope(settings) as session:
        return [(e.actor, e.action, e.target, e.detail) for e in
                session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id))]


def test_an_owner_approves_and_the_data_opens_until_the_grant_expires(server: Settings) -> None:
    ana, olga = client_for(server, "ana"), client_for(server, "olga")
    assert ana.get("/api/v1/versions/data", params=FETCH).status_code == 403
    filed = ask(ana)
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["status"] == "pending" and request["mine"] and request["can_withdraw"]
    waiting = olga.get("/api/v1/access-requests", params={"status": "pending"}).json()["requests"]
    assert [(r["id"], r["can_decide"]) for r in waiting] == [(request["id"], True)]
    decided = olga.post(f"/api/v1/access-requests/{request['id']}/decision", json={"decision": "approve"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved" and decided.json()["decided_by"] == "olga"
    assert ana.get("/api/v1/versions/data", params=FETCH).status_code == 200
    with session_scope(server) as session:
        grant = session.get(Grant, decided.json()["grant_id"])
        assert grant is not None and (grant.principal, grant.target, grant.permission) == ("ana", "team/scores",
                                                                                             "read_data")
        assert grant.granted_by == "olga" and grant.request_id == request["id"] and grant.reason == WHY
        assert grant.expires_at is not None
        assert abs(grant.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
        session.execute(update(Grant).where(Grant.id == grant.id).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert ana.get("/api/v1/versions/data", params=FETCH).status_code == 403
    lines = audit_lines(server)
    assert ("ana", "access.request", "team/scores") in [line[:3] for line in lines]
    assert [line for line in lines if line[1] == "access.approve"] == [
        ("olga", "access.approve", "team/scores",
         {"request": request["id"], "requester": "ana", "permission": "read_data", "grant": grant.id})]


def test_a_steward_approves_and_is_named_as_the_decider(server: Settings) -> None:
    request = ask(client_for(server, "ana"), "shop/main/orders", "read_pii", days=3).json()
    decided = client_for(server, "stella").post(f"/api/v1/access-requests/{request['id']}/decision",
                                                json={"decision": "approve", "comment": "ok for q3"})
    assert decided.status_code == 200, decided.text
    with session_scope(server) as session:
        grant = session.get(Grant, decided.json()["grant_id"])
        row = session.get(AccessRequest, request["id"])
        assert grant is not None and grant.granted_by == "stella" and row is not None
        assert (row.decided_by, row.comment, row.grant_id) == ("stella", "ok for q3", grant.id)
    assert ("stella", "access.approve", "shop/main/orders") in [line[:3] for line in audit_lines(server)]
    assert client_for(server, "ana").get("/api/v1/datasets/shop/main/orders").status_code == 200


def test_a_denial_needs_a_comment_and_leaves_no_grant(server: Settings) -> None:
    request = ask(client_for(server, "ana")).json()
    olga = client_for(server, "olga")
    url = f"/api/v1/access-requests/{request['id']}/decision"
    refused = olga.post(url, json={"decision": "deny", "comment": "   "})
    assert refused.status_code == 400 and "comment" in refused.json()["error"]
    assert olga.post(url, json={"decision": "maybe"}).status_code == 400
    denied = olga.post(url, json={"decision": "deny", "comment": "use the aggregated table instead"})
    assert denied.status_code == 200 and denied.json()["status"] == "denied" and denied.json()["grant_id"] is None
    with session_scope(server) as session:
        assert session.scalars(select(Grant).where(Grant.principal == "ana")).all() == []
    again = olga.post(url, json={"decision": "approve"})
    assert again.status_code == 409 and "already denied" in again.json()["error"]
    assert ("olga", "access.deny", "team/scores") in [line[:3] for line in audit_lines(server)]
    mine = client_for(server, "ana").get("/api/v1/access-requests", params={"mine": "true"}).json()["requests"]
    assert mine[0]["comment"] == "use the aggregated table instead"


def test_nobody_decides_their_own_request(server: Settings) -> None:
    for who in ("stella", "olga", "ada"):
        client = client_for(server, who)
        request = ask(client, "shop/main/customers").json()
        refused = client.post(f"/api/v1/access-requests/{request['id']}/decision", json={"decision": "approve"})
        assert refused.status_code == 403 and "own" in refused.json()["error"]
    with session_scope(server) as session:
        assert session.scalars(select(Grant)).all() == []


def test_others_cannot_see_decide_or_withdraw_a_request(server: Settings) -> None:
    request = ask(client_for(server, "ana")).json()
    bob = client_for(server, "bob")
    base = f"/api/v1/access-requests/{request['id']}"
    missing = bob.get("/api/v1/access-requests/999999").json()["error"]
    for response in (bob.get(base), bob.post(f"{base}/withdraw"),
                     bob.post(f"{base}/decision", json={"decision": "approve"})):
        assert response.status_code == 404
        assert response.json()["error"] == missing.replace("999999", str(request["id"]))
    assert bob.get("/api/v1/access-requests").json()["requests"] == []
    assert client_for(server, "olga").post(f"{base}/withdraw").status_code == 403  # sees it, may not withdraw it
    withdrawn = client_for(server, "ana").post(f"{base}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert ("ana", "access.withdraw", "team/scores") in [line[:3] for line in audit_lines(server)]
    assert client_for(server, "ana").post(f"{base}/withdraw").status_code == 409


def test_one_pending_request_per_dataset_and_permission(server: Settings) -> None:
    ana = client_for(server, "ana")
    first = ask(ana).json()
    duplicate = ask(ana)
    assert duplicate.status_code == 409 and "already pending" in duplicate.json()["error"]
    assert ask(ana, permission="read_pii").status_code == 201  # another permission is another request
    ana.post(f"/api/v1/access-requests/{first['id']}/withdraw")
    assert ask(ana).status_code == 201


def test_a_hidden_dataset_answers_like_a_missing_one(server: Settings) -> None:
    nob = client_for(server, "nob")  # no role, no grant: discovers nothing
    hidden, missing = ask(nob, "shop/main/customers"), ask(nob, "shop/main/nothing-here")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"].replace("customers", "X") == missing.json()["error"].replace("nothing-here", "X")
    vic = client_for(server, "vic")
    assert ask(vic, "shop/main/customers").status_code == 201  # viewers discover everything
    for bad in ({"justification": "too short"}, {"days": 0}, {"days": 366}, {"permission": "manage"}):
        response = vic.post("/api/v1/access-requests", json={"dataset": "shop/main/orders", "permission": "read_data",
                                                             "days": 7, "justification": WHY, **bad})
        assert response.status_code == 400, bad


def test_an_analyst_cannot_decide_and_owners_decide_only_their_datasets(server: Settings) -> None:
    request = ask(client_for(server, "ana"), "shop/main/orders").json()
    url = f"/api/v1/access-requests/{request['id']}/decision"
    assert client_for(server, "bob").post(url, json={"decision": "approve"}).status_code == 404
    olga = client_for(server, "olga")  # owns team/scores, not shop/main/orders
    assert olga.post(url, json={"decision": "approve"}).status_code == 404
    assert olga.get("/api/v1/access-requests").json()["requests"] == []


def _annotate_shop(settings: Settings) -> None:
    """Label the customers' email column (`c_eml`) as personal data the real way: the classifier suggests it."""
    from catalog.annotate import annotate

    annotate(settings, Actor.local(), sources=["shop"], backend="none")
    with session_scope(settings) as session:
        labels = session.execute(select(Classification.column_name, Classification.label, Classification.status)
                                 .join(Dataset, Dataset.id == Classification.dataset_id)
                                 .where(Dataset.name == "shop/main/customers")).all()
    assert ("c_eml", "pii.email", "suggested") in labels


def _grants(settings: Settings) -> dict[str, int]:
    local = Actor.local()
    with session_scope(settings) as session:
        ids = {
            "group": add_grant(session, local, "risk", "shop/main/customers", "read_data", group=True)["id"],
            "user": add_grant(session, local, "ana", "shop/main/customers", "read_metadata", days=30)["id"],
            "prefix": add_grant(session, local, "vic", "shop/", "read_pii", days=30)["id"],
            "old": add_grant(session, local, "nob", "shop/main/customers", "read_metadata", days=300)["id"],
            "used": add_grant(session, local, "olga", "shop/main/customers", "read_metadata", days=300)["id"],
            "elsewhere": add_grant(session, local, "bob", "team/scores", "read_data", days=30)["id"],
        }
        long_ago = utcnow() - timedelta(days=200)
        session.execute(update(Grant).where(Grant.id.in_([ids["old"], ids["used"]])).values(granted_at=long_ago))
        session.execute(update(Grant).where(Grant.id == ids["used"])
                        .values(last_used_at=utcnow() - timedelta(days=10)))
    return ids


def test_the_review_shows_who_has_access_and_flags_risky_grants(server: Settings) -> None:
    _annotate_shop(server)
    ids = _grants(server)
    stella = client_for(server, "stella")
    review = stella.get("/api/v1/access-review", params={"dataset": "shop/main/customers"})
    assert review.status_code == 200, review.text
    body = review.json()
    assert body["pii"] is True
    flags = {g["id"]: g["flags"] for g in body["grants"]}
    assert ids["elsewhere"] not in flags
    assert flags[ids["group"]] == ["pii_broad", "no_expiry"]
    assert flags[ids["prefix"]] == ["pii_broad"]
    assert flags[ids["user"]] == [] and flags[ids["used"]] == [] and flags[ids["old"]] == ["unused"]
    group = next(g for g in body["grants"] if g["id"] == ids["group"])
    assert [m["user"] for m in group["members"]] == ["bob"]
    roles = {r["user"]: r["permissions"] for r in body["roles"]}
    assert roles["ana"] == ["discover", "read_metadata"] and "read_pii" in roles["ada"] and "nob" not in roles
    assert roles["bob"] == ["discover", "read_metadata"]  # through the risk group's analyst role
    scores = stella.get("/api/v1/access-review", params={"dataset": "team/scores"}).json()
    owners = [(o["owner"], o["user"], o["effective"]) for o in scores["owners"]]
    assert scores["pii"] is False and owners == [("local", None, False), ("olga", "olga", True)]  # local published
    assert [g["flags"] for g in scores["grants"]] == [[]]
    person = stella.get("/api/v1/access-review", params={"user": "bob"}).json()
    assert {g["id"]: g["via"] for g in person["grants"]} == {ids["group"]: "risk", ids["elsewhere"]: None}
    assert person["baseline"] == ["discover", "read_metadata"] and person["groups"] == ["risk"]
    assert client_for(server, "ana").get("/api/v1/access-review", params={"user": "bob"}).status_code == 403
    assert stella.get("/api/v1/access-review", params={"dataset": "shop/main/none"}).status_code == 404
    assert stella.get("/api/v1/access-review").status_code == 400


def test_revoking_from_the_review_works_and_is_audited(server: Settings) -> None:
    ids = _grants(server)
    assert client_for(server, "ana").post(f"/api/v1/grants/{ids['group']}/revoke").status_code == 404
    stella = client_for(server, "stella")
    page = stella.get("/access/review", params={"dataset": "shop/main/customers"})
    assert page.status_code == 200 and f'action="/access/grants/{ids["group"]}/revoke"' in page.text
    assert "no expiry" in page.text and "Download CSV" in page.text
    refused = stella.post(f"/access/grants/{ids['group']}/revoke", data={"dataset": "shop/main/customers"})
    assert refused.status_code == 403  # no Origin: not from our page
    done = stella.post(f"/access/grants/{ids['group']}/revoke", data={"dataset": "shop/main/customers"},
                       headers=SAME_ORIGIN, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/access/review?dataset=shop%2Fmain")
    assert ("stella", "grant.revoke", "shop/main/customers", {"grant": ids["group"]}) in audit_lines(server, "grant.")
    review = stella.get("/api/v1/access-review", params={"dataset": "shop/main/customers"}).json()
    assert ids["group"] not in {g["id"] for g in review["grants"]}
    api = stella.post(f"/api/v1/grants/{ids['prefix']}/revoke")
    assert api.status_code == 200 and api.json()["state"] == "revoked" and api.json()["revoked_by"] == "stella"
    listed = stella.get("/api/v1/grants", params={"include_inactive": "true"}).json()["grants"]
    assert {g["id"]: g["state"] for g in listed}[ids["prefix"]] == "revoked"


def test_the_csv_export_lists_every_way_in_and_guards_formulas(server: Settings) -> None:
    evil = '=HYPERLINK("http://evil.example","click") needed for the quarterly churn model'
    request = ask(client_for(server, "ana"), "shop/main/customers", justification=evil).json()
    stella = client_for(server, "stella")
    stella.post(f"/api/v1/access-requests/{request['id']}/decision", json={"decision": "approve"})
    exported = stella.get("/api/v1/access-review", params={"dataset": "shop/main/customers", "format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    granted = [r for r in rows if r["how"] == "grant"]
    assert [(r["user"], r["permission"], r["request_id"]) for r in granted] == [("ana", "read_data",
                                                                                 str(request["id"]))]
    assert granted[0]["reason"].startswith("'=HYPERLINK") and granted[0]["flags"] == ""
    assert {r["user"] for r in rows if r["how"] == "role"} >= {"ana", "ada", "bob", "stella"}
    page_csv = stella.get("/access/review/export", params={"user": "ana"})
    assert page_csv.status_code == 200 and page_csv.text.splitlines()[0].startswith("subject,user,how,via")
    assert "'=HYPERLINK" in page_csv.text


def test_the_access_page_files_and_decides_requests_from_forms(server: Settings) -> None:
    ana, olga = client_for(server, "ana"), client_for(server, "olga")
    page = ana.get("/access", params={"dataset": "team/scores"})
    assert page.status_code == 200 and 'value="team/scores"' in page.text and 'name="justification"' in page.text
    form = {"dataset": "team/scores", "permission": "read_data", "days": "5", "justification": WHY}
    assert ana.post("/access/requests", data=form).status_code == 403  # no Origin
    filed = ana.post("/access/requests", data=form, headers=SAME_ORIGIN, follow_redirects=False)
    assert filed.status_code == 303 and filed.headers["location"] == "/access#mine"
    request_id = client_for(server, "ana").get("/api/v1/access-requests").json()["requests"][0]["id"]
    assert f"/access/requests/{request_id}/withdraw" in ana.get("/access").text
    owner_page = olga.get("/access").text
    assert f"/access/requests/{request_id}/decision" in owner_page and WHY in owner_page
    denied = olga.post(f"/access/requests/{request_id}/decision", data={"decision": "deny"}, headers=SAME_ORIGIN)
    assert denied.status_code == 400
    approved = olga.post(f"/access/requests/{request_id}/decision", data={"decision": "approve"},
                         headers=SAME_ORIGIN, follow_redirects=False)
    assert approved.status_code == 303
    assert ana.get("/api/v1/versions/data", params=FETCH).status_code == 200
    assert ana.get("/access/review").status_code == 403  # the review is for stewards


def test_pages_escape_what_people_typed(server: Settings) -> None:
    hostile = "<script>alert(1)</script> needed for the quarterly review"
    request = ask(client_for(server, "ana"), justification=hostile).json()
    text = client_for(server, "olga").get("/access").text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text
    assert str(request["id"]) in text


def test_a_signed_in_browser_posts_the_forms_with_its_csrf_token(server: Settings) -> None:
    with session_scope(server) as session:
        set_user(session, Actor.local(), "ana", password=PASSWORD)
    browser = TestClient(create_app(server), follow_redirects=False)
    assert browser.post("/login", data={"name": "ana", "password": PASSWORD, "next": "/access"},
                        headers=SAME_ORIGIN).status_code == 303
    page = browser.get("/access")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert page.status_code == 200 and token is not None
    form = {"dataset": "team/scores", "permission": "read_data", "days": "5", "justification": WHY}
    assert browser.post("/access/requests", data=form, headers=SAME_ORIGIN).status_code == 403  # no token
    filed = browser.post("/access/requests", data={**form, "csrf_token": token.group(1)}, headers=SAME_ORIGIN)
    assert filed.status_code == 303
    assert [r["target"] for r in client_for(server, "ana").get("/api/v1/access-requests").json()["requests"]] == [
        "team/scores"]


def test_the_access_page_works_in_an_embedded_catalog(settings: Settings) -> None:
    page = TestClient(create_app(settings)).get("/access")
    assert page.status_code == 200 and "server mode" in page.text


def test_the_database_keeps_one_pending_request_per_person_dataset_and_permission(settings: Settings) -> None:
    def row(status: str) -> AccessRequest:
        return AccessRequest(requester="ana", target="team/scores", permission="read_data",
                             justification="twenty characters or more", days=7, status=status)

    with session_scope(settings) as session:
        session.add_all([row("denied"), row("denied"), row("pending")])  # closed ones may repeat
    with pytest.raises(IntegrityError), session_scope(settings) as session:
        session.add(row("pending"))
