"""Web login in server mode: redirects, one message for wrong names and passwords, fresh sessions (no
fixation), cookie flags, CSRF tokens on every form post, safe `next`, sign-out."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from catalog.access import Actor
from catalog.app import create_app
from catalog.db import session_scope
from catalog.models import AuditEvent
from catalog.principals import add_user, set_user
from catalog.settings import Settings
from catalog.web_auth import COOKIE
from tests.helpers import server_mode

PASSWORD = "a long enough passphrase"
ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def server(settings: Settings) -> Settings:
    with session_scope(settings) as session:
        add_user(session, Actor.local(), "ana", ["analyst"], password=PASSWORD)
    return server_mode(settings)


def browser(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), follow_redirects=False)


def sign_in(client: TestClient, name: str = "ana", password: str = PASSWORD, next_path: str = "/datasets"):
    return client.post("/login", data={"name": name, "password": password, "next": next_path}, headers=ORIGIN)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "the page carries no CSRF token"
    return match.group(1)


def test_pages_send_strangers_to_the_login_page_and_back(server: Settings) -> None:
    client = browser(server)
    first = client.get("/datasets?page=2")
    assert first.status_code == 303 and first.headers["location"] == "/login?next=%2Fdatasets%3Fpage%3D2"
    assert client.get("/api/v1/datasets").status_code == 401  # the API answers, it does not redirect
    assert client.get("/login").status_code == 200
    done = sign_in(client, next_path="/datasets?page=2")
    assert done.status_code == 303 and done.headers["location"] == "/datasets?page=2"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and PASSWORD not in cookie
    page = client.get("/datasets")
    assert page.status_code == 200 and "Sign out" in page.text and ">ana<" in page.text


def test_wrong_names_and_passwords_get_one_answer_and_are_audited(server: Settings) -> None:
    client = browser(server)
    wrong = sign_in(client, password="not the passphrase")
    unknown = sign_in(client, name="nobody")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong name or password" in wrong.text and "Wrong name or password" in unknown.text
    assert COOKIE not in wrong.headers.get("set-cookie", "")
    with session_scope(server) as session:
        failed = list(session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "login.failed")))
    assert failed == ["ana", "nobody"]


def test_a_planted_session_value_is_never_promoted(server: Settings) -> None:
    client = browser(server)
    client.cookies.set(COOKIE, "value-chosen-by-an-attacker")
    issued = sign_in(client).headers["set-cookie"]
    assert issued.startswith(f"{COOKIE}=") and "value-chosen-by-an-attacker" not in issued
    attacker = browser(server)
    attacker.cookies.set(COOKIE, "value-chosen-by-an-attacker")
    assert attacker.get("/datasets").status_code == 303


def test_form_posts_need_the_session_csrf_token(server: Settings) -> None:
    client = browser(server)
    sign_in(client)
    token = csrf_of(client.get("/datasets").text)
    forged = client.post("/logout", headers=ORIGIN)
    assert forged.status_code == 403 and "stale" in forged.text
    wrong = client.post("/logout", data={"csrf_token": token[:-2] + "xx"}, headers=ORIGIN)
    assert wrong.status_code == 403
    other = browser(server)
    sign_in(other)
    assert csrf_of(other.get("/datasets").text) != token  # one token per session
    out = client.post("/logout", data={"csrf_token": token}, headers=ORIGIN)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/datasets").status_code == 303  # signed out
    assert other.get("/datasets").status_code == 200  # the other session is untouched


def test_next_never_leaves_the_site_and_disabled_users_are_signed_out(server: Settings) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        assert sign_in(browser(server), next_path=target).headers["location"] == "/"
    client = browser(server)
    sign_in(client)
    with session_scope(server) as session:
        set_user(session, Actor.local(), "ana", disabled=True)
    assert client.get("/datasets").status_code == 303
    assert sign_in(browser(server)).status_code == 401


def test_an_sso_proxy_is_believed_only_with_its_shared_secret(server: Settings) -> None:
    from catalog.errors import InvalidInput
    from catalog.serve import check_server_secrets

    secret = "proxy-secret-" + "s3cr3t" * 6
    proxied = dataclasses.replace(server, trusted_header="x-forwarded-user", trusted_proxy_secret=secret)
    client = browser(proxied)
    vouched = client.get("/api/v1/datasets", headers={"X-Forwarded-User": "ana", "X-Catalog-Proxy-Secret": secret})
    assert vouched.status_code == 200
    forged = client.get("/api/v1/datasets", headers={"X-Forwarded-User": "ana", "X-Catalog-Proxy-Secret": "guess"})
    assert forged.status_code == 401
    assert client.get("/api/v1/datasets", headers={"X-Forwarded-User": "ana"}).status_code == 401
    stranger = client.get("/api/v1/datasets", headers={"X-Forwarded-User": "eve", "X-Catalog-Proxy-Secret": secret})
    assert stranger.status_code == 401 and "no active account" in stranger.json()["error"]
    with pytest.raises(InvalidInput, match="CATALOG_TRUSTED_PROXY_SECRET"):
        check_server_secrets(dataclasses.replace(proxied, trusted_proxy_secret="short"))


def test_a_browser_session_reads_the_api_but_cannot_write_through_it(server: Settings) -> None:
    client = browser(server)
    sign_in(client)
    assert client.get("/api/v1/datasets").status_code == 200
    write = client.post("/api/v1/tags", json={"dataset": "x/y", "value": "t", "action": "add"}, headers=ORIGIN)
    assert write.status_code == 401
