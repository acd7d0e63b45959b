"""Pages for governance: asking for access, deciding requests, and the access review with revoke buttons.

Thin routes over `catalog.access_requests` and `catalog.access_review`, which check the caller's rights. Every
form post is checked for its origin (`require_same_origin`); forms also carry the `csrf_token` field that the
session login work validates. Names and justifications are typed by people: templates autoescape them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog import access_requests, access_review
from catalog.access import Action, Actor, Resource, require
from catalog.api_governance import MAX_ID, csv_response
from catalog.deps import SESSION, get_actor
from catalog.errors import InvalidInput
from web.filters import dataset_url
from web.routes import _page, require_same_origin

router = APIRouter(include_in_schema=False)
FLAG_TONES = {"pii_broad": "bad", "unused": "warn", "no_expiry": "warn"}
STATUS_TONES = {"pending": "info", "approved": "ok", "denied": "bad", "withdrawn": "neutral"}


def _token() -> Any:
    """The per-session CSRF token field (validated by the login/session layer, accepted here)."""
    return Form(None, max_length=500)


def _id() -> Any:
    return Path(ge=1, le=MAX_ID)


@router.get("/access")
def access_page(request: Request, dataset: str | None = Query(None, max_length=1000),
                permission: str | None = Query(None, max_length=40), session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> Response:
    """My requests with a form for a new one, and the pending requests I may decide."""
    listed = access_requests.list_requests(session, actor)
    return _page(request, "access.html", "access", mine=[r for r in listed if r["mine"]],
                 to_decide=[r for r in listed if r["can_decide"]], prefill_dataset=dataset or "",
                 prefill_permission=permission or "read_data", permissions=access_requests.REQUESTABLE,
                 min_justification=access_requests.MIN_JUSTIFICATION, max_days=access_requests.MAX_DAYS,
                 server_mode=request.app.state.settings.mode == "server", status_tones=STATUS_TONES)


@router.post("/access/requests")
def file_request(request: Request, dataset: str = Form(max_length=1000), permission: str = Form(max_length=40),
                 justification: str = Form(max_length=access_requests.MAX_TEXT), days: int = Form(30),
                 back: str | None = Form(None, max_length=20), csrf_token: str | None = _token(),
                 session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """File a request; `back=dataset` returns to the dataset page it was made from, which lists it as pending."""
    require_same_origin(request)
    access_requests.request_access(session, actor, dataset, permission, justification, days)
    if back == "dataset":
        return RedirectResponse(dataset_url(dataset.strip()) + "#access", status_code=303)
    return RedirectResponse("/access#mine", status_code=303)


@router.post("/access/requests/{request_id}/decision")
def decide_request(request: Request, request_id: int = _id(), decision: str = Form(max_length=20),
                   comment: str | None = Form(None, max_length=access_requests.MAX_TEXT),
                   csrf_token: str | None = _token(), session: Session = SESSION,
                   actor: Actor = Depends(get_actor)) -> Response:
    require_same_origin(request)
    access_requests.decide(session, actor, request_id, decision, comment)
    return RedirectResponse("/access#decide", status_code=303)


@router.post("/access/requests/{request_id}/withdraw")
def withdraw_request(request: Request, request_id: int = _id(), csrf_token: str | None = _token(),
                     session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    require_same_origin(request)
    access_requests.withdraw(session, actor, request_id)
    return RedirectResponse("/access#mine", status_code=303)


def _review(session: Session, actor: Actor, dataset: str | None, user: str | None, unused_days: int
            ) -> dict[str, Any] | None:
    require(actor, Action.REVIEW, Resource.catalog())
    if dataset and user:
        raise InvalidInput("give a dataset or a user, not both")
    if dataset:
        return access_review.review_dataset(session, actor, dataset, unused_days)
    if user:
        return access_review.review_person(session, actor, user, unused_days)
    return None


@router.get("/access/review")
def review_page(request: Request, dataset: str | None = Query(None, max_length=1000),
                user: str | None = Query(None, max_length=200),
                unused_days: int = Query(access_review.UNUSED_DAYS, ge=1, le=3660),
                session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """Who can reach a dataset, or what a person can reach, with flags, revoke buttons and a CSV link."""
    review = _review(session, actor, dataset or None, user or None, unused_days)
    query = {k: v for k, v in (("dataset", dataset), ("user", user)) if v}
    if unused_days != access_review.UNUSED_DAYS:
        query["unused_days"] = str(unused_days)
    return _page(request, "access_review.html", "access", review=review, dataset=dataset or "", user=user or "",
                 unused_days=unused_days, csv_url="/access/review/export?" + urlencode(query) if review else None,
                 flag_tones=FLAG_TONES, status_tones=STATUS_TONES)


@router.get("/access/review/export")
def review_export(dataset: str | None = Query(None, max_length=1000), user: str | None = Query(None, max_length=200),
                  unused_days: int = Query(access_review.UNUSED_DAYS, ge=1, le=3660),
                  session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    review = _review(session, actor, dataset or None, user or None, unused_days)
    if review is None:
        raise InvalidInput("give a dataset or a user to export")
    return csv_response(review)


@router.post("/access/grants/{grant_id}/revoke")
def revoke_grant(request: Request, grant_id: int = _id(), dataset: str | None = Form(None, max_length=1000),
                 user: str | None = Form(None, max_length=200), csrf_token: str | None = _token(),
                 session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """Revoke one grant, then show the review it was revoked from again."""
    require_same_origin(request)
    access_review.revoke(session, actor, grant_id)
    back = {k: v for k, v in (("dataset", dataset), ("user", user)) if v}
    return RedirectResponse("/access/review?" + urlencode(back) + "#grants", status_code=303)
