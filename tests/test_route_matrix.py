"""The route x role matrix (issue 9): every route of a server-mode catalog against every role, allowed or denied.

`POLICY` says, for each `(METHOD, path)` the app serves, what each role gets: `ALLOW` (a 2xx, or a 3xx that is not
the sign-in redirect) or the exact refusal (403, or 404 where the code hides that something exists). It is
written from the documented intent (README "Access control and audit", the `catalog.policy` docstring), not
from what the code happens to answer; a pair where the two disagree is listed in `DISCREPANCIES` and runs as a
strict xfail naming the gap. `REQUESTS` gives each route one concrete request; `VARIANTS` adds a second request
to a few routes for rules one request cannot show (withdrawing one's own request, an owner on a dataset they do
not own, replayed lineage events, the graph around a run).

A route the app serves but `POLICY` does not list fails `test_every_route_has_a_policy_and_a_request` (a new
route ships only with its row here), and so does a row for a route the app no longer serves. Every route also
answers a caller without credentials with 401 (API) or a 303 to /login (pages).

One catalog serves the whole module: a crawled SQLite source, `team/scores` published in two versions and owned
by olga, a run that trained model `churn` on v1, and one user (with a bearer token) per role. Reads run before
writes, and every write acts on a target of its own role (its own access request to decide or withdraw, its
own grant to revoke) or is idempotent (republishing v2's bytes is "unchanged"), so the cases stay independent.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from catalog import access_requests, stewardship
from catalog.access import Actor
from catalog.app import create_app
from catalog.auth import actor_for
from catalog.client import Client
from catalog.db import migrate, session_scope
from catalog.models import Classification, Dataset, Description
from catalog.openlineage import ingest
from catalog.principals import add_grant, add_user, create_token, find_user
from catalog.publish import publish
from catalog.settings import Settings, load_settings
from catalog.versions import get_suite
from tests.helpers import crawl, register

ALLOW = "allow"
Expected = str | int  # ALLOW, or the exact refusal status
ROLES = ("viewer", "analyst", "publisher", "owner", "steward", "admin", "none")
USERS = {"viewer": "vic", "analyst": "ana", "publisher": "pat", "owner": "olga", "steward": "stella",
         "admin": "ada", "none": "nob"}
DATASET = "team/scores"  # published (v1, v2), owned by olga
SOURCE = "shop"
MODEL = "churn"
RUN = "matrix-train-1"
SAME_ORIGIN = {"Origin": "http://testserver"}  # form posts are refused without it, bearer or not
WHY = "quarterly churn features for the matrix test"
OPEN = {("GET", "/healthz"), ("GET", "/api/openapi.json"), ("GET", "/login"), ("POST", "/login")}
OPEN_PREFIXES = ("/static",)
SECRET = "x" * 8 + "0123456789abcdefghijklmnopqrstuv"


def only(*allowed: str, deny: int = 403) -> dict[str, Expected]:
    """Every role: `ALLOW` for `allowed`, the refusal `deny` for the others."""
    unknown = set(allowed) - set(ROLES)
    assert not unknown, unknown
    return {role: ALLOW if role in allowed else deny for role in ROLES}


# Who gets what, in the words of the documentation:
EVERYONE = only(*ROLES)  # signed in; listings filter rows by the same rules ("no role sees nothing" = empty)
METADATA = only("analyst", "publisher", "owner", "steward", "admin")  # read_metadata on every dataset/model
DATA = only("owner", "admin")  # read_data comes from grants, ownership or admin, never from a role
MANAGE = only("owner", "admin")  # owners manage the datasets listing them; admins everything
PUBLISH = only("publisher", "owner", "admin")  # publishers on every dataset, owners on theirs
RECORD_LINEAGE = only("publisher", "admin")
REVIEW = only("steward", "admin")  # the access review is for stewards (and admins)
ADMIN = only("admin")  # catalog-wide management (the drift watch)
DISCOVER_DATASET = only("viewer", "analyst", "publisher", "owner", "steward", "admin", deny=404)  # ask for access
DECIDE = only("owner", "steward", "admin", deny=404)  # another's request: owners of its dataset, stewards, admins
REVOKE = only("owner", "steward", "admin", deny=404)  # a grant: stewards any, owners on their datasets
SEE_REQUEST = only("owner", "steward", "admin", deny=404)  # another's request: hidden unless you may decide it
WITHDRAW_OTHERS = {**only(deny=404), "owner": 403, "steward": 403, "admin": 403}  # only the requester withdraws

POLICY: dict[tuple[str, str], dict[str, Expected]] = {
    # JSON API: catalog, datasets, labels, descriptions, stewardship
    ("GET", "/api/v1/search"): EVERYONE,
    ("GET", "/api/v1/sources"): EVERYONE,
    ("GET", "/api/v1/sources/{name}"): EVERYONE,  # `discover` on the catalog and its sources is every user's
    ("GET", "/api/v1/datasets"): EVERYONE,
    ("GET", "/api/v1/usage"): EVERYONE,  # a ranking filtered to what the caller may discover
    ("GET", "/api/v1/access/dataset"): only("viewer", "analyst", "publisher", "owner", "steward", "admin", deny=404),
    ("GET", "/api/v1/datasets/{name:path}"): METADATA,
    ("GET", "/api/v1/classifications"): EVERYONE,
    ("POST", "/api/v1/classifications"): MANAGE,
    ("POST", "/api/v1/descriptions"): MANAGE,
    ("POST", "/api/v1/descriptions/accept-all"): MANAGE,
    ("GET", "/api/v1/review"): EVERYONE,  # a listing: rows need read_metadata on their dataset (the SQL filter)
    ("POST", "/api/v1/review/decisions"): MANAGE,  # descriptions.decide / classifications.decide need manage
    ("POST", "/api/v1/tags"): MANAGE,
    ("POST", "/api/v1/owners"): MANAGE,
    # versions
    ("GET", "/api/v1/versions"): METADATA,
    ("GET", "/api/v1/versions/resolve"): METADATA,
    ("GET", "/api/v1/versions/data"): DATA,
    ("GET", "/api/v1/versions/diff"): DATA,
    ("POST", "/api/v1/versions"): PUBLISH,
    ("GET", "/api/v1/suites"): METADATA,
    ("PUT", "/api/v1/suites"): MANAGE,
    ("POST", "/api/v1/suites/reset"): MANAGE,
    ("GET", "/api/v1/recipes"): METADATA,
    ("PUT", "/api/v1/recipes"): DATA,  # publish on DATASET and read_data on its source (DATASET itself here)
    ("GET", "/api/v1/recipes/suggest"): METADATA,  # built from the source's labels: metadata
    ("POST", "/api/v1/versions/from-dataset"): DATA,  # publish on DATASET and read_data on the source (DATASET)
    # lineage
    ("POST", "/api/v1/lineage"): RECORD_LINEAGE,
    ("POST", "/api/v1/runs"): RECORD_LINEAGE,
    ("GET", "/api/v1/runs"): METADATA,  # lineage is metadata (policy docstring: analyst reads "lineage")
    ("GET", "/api/v1/models"): EVERYONE,
    ("GET", "/api/v1/models/detail"): METADATA,
    ("GET", "/api/v1/lineage/graph"): METADATA,
    ("GET", "/api/v1/lineage/impact"): METADATA,
    ("POST", "/api/v1/lineage/dvc"): RECORD_LINEAGE,
    ("POST", "/api/v1/watch"): ADMIN,
    # governance
    ("POST", "/api/v1/access-requests"): DISCOVER_DATASET,
    ("GET", "/api/v1/access-requests"): EVERYONE,
    ("GET", "/api/v1/access-requests/{request_id}"): SEE_REQUEST,
    ("POST", "/api/v1/access-requests/{request_id}/decision"): DECIDE,
    ("POST", "/api/v1/access-requests/{request_id}/withdraw"): WITHDRAW_OTHERS,
    ("GET", "/api/v1/access-review"): REVIEW,
    ("GET", "/api/v1/grants"): EVERYONE,
    ("POST", "/api/v1/grants/{grant_id}/revoke"): REVOKE,
    # pages
    ("POST", "/logout"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("GET", "/datasets"): EVERYONE,
    ("GET", "/datasets/{name:path}"): METADATA,
    ("POST", "/labels"): MANAGE,
    ("GET", "/search"): EVERYONE,
    ("GET", "/sources"): EVERYONE,
    ("GET", "/sources/{name}"): EVERYONE,
    ("POST", "/descriptions"): MANAGE,
    ("POST", "/descriptions/accept-all"): MANAGE,
    ("GET", "/review"): EVERYONE,
    ("POST", "/review/decisions"): MANAGE,
    ("POST", "/review/edit"): MANAGE,
    ("GET", "/versions"): METADATA,
    ("GET", "/versions/all"): METADATA,
    ("GET", "/versions/diff"): DATA,
    ("GET", "/suites"): METADATA,
    ("POST", "/suites"): MANAGE,
    ("POST", "/suites/reset"): MANAGE,
    ("GET", "/publish"): PUBLISH,  # the form: for whoever may publish somewhere (an owner on the datasets they own)
    ("POST", "/publish"): PUBLISH,
    ("GET", "/recipes"): METADATA,  # the stored recipe (and a suggestion from DATASET's labels): metadata
    ("POST", "/recipes"): only("owner", "admin"),  # publish on DATASET and read_data on its source (DATASET)
    ("GET", "/lineage"): METADATA,
    ("GET", "/models"): EVERYONE,
    ("GET", "/models/detail"): METADATA,
    ("GET", "/runs"): METADATA,
    ("GET", "/access"): EVERYONE,
    ("POST", "/access/requests"): DISCOVER_DATASET,
    ("POST", "/access/requests/{request_id}/decision"): DECIDE,
    ("POST", "/access/requests/{request_id}/withdraw"): WITHDRAW_OTHERS,
    ("GET", "/access/review"): REVIEW,
    ("GET", "/access/review/export"): REVIEW,
    ("POST", "/access/grants/{grant_id}/revoke"): REVOKE,
}

# Pairs where the code disagrees with the documented intent: (method, path, role) -> what happens instead.
# Empty: the gaps this matrix found (runs served to viewers, OpenLineage answering "duplicate" before checking
# record_lineage) were fixed; a new gap goes here as a strict xfail naming it.
DISCREPANCIES: dict[tuple[str, str, str], str] = {}


@dataclass
class Call:
    """One concrete request: `path` is the URL path with any path parameters filled in."""

    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    """The module's catalog and what the requests point at."""

    settings: Settings
    client: TestClient
    tokens: dict[str, str]
    shared_request: int  # filed by rita: others may see it only if they may decide it
    requests: dict[str, dict[str, int]]  # purpose -> role -> a pending request of someone else, for that role
    grants: dict[str, dict[str, int]]  # purpose -> role -> an active grant on DATASET, for that role to revoke
    own: dict[str, dict[str, int]]  # purpose -> role -> a pending request the role's user filed
    suite: dict[str, Any]
    v2_parquet: bytes

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


DVC_LOCK = """schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data/features.parquet
      md5: 0123456789abcdef0123456789abcdef
    outs:
    - path: model.bin
      md5: fedcba9876543210fedcba9876543210
"""


def _event(role: str) -> dict[str, Any]:
    return {"eventType": "COMPLETE", "eventTime": "2026-11-21T10:00:00+00:00", "producer": "tests/route-matrix",
            "run": {"runId": f"matrix-ol-{role}"}, "job": {"namespace": "matrix", "name": f"ol-job-{role}"}}


def _page_form(path: str, **values: Any) -> Call:
    return Call(path, data=values, headers=dict(SAME_ORIGIN))


def _page_upload(path: str, file: tuple[str, bytes], **values: Any) -> Call:
    """A multipart form post as a browser sends it (text fields, then the file), encoded by httpx."""
    import httpx

    encoded = httpx.Request("POST", f"http://testserver{path}", data=values, files={"file": file})
    return Call(path, content=encoded.read(),
                headers={**SAME_ORIGIN, "Content-Type": encoded.headers["content-type"]})


KEEP_ALL = "version: 1\ndefault: keep\ncolumns: {}\n"  # a recipe that changes nothing: publishes stay "unchanged"
REVIEW_LABEL = "pii.iban"  # on DATASET's `score` column; no other case decides it


def _open_suggestion(w: World, kind: str) -> dict[str, str]:
    """(Re)open one AI suggestion on DATASET and name it as a review item. Deciding closes a suggestion and the
    review routes decide only open ones, so each case reopens its target: a refusal then comes from the rights,
    never from a suggestion another role's case already decided."""
    with session_scope(w.settings) as session:
        dataset_id = session.scalar(select(Dataset.id).where(Dataset.name == DATASET))
        if kind == "label":
            label = session.scalar(select(Classification).where(
                Classification.dataset_id == dataset_id, Classification.column_name == "score",
                Classification.label == REVIEW_LABEL)) or Classification(
                dataset_id=dataset_id, column_name="score", label=REVIEW_LABEL, evidence=[])
            label.status, label.confidence, label.decided_by, label.decided_at = "suggested", 0.9, None, None
            session.add(label)
            return {"kind": "label", "dataset": DATASET, "column": "score", "label": REVIEW_LABEL}
        text = session.scalar(select(Description).where(Description.dataset_id == dataset_id,
                                                        Description.column_name == "")) or Description(
            dataset_id=dataset_id, column_name="")
        text.text, text.source, text.status, text.decided_by = "Churn scores.", "ai:matrix/1", "suggested", None
        session.add(text)
        return {"kind": "description", "dataset": DATASET, "column": ""}


REQUESTS: dict[tuple[str, str], Callable[[World, str], Call]] = {
    ("GET", "/api/v1/search"): lambda w, r: Call("/api/v1/search", {"q": "scores", "mode": "keyword"}),
    ("GET", "/api/v1/sources"): lambda w, r: Call("/api/v1/sources"),
    ("GET", "/api/v1/sources/{name}"): lambda w, r: Call(f"/api/v1/sources/{SOURCE}"),
    ("GET", "/api/v1/datasets"): lambda w, r: Call("/api/v1/datasets"),
    ("GET", "/api/v1/usage"): lambda w, r: Call("/api/v1/usage", {"days": "7"}),
    ("GET", "/api/v1/access/dataset"): lambda w, r: Call("/api/v1/access/dataset", {"dataset": DATASET}),
    ("GET", "/api/v1/datasets/{name:path}"): lambda w, r: Call(f"/api/v1/datasets/{DATASET}"),
    ("GET", "/api/v1/classifications"): lambda w, r: Call("/api/v1/classifications", {"status": "all"}),
    ("POST", "/api/v1/classifications"): lambda w, r: Call("/api/v1/classifications", json={
        "dataset": DATASET, "column": "id", "label": "pii.email", "decision": "reject", "comment": "an id"}),
    ("POST", "/api/v1/descriptions"): lambda w, r: Call("/api/v1/descriptions", json={
        "dataset": DATASET, "column": "score", "decision": "edit", "text": "The churn score, 0 to 1."}),
    ("POST", "/api/v1/descriptions/accept-all"): lambda w, r: Call("/api/v1/descriptions/accept-all",
                                                                   json={"dataset": DATASET}),
    ("GET", "/api/v1/review"): lambda w, r: Call("/api/v1/review", {"dataset": "scores"}),
    ("POST", "/api/v1/review/decisions"): lambda w, r: Call("/api/v1/review/decisions", json={
        "decision": "accept", "items": [_open_suggestion(w, "label")]}),
    ("POST", "/api/v1/tags"): lambda w, r: Call("/api/v1/tags", json={"dataset": DATASET, "value": "matrix",
                                                                     "action": "add"}),
    ("POST", "/api/v1/owners"): lambda w, r: Call("/api/v1/owners", json={"dataset": DATASET, "value": "olga",
                                                                         "action": "add"}),
    ("GET", "/api/v1/versions"): lambda w, r: Call("/api/v1/versions", {"dataset": DATASET}),
    ("GET", "/api/v1/versions/resolve"): lambda w, r: Call("/api/v1/versions/resolve",
                                                           {"dataset": DATASET, "version": "v1"}),
    ("GET", "/api/v1/versions/data"): lambda w, r: Call("/api/v1/versions/data", {"dataset": DATASET,
                                                                                  "version": "v1"}),
    ("GET", "/api/v1/versions/diff"): lambda w, r: Call("/api/v1/versions/diff", {"dataset": DATASET,
                                                                                  "old": "v1", "new": "v2"}),
    ("POST", "/api/v1/versions"): lambda w, r: Call(  # v2's own bytes again: "unchanged", no new version
        "/api/v1/versions", {"dataset": DATASET, "message": f"by {r}"}, content=w.v2_parquet,
        headers={"Content-Type": "application/vnd.apache.parquet"}),
    ("GET", "/api/v1/suites"): lambda w, r: Call("/api/v1/suites", {"dataset": DATASET}),
    ("PUT", "/api/v1/suites"): lambda w, r: Call("/api/v1/suites", {"dataset": DATASET}, json=w.suite),
    ("POST", "/api/v1/suites/reset"): lambda w, r: Call("/api/v1/suites/reset", {"dataset": DATASET}),
    ("GET", "/api/v1/recipes"): lambda w, r: Call("/api/v1/recipes", {"dataset": DATASET}),
    ("PUT", "/api/v1/recipes"): lambda w, r: Call("/api/v1/recipes", {"dataset": DATASET}, json={
        "source": DATASET, "recipe": KEEP_ALL}),
    ("GET", "/api/v1/recipes/suggest"): lambda w, r: Call("/api/v1/recipes/suggest", {"source": DATASET}),
    ("POST", "/api/v1/versions/from-dataset"): lambda w, r: Call(  # v2 read back through a keep-all recipe:
        "/api/v1/versions/from-dataset", {"dataset": DATASET},    # the same bytes, so "unchanged"
        json={"source": DATASET, "recipe": KEEP_ALL, "message": f"by {r}"}),
    ("POST", "/api/v1/lineage"): lambda w, r: Call("/api/v1/lineage", json=_event(r)),
    ("POST", "/api/v1/runs"): lambda w, r: Call("/api/v1/runs", json={
        "name": "matrix-score", "run_id": f"matrix-run-{r}", "inputs": [{"dataset": DATASET, "version": "v2"}],
        "metrics": {"rows": 40}}),
    ("GET", "/api/v1/runs"): lambda w, r: Call("/api/v1/runs", {"run": RUN}),
    ("GET", "/api/v1/models"): lambda w, r: Call("/api/v1/models"),
    ("GET", "/api/v1/models/detail"): lambda w, r: Call("/api/v1/models/detail", {"name": MODEL}),
    ("GET", "/api/v1/lineage/graph"): lambda w, r: Call("/api/v1/lineage/graph", {"dataset": DATASET,
                                                                                  "version": "v1"}),
    ("GET", "/api/v1/lineage/impact"): lambda w, r: Call("/api/v1/lineage/impact", {"dataset": DATASET}),
    ("POST", "/api/v1/lineage/dvc"): lambda w, r: Call("/api/v1/lineage/dvc", {"project": f"matrix-{r}"},
                                                       content=DVC_LOCK.encode(),
                                                       headers={"Content-Type": "application/yaml"}),
    ("POST", "/api/v1/watch"): lambda w, r: Call("/api/v1/watch", {"model": MODEL}),
    ("POST", "/api/v1/access-requests"): lambda w, r: Call("/api/v1/access-requests", json={
        "dataset": DATASET, "permission": "read_data", "justification": WHY, "days": 7}),
    ("GET", "/api/v1/access-requests"): lambda w, r: Call("/api/v1/access-requests"),
    ("GET", "/api/v1/access-requests/{request_id}"): lambda w, r: Call(
        f"/api/v1/access-requests/{w.shared_request}"),
    ("POST", "/api/v1/access-requests/{request_id}/decision"): lambda w, r: Call(
        f"/api/v1/access-requests/{w.requests['api-decide'][r]}/decision",
        json={"decision": "deny", "comment": "use the aggregated table"}),
    ("POST", "/api/v1/access-requests/{request_id}/withdraw"): lambda w, r: Call(
        f"/api/v1/access-requests/{w.requests['api-withdraw'][r]}/withdraw"),
    ("GET", "/api/v1/access-review"): lambda w, r: Call("/api/v1/access-review", {"dataset": DATASET}),
    ("GET", "/api/v1/grants"): lambda w, r: Call("/api/v1/grants"),
    ("POST", "/api/v1/grants/{grant_id}/revoke"): lambda w, r: Call(
        f"/api/v1/grants/{w.grants['api'][r]}/revoke"),
    ("POST", "/logout"): lambda w, r: _page_form("/logout"),
    ("GET", "/"): lambda w, r: Call("/"),
    ("GET", "/datasets"): lambda w, r: Call("/datasets", {"q": "scores"}),
    ("GET", "/datasets/{name:path}"): lambda w, r: Call(f"/datasets/{DATASET}"),
    ("POST", "/labels"): lambda w, r: _page_form("/labels", dataset=DATASET, column="score", label="pii.phone",
                                                 decision="reject"),
    ("GET", "/search"): lambda w, r: Call("/search", {"q": "scores"}),
    ("GET", "/sources"): lambda w, r: Call("/sources"),
    ("GET", "/sources/{name}"): lambda w, r: Call(f"/sources/{SOURCE}"),
    ("POST", "/descriptions"): lambda w, r: _page_form("/descriptions", dataset=DATASET, column="id",
                                                       decision="edit", text="Row number."),
    ("POST", "/descriptions/accept-all"): lambda w, r: _page_form("/descriptions/accept-all", dataset=DATASET),
    ("GET", "/review"): lambda w, r: Call("/review", {"kind": "labels"}),
    ("POST", "/review/decisions"): lambda w, r: _page_form(  # a checkbox value: the item as a JSON list
        "/review/decisions", decision="reject", item=json.dumps(list(_open_suggestion(w, "label").values()))),
    ("POST", "/review/edit"): lambda w, r: _page_form(
        "/review/edit", dataset=DATASET, column=_open_suggestion(w, "description")["column"],
        text="Churn scores, one row per customer."),
    ("GET", "/versions"): lambda w, r: Call("/versions", {"dataset": DATASET, "version": "v2"}),
    ("GET", "/versions/all"): lambda w, r: Call("/versions/all", {"dataset": DATASET}),
    ("GET", "/versions/diff"): lambda w, r: Call("/versions/diff", {"dataset": DATASET, "old": "v1", "new": "v2"}),
    ("GET", "/suites"): lambda w, r: Call("/suites", {"dataset": DATASET}),
    ("POST", "/suites"): lambda w, r: _page_form("/suites", dataset=DATASET, suite=_json(w.suite)),
    ("POST", "/suites/reset"): lambda w, r: _page_form("/suites/reset", dataset=DATASET),
    ("GET", "/publish"): lambda w, r: Call("/publish", {"dataset": DATASET}),
    ("POST", "/publish"): lambda w, r: _page_upload(  # v2's own bytes again: "unchanged", no new version
        "/publish", ("scores-v2.parquet", w.v2_parquet), dataset=DATASET, message=f"by {r}"),
    ("GET", "/recipes"): lambda w, r: Call("/recipes", {"dataset": DATASET, "suggest": DATASET}),
    ("POST", "/recipes"): lambda w, r: _page_form("/recipes", dataset=DATASET, source=DATASET, recipe=KEEP_ALL),
    ("GET", "/lineage"): lambda w, r: Call("/lineage", {"dataset": DATASET}),
    ("GET", "/models"): lambda w, r: Call("/models"),
    ("GET", "/models/detail"): lambda w, r: Call("/models/detail", {"name": MODEL}),
    ("GET", "/runs"): lambda w, r: Call("/runs", {"run": RUN}),
    ("GET", "/access"): lambda w, r: Call("/access", {"dataset": DATASET}),
    ("POST", "/access/requests"): lambda w, r: _page_form("/access/requests", dataset=DATASET,
                                                          permission="read_metadata", justification=WHY, days="7"),
    ("POST", "/access/requests/{request_id}/decision"): lambda w, r: _page_form(
        f"/access/requests/{w.requests['page-decide'][r]}/decision", decision="deny", comment="not needed"),
    ("POST", "/access/requests/{request_id}/withdraw"): lambda w, r: _page_form(
        f"/access/requests/{w.requests['page-withdraw'][r]}/withdraw"),
    ("GET", "/access/review"): lambda w, r: Call("/access/review", {"dataset": DATASET}),
    ("GET", "/access/review/export"): lambda w, r: Call("/access/review/export", {"dataset": DATASET}),
    ("POST", "/access/grants/{grant_id}/revoke"): lambda w, r: _page_form(
        f"/access/grants/{w.grants['page'][r]}/revoke", dataset=DATASET),
}


RECORDED_EVENT = {**_event("recorded"), "producer": "tests/route-matrix/fixture"}  # ingested by the fixture
OWN_ONLY = {**only("viewer", "analyst", "publisher", "owner", "steward", "admin"), "none": 404}


@dataclass(frozen=True)
class Variant:
    """A second request to a route of POLICY, for a rule one request per route cannot show."""

    name: str
    route: tuple[str, str]  # the POLICY row it exercises
    make: Callable[[World, str], Call]
    expected: dict[str, Expected]
    discrepancies: dict[str, str] = field(default_factory=dict)  # role -> what the code does instead


VARIANTS = (
    Variant("withdraw own request (API)", ("POST", "/api/v1/access-requests/{request_id}/withdraw"),
            lambda w, r: Call(f"/api/v1/access-requests/{w.own['api'].get(r, w.shared_request)}/withdraw"),
            OWN_ONLY),
    Variant("withdraw own request (page)", ("POST", "/access/requests/{request_id}/withdraw"),
            lambda w, r: _page_form(f"/access/requests/{w.own['page'].get(r, w.shared_request)}/withdraw"),
            OWN_ONLY),
    Variant("see own request", ("GET", "/api/v1/access-requests/{request_id}"),
            lambda w, r: Call(f"/api/v1/access-requests/{w.own['page'].get(r, w.requests['api-decide']['none'])}"),
            OWN_ONLY),
    Variant("manage a dataset the owner does not own", ("POST", "/api/v1/tags"),
            lambda w, r: Call("/api/v1/tags", json={"dataset": "shop/main/orders", "value": "matrix",
                                                    "action": "add"}),
            ADMIN),
    Variant("replay a recorded OpenLineage event", ("POST", "/api/v1/lineage"),
            lambda w, r: Call("/api/v1/lineage", json=RECORDED_EVENT), RECORD_LINEAGE),
    Variant("OpenLineage job event without a run", ("POST", "/api/v1/lineage"),
            lambda w, r: Call("/api/v1/lineage", json={"eventType": "COMPLETE", "eventTime": "2026-11-21T10:00:00Z",
                                                       "job": {"namespace": "matrix", "name": "no-run"}}),
            RECORD_LINEAGE),
    Variant("lineage graph around a run (API)", ("GET", "/api/v1/lineage/graph"),
            lambda w, r: Call("/api/v1/lineage/graph", {"run": RUN}), METADATA),
    Variant("lineage graph around a run (page)", ("GET", "/lineage"),
            lambda w, r: Call("/lineage", {"run": RUN}), METADATA),
)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2)


def served_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every endpoint the app serves, however routers are nested. FastAPI 0.137+ keeps an
    included router as one `_IncludedRouter` entry in `app.routes` (no `.path`), so a shallow loop over
    `app.routes` finds none of the API and page routes; `iter_route_contexts` walks into them."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before 0.137 flattened included routes into app.routes
        contexts: Any = app.routes
    else:
        contexts = iter_route_contexts(app.routes)
    found = set()
    for route in contexts:
        path = getattr(route, "path", None)
        if path is None or path.startswith(OPEN_PREFIXES):
            continue
        for method in (getattr(route, "methods", None) or set()) - {"HEAD", "OPTIONS"}:
            if (method, path) not in OPEN:
                found.add((method, path))
    return found


def _sqlite_source(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, city TEXT);
        CREATE TABLE orders (ord_id INTEGER PRIMARY KEY, cust_id INTEGER REFERENCES customers(id), amount REAL);
        INSERT INTO customers VALUES (1, 'a@example.com', 'Utrecht'), (2, 'b@example.com', 'Gent');
        INSERT INTO orders VALUES (1, 1, 9.5), (2, 2, 12.0);
    """)
    conn.close()
    return path


def _scores(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"id": np.arange(40), "score": rng.random(40)})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("route-matrix")
    local = Actor.local()
    with pytest.MonkeyPatch.context() as patch:
        for variable in ("CATALOG_DATABASE_URL", "CATALOG_MODE", "CATALOG_DVC_REMOTE", "CATALOG_SECRET_KEY"):
            patch.delenv(variable, raising=False)
        patch.setenv("CATALOG_HOME", str(root / "home"))
        embedded = load_settings(home=root / "home")
        migrate(embedded)
        register(embedded, SOURCE, f"sqlite:///{_sqlite_source(root / 'shop.db')}")
        crawl(embedded, SOURCE)
        publish(embedded, local, DATASET, data=_scores(1))
        second = publish(embedded, local, DATASET, data=_scores(2))
        assert second["status"] == "published" and second["version"]["number"] == 2
        Client(str(embedded.home), cache_dir=root / "client-cache").log_run(
            "train-churn", run_id=RUN, inputs=[(DATASET, "v1")],
            outputs=[{"model": MODEL, "framework": "sklearn", "metrics": {"auc": 0.8}}], metrics={"auc": 0.8})
    settings = dataclasses.replace(embedded, mode="server", secret_key=SECRET)
    with session_scope(settings) as session:
        for role, user in USERS.items():
            add_user(session, local, user, [] if role == "none" else [role])
        for user in ("rita", "grantee", *(f"ask-{role}" for role in ROLES)):
            add_user(session, local, user, ["viewer"])
        stewardship.change(session, local, DATASET, "owner", "olga", "add")
        tokens = {role: create_token(session, local, user, days=1)["token"] for role, user in USERS.items()}

        def ask(user: str, permission: str) -> int:
            asker = actor_for(session, find_user(session, user))
            return int(access_requests.request_access(session, asker, DATASET, permission, WHY, 7)["id"])

        shared = ask("rita", "read_data")
        purposes = {"api-decide": "read_metadata", "page-decide": "read_data", "api-withdraw": "read_pii",
                    "page-withdraw": "publish"}
        requests = {purpose: {role: ask(f"ask-{role}", permission) for role in ROLES}
                    for purpose, permission in purposes.items()}
        own = {purpose: {role: ask(USERS[role], permission) for role in ROLES if role != "none"}
               for purpose, permission in (("api", "read_pii"), ("page", "publish"))}
        grants = {purpose: {role: int(add_grant(session, local, "grantee", DATASET, "read_data", days=30,
                                                reason=f"{purpose} revoke by {role}")["id"]) for role in ROLES}
                  for purpose in ("api", "page")}
        suite = get_suite(session, local, DATASET)["suite"]
    assert ingest(settings, local, RECORDED_EVENT)["status"] == "recorded"
    from catalog.version_repo import VersionRepo

    v2 = VersionRepo(settings).fetch(second["version"]["md5"]).read_bytes()
    client = TestClient(create_app(settings), follow_redirects=False)
    yield World(settings, client, tokens, shared, requests, grants, own, suite, v2)
    client.close()


def _cases() -> list[Any]:
    """Every (route, role) pair: reads first, then writes (a write never changes what a read is about)."""
    order = sorted(POLICY, key=lambda key: (key[0] != "GET", key[1], key[0]))
    cases = []
    for method, path in order:
        for role in ROLES:
            reason = DISCREPANCIES.get((method, path, role))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(method, path, role, id=f"{method} {path} as {role}", marks=marks))
    return cases


def _send(world: World, method: str, path: str, role: str | None) -> Any:
    call = REQUESTS[(method, path)](world, role or "owner")
    headers = {**call.headers, **(world.auth(role) if role else {})}
    return world.client.request(method, call.path, params=call.params, json=call.json, data=call.data,
                                content=call.content, headers=headers)


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


def test_every_route_has_a_policy_and_a_request(world: World) -> None:
    """A new route without a row in POLICY fails here; so does a row for a route the app no longer serves."""
    served = served_routes(world.client.app)
    assert len(served) >= 50, f"route enumeration found only {sorted(served)}: it must not go quiet"
    missing = sorted(served - set(POLICY))
    stale = sorted(set(POLICY) - served)
    assert not missing, f"routes without a policy row (add them to POLICY and REQUESTS): {missing}"
    assert not stale, f"POLICY lists routes the app does not serve: {stale}"
    assert set(REQUESTS) == set(POLICY)
    assert all(set(row) == set(ROLES) for row in POLICY.values())
    assert {(m, p) for m, p, _ in DISCREPANCIES} <= set(POLICY)
    assert all(v.route in POLICY and set(v.expected) == set(ROLES) for v in VARIANTS)


@pytest.mark.parametrize(("method", "path"), sorted(POLICY), ids=[f"{m} {p}" for m, p in sorted(POLICY)])
def test_no_credentials_is_401_or_the_sign_in_page(world: World, method: str, path: str) -> None:
    response = _send(world, method, path, None)
    if _is_api(path):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
    else:
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/login?next="), response.headers["location"]


@pytest.mark.parametrize(("method", "path", "role"), _cases())
def test_route_matrix(world: World, method: str, path: str, role: str) -> None:
    response = _send(world, method, path, role)
    _check(response, POLICY[(method, path)][role], f"{method} {path} as {role} ({USERS[role]})")
    _no_secrets(world, response, f"{method} {path} as {role}")


def _no_secrets(world: World, response: Any, what: str) -> None:
    """No answer, allowed or refused, carries a token or the server's secret key (headers included)."""
    seen = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    for secret in [*world.tokens.values(), world.settings.secret_key or "unset"]:
        assert secret not in seen, f"{what} shows a secret"


def _check(response: Any, expected: Expected, what: str) -> None:
    status = response.status_code
    shown = f"{what}: {status} {response.text[:300]}"
    if expected == ALLOW:
        assert 200 <= status < 400, shown
        if 300 <= status < 400:
            assert not response.headers["location"].startswith("/login?"), shown  # a sign-in is not a pass
    else:
        assert status == expected, shown


def _variant_cases() -> list[Any]:
    return [pytest.param(variant, role, id=f"{variant.name} as {role}",
                         marks=[pytest.mark.xfail(strict=True, reason=variant.discrepancies[role])]
                         if role in variant.discrepancies else [])
            for variant in VARIANTS for role in ROLES]


@pytest.mark.parametrize(("variant", "role"), _variant_cases())
def test_route_matrix_variants(world: World, variant: Variant, role: str) -> None:
    """Runs after the matrix: some variants write (withdrawing one's own request, tagging, lineage events)."""
    call = variant.make(world, role)
    method = variant.route[0]
    response = world.client.request(method, call.path, params=call.params, json=call.json, data=call.data,
                                    content=call.content, headers={**call.headers, **world.auth(role)})
    _check(response, variant.expected[role], f"{variant.name} ({method} {call.path}) as {role} ({USERS[role]})")
