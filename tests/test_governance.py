"""Server mode: tokens, roles and grants through one `can()`, the append-only audit log, and refusals."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from catalog.access import Actor
from catalog.app import create_app
from catalog.auth import hash_password, verify_password
from catalog.cli import app as cli_app
from catalog.db import session_scope
from catalog.errors import InvalidInput
from catalog.models import ApiToken, AuditEvent, Grant, utcnow
from catalog.principals import add_grant, add_user, create_token
from catalog.publish import PublishOptions, publish
from catalog.serve import check_server_secrets
from catalog.settings import Settings
from tests.helpers import crawl, governed_catalog, register


@pytest.fixture
def server(settings: Settings, actor: Actor, sqlite_source: Path) -> Settings:
    """A server-mode catalog with a crawled source, one published dataset and four users."""
    return governed_catalog(settings, actor, sqlite_source,
                            {"ana": ["analyst"], "vic": ["viewer"], "ada": ["admin"], "nob": []})


def token_for(settings: Settings, user: str) -> str:
    with session_scope(settings) as session:
        return create_token(session, Actor.local(), user, days=30)["token"]


def client_for(settings: Settings, user: str | None) -> TestClient:
    headers = {"Authorization": f"Bearer {token_for(settings, user)}"} if user else {}
    return TestClient(create_app(settings), headers=headers)


def test_passwords_are_scrypt_hashed_and_checked_in_constant_time() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterx", stored)
    assert not verify_password("anything", "garbage") and not verify_password("anything", None)
    assert hash_password("correct horse battery") != stored  # salted
    with pytest.raises(InvalidInput, match="at least 12"):
        hash_password("short")


def test_no_credentials_or_bad_tokens_are_refused_with_401(server: Settings) -> None:
    anonymous = client_for(server, None)
    response = anonymous.get("/api/v1/datasets")
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.get("/healthz").status_code == 200
    bad = anonymous.get("/api/v1/datasets", headers={"Authorization": "Bearer cat_not-a-real-token"})
    assert bad.status_code == 401 and "unknown, expired or revoked" in bad.json()["error"]
    page = anonymous.get("/datasets", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")  # pages: sign in


def test_tokens_are_stored_hashed_expire_and_can_be_revoked(server: Settings) -> None:
    raw = token_for(server, "ana")
    with session_scope(server) as session:
        row = session.scalar(select(ApiToken).order_by(ApiToken.id.desc()).limit(1))
        assert row is not None and raw not in json.dumps([row.token_hash, row.prefix]) and raw.startswith(row.prefix)
        assert raw not in json.dumps([e.detail for e in session.scalars(select(AuditEvent))])
    api = TestClient(create_app(server), headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/datasets").status_code == 200
    with session_scope(server) as session:
        session.execute(update(ApiToken).where(ApiToken.id == row.id)
                        .values(expires_at=row.created_at - timedelta(seconds=1)))
    assert api.get("/api/v1/datasets").status_code == 401
    second = token_for(server, "ana")
    api = TestClient(create_app(server), headers={"Authorization": f"Bearer {second}"})
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CATALOG_HOME", str(server.home))
        listed = json.loads(runner.invoke(cli_app, ["token", "list", "ana", "--json"]).stdout)["tokens"]
        assert second not in json.dumps(listed) and [t["state"] for t in listed] == ["expired", "active"]
        assert runner.invoke(cli_app, ["token", "revoke", str(listed[1]["id"])]).exit_code == 0
    assert api.get("/api/v1/datasets").status_code == 401


def test_roles_give_a_baseline_and_only_grants_open_data(server: Settings) -> None:
    viewer, analyst, nobody = client_for(server, "vic"), client_for(server, "ana"), client_for(server, "nob")
    names = {d["name"] for d in viewer.get("/api/v1/datasets").json()["datasets"]}
    assert "team/scores" in names and "shop/main/customers" in names  # viewers discover everything
    assert viewer.get("/api/v1/datasets/shop/main/customers").status_code == 403
    assert analyst.get("/api/v1/datasets/shop/main/customers").status_code == 200
    assert nobody.get("/api/v1/datasets").json()["datasets"] == []  # no role, no grant: sees nothing
    fetch = {"dataset": "team/scores", "version": "v1"}
    assert analyst.get("/api/v1/versions/data", params=fetch).status_code == 403
    with session_scope(server) as session:
        add_grant(session, Actor.local(), "ana", "team/", "read_data", days=7, reason="churn model features")
        add_grant(session, Actor.local(), "nob", "shop/main/orders", "read_metadata")
    granted = client_for(server, "ana")
    assert granted.get("/api/v1/versions/data", params=fetch).status_code == 200
    with session_scope(server) as session:
        used = session.scalar(select(Grant.last_used_at).where(Grant.principal == "ana"))
        assert used is not None  # the access review's "last used"
    only = {d["name"] for d in client_for(server, "nob").get("/api/v1/datasets").json()["datasets"]}
    assert only == {"shop/main/orders"}  # the SQL filter follows the grant exactly
    with session_scope(server) as session:
        session.execute(update(Grant).where(Grant.principal == "ana")
                        .values(expires_at=utcnow() - timedelta(days=1)))
    assert client_for(server, "ana").get("/api/v1/versions/data", params=fetch).status_code == 403


def test_the_audit_log_records_fetches_and_changes_and_refuses_edits(server: Settings,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    raw = token_for(server, "ada")
    admin = TestClient(create_app(server), headers={"Authorization": f"Bearer {raw}"})
    assert admin.get("/api/v1/versions/data", params={"dataset": "team/scores", "version": "v1"}).status_code == 200
    with session_scope(server) as session:
        lines = [(e.actor, e.action, e.target) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert ("local", "version.publish", "team/scores@v1") in lines
    assert ("local", "token.create", "ada") in lines and ("ada", "version.fetch", "team/scores@v1") in lines
    assert raw not in caplog.text
    engine = create_engine(server.database_url)
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_log SET actor = 'someone else'"))
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_log"))
    engine.dispose()
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CATALOG_HOME", str(server.home))
        exported = runner.invoke(cli_app, ["audit", "export", "--format", "csv", "--action", "version.fetch"])
    assert exported.exit_code == 0 and exported.stdout.splitlines()[0].startswith("id,at,actor,action")
    assert "ada,version.fetch,team/scores@v1" in exported.stdout


def test_the_audit_log_is_append_only_on_postgres(pg_store: Settings) -> None:
    with session_scope(pg_store) as session:
        add_user(session, Actor.local(), "ana", ["analyst"])
    engine = create_engine(pg_store.database_url)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
    engine.dispose()


def test_server_mode_refuses_weak_secrets(server: Settings) -> None:
    check_server_secrets(server)
    for weak in (None, "change-me", "short", "a" * 40):
        with pytest.raises(InvalidInput, match="CATALOG_SECRET_KEY"):
            check_server_secrets(dataclasses.replace(server, secret_key=weak))


def test_grants_need_the_right_to_give_them(server: Settings) -> None:
    with session_scope(server) as session:
        from catalog.auth import actor_for
        from catalog.principals import find_user

        analyst = actor_for(session, find_user(session, "ana"))
        with pytest.raises(Exception, match="may not"):
            add_grant(session, analyst, "nob", "team/scores", "read_data")
        with pytest.raises(Exception, match="may not"):
            add_grant(session, analyst, "nob", "team/", "read_data")
        with pytest.raises(InvalidInput, match="permission"):
            add_grant(session, Actor.local(), "nob", "team/scores", "fly")


def test_personal_data_needs_read_pii_for_bytes_and_sampled_values(server: Settings, actor: Actor) -> None:
    from catalog.annotate import annotate

    people = pa.table({"user_id": np.arange(300), "email": [f"user{i}@example.com" for i in range(300)]})
    publish(server, actor, "team/users", data=people,
            options=PublishOptions(allow_pii={"email": "needed to join the CRM export, deleted after 30 days"}))
    annotate(server, actor, sources=["shop"])
    with session_scope(server) as session:
        add_grant(session, Actor.local(), "ana", "team/", "read_data")
        add_grant(session, Actor.local(), "ana", "shop/", "read_data")
    analyst = client_for(server, "ana")
    refused = analyst.get("/api/v1/versions/data", params={"dataset": "team/users", "version": "v1"})
    assert refused.status_code == 403 and "read_pii" in refused.json()["error"]
    columns = {c["name"]: c for c in analyst.get("/api/v1/datasets/shop/main/customers").json()["columns"]}
    assert "pii.email" in columns["c_eml"]["classifications"]
    assert "examples" not in (columns["c_eml"]["profile"] or {})  # labelled personal data: no samples
    assert any("examples" in (c["profile"] or {}) for c in columns.values())  # other columns keep theirs
    with session_scope(server) as session:
        add_grant(session, Actor.local(), "ana", "team/users", "read_pii", days=1)
        add_grant(session, Actor.local(), "ana", "shop/main/customers", "read_pii", days=1)
    analyst = client_for(server, "ana")
    assert analyst.get("/api/v1/versions/data", params={"dataset": "team/users", "version": "v1"}).status_code == 200
    columns = {c["name"]: c for c in analyst.get("/api/v1/datasets/shop/main/customers").json()["columns"]}
    assert columns["c_eml"]["profile"]["examples"]  # masked examples, now visible


def test_label_description_and_owner_edits_are_audited(settings: Settings, actor: Actor,
                                                       sqlite_source: Path) -> None:
    from catalog import classifications, descriptions, stewardship

    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    with session_scope(settings) as session:
        classifications.decide(session, actor, "shop/main/customers", "c_eml", "pii.email", "confirm", "checked")
        descriptions.decide(session, actor, "shop/main/customers", "c_eml", "edit", "Customer e-mail address")
        stewardship.change(session, actor, "shop/main/customers", "owner", "team-crm", "add")
    with session_scope(settings) as session:
        lines = {(e.action, e.target) for e in session.scalars(select(AuditEvent))}
    assert {("label.confirm", "shop/main/customers#c_eml"), ("description.edit", "shop/main/customers#c_eml"),
            ("owner.add", "shop/main/customers")} <= lines


def test_the_cli_in_server_mode_acts_as_the_token_user(settings: Settings, monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    monkeypatch.setenv("CATALOG_HOME", str(settings.home))
    monkeypatch.setenv("CATALOG_MODE", "server")
    runner = CliRunner()
    assert runner.invoke(cli_app, ["user", "add", "root", "--role", "admin"]).exit_code == 0  # bootstrap
    refused = runner.invoke(cli_app, ["user", "list"])  # an admin exists now: a token is required
    assert refused.exit_code == 1 and "CATALOG_TOKEN" in refused.stderr
    with session_scope(settings) as session:
        monkeypatch.setenv("CATALOG_TOKEN", create_token(session, Actor.local(), "root")["token"])
    assert runner.invoke(cli_app, ["user", "add", "ana", "--role", "analyst"]).exit_code == 0
    with session_scope(settings) as session:
        analyst_token = create_token(session, Actor.local(), "ana")["token"]
    monkeypatch.setenv("CATALOG_TOKEN", analyst_token)
    denied = runner.invoke(cli_app, ["user", "list"])
    assert denied.exit_code == 1 and "ana may not admin" in denied.stderr
    assert runner.invoke(cli_app, ["models", "--json"]).exit_code == 0
    monkeypatch.setenv("CATALOG_TOKEN", "cat_forged")
    assert "unknown, expired or revoked" in runner.invoke(cli_app, ["models"]).stderr
