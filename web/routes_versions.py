"""Pages for published dataset versions: one version, the diff of two, and the quality suite editor.

Thin routes over `catalog.versions` (which checks the actor's rights), like `web.routes` over the other services.
Dataset names travel as the `dataset` query parameter, as in the JSON API (`/api/v1/versions`): they hold
slashes, and `/datasets/{name:path}` already owns that path space. Publishers' names, messages and suites are
hostile input: templates autoescape them and nothing here marks text as safe.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog import versions
from catalog.access import Action, Actor, Resource, can
from catalog.deps import SESSION, get_actor
from catalog.errors import InvalidInput
from catalog.quality_suite import MAX_SUITE_BYTES
from web.routes import _page, require_same_origin

router = APIRouter(include_in_schema=False)
NAME = Query(..., max_length=1000, description="the published dataset's name, e.g. team/churn")
REF_LENGTH = 80
# The form carries the suite pretty-printed (indentation included), so it may be larger than the stored JSON;
# `check_suite` enforces the real limit on the compact form.
MAX_SUITE_FORM = 4 * MAX_SUITE_BYTES
# What the publishing page reports on the version it redirects to (web.routes_publish.version_url).
NOTICES = ("published", "published-stale", "unchanged")


def suite_url(dataset: str) -> str:
    return "/suites?" + urlencode({"dataset": dataset})


@router.get("/versions")
def version_page(request: Request, dataset: str = NAME, version: str = Query("latest", max_length=REF_LENGTH),
                 notice: str | None = Query(None, max_length=20),
                 session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """One version: facts, schema, PII scan, quality results and the schema change (404 page when unknown).
    `notice` is what the publishing page just did (`NOTICES`; other values are ignored, never echoed)."""
    found = versions.describe_version(session, actor, dataset, version)
    justifications = {a.get("column"): a for a in found.get("pii_allowed") or []}
    return _page(request, "version.html", "datasets", v=found, justifications=justifications,
                 notice=notice if notice in NOTICES else None,
                 can_publish=can(actor, Action.PUBLISH, Resource.dataset(dataset)))


@router.get("/versions/all")
def version_list_page(request: Request, dataset: str = NAME,
                      before: int | None = Query(None, ge=1, le=2**31 - 1),
                      session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """Every version of a published dataset, newest first, `versions.PAGE` per page (`before`: older than that
    version number). The dataset page shows only the newest few and links here."""
    listed = versions.list_versions(session, actor, dataset, before=before)
    older = ("/versions/all?" + urlencode({"dataset": dataset, "before": listed["next_before"]})
             if listed["next_before"] is not None else None)
    return _page(request, "versions_all.html", "datasets", dataset=listed, older_url=older,
                 can_publish=can(actor, Action.PUBLISH, Resource.dataset(dataset)))


@router.get("/versions/diff")
def version_diff_page(request: Request, dataset: str = NAME, old: str = Query(..., max_length=REF_LENGTH),
                      new: str = Query("latest", max_length=REF_LENGTH), session: Session = SESSION,
                      actor: Actor = Depends(get_actor)) -> Response:
    """Schema changes, row change and per-column drift between two versions (statistics only)."""
    diff = versions.diff_versions(request.app.state.settings, session, actor, dataset, old, new)
    listed = versions.list_versions(session, actor, dataset, limit=versions.MAX_PAGE)["versions"]
    return _page(request, "version_diff.html", "datasets", diff=diff, versions=listed)


@router.get("/suites")
def suite_page(request: Request, dataset: str = NAME, session: Session = SESSION,
               actor: Actor = Depends(get_actor)) -> Response:
    """The dataset's expectation suite as editable JSON, with who made it."""
    suite = versions.get_suite(session, actor, dataset)
    text = json.dumps(suite["suite"], indent=2, ensure_ascii=False) if suite["suite"] is not None else ""
    return _page(request, "suite.html", "datasets", suite=suite, suite_text=text)


@router.post("/suites")
def save_suite(request: Request, dataset: str = Form(max_length=1000), suite: str = Form(max_length=MAX_SUITE_FORM),
               session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """Replace the suite with the edited JSON (checked by `check_suite`; a problem is a 400 page naming it)."""
    require_same_origin(request)
    versions.set_suite(session, actor, dataset, parse_suite(suite))
    return RedirectResponse(suite_url(dataset), status_code=303)


@router.post("/suites/reset")
def reset_suite(request: Request, dataset: str = Form(max_length=1000), session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> Response:
    """Back to the default suite generated from the latest version's data."""
    require_same_origin(request)
    versions.reset_suite(request.app.state.settings, session, actor, dataset)
    return RedirectResponse(suite_url(dataset), status_code=303)


def parse_suite(text: str) -> Any:
    """The posted suite as JSON, or `InvalidInput` saying where the JSON breaks (never quoting the text)."""
    if not text.strip():
        raise InvalidInput("the suite is empty: give a JSON object with an 'expectations' list")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the suite is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
                           ) from None
