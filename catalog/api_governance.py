"""JSON API for governance: access requests and decisions, the access review (JSON or CSV), grants.

Thin routes over `catalog.access_requests`, `catalog.access_review` and `catalog.principals`, which check the
caller's rights; ids of requests and grants the caller may not see answer 404, like missing ones.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from catalog import access_requests, access_review, principals
from catalog.access import Actor
from catalog.api_choices import RequestablePermission, RequestDecision, RequestStatus, ReviewFormat
from catalog.deps import SESSION, get_actor
from catalog.errors import InvalidInput

router = APIRouter(tags=["governance"])
MAX_ID = 2**31 - 1


def _id() -> Any:
    """A path id; beyond a 32-bit key nothing exists (a fresh `Path` per route, as FastAPI binds them)."""
    return Path(ge=1, le=MAX_ID)


class AccessRequestBody(BaseModel):
    """`POST /api/v1/access-requests`: what you need, on which dataset, why and for how long."""

    dataset: str = Field(max_length=1000)
    permission: RequestablePermission
    justification: str = Field(max_length=access_requests.MAX_TEXT,
                               description=f"at least {access_requests.MIN_JUSTIFICATION} characters")
    days: int = Field(30, description=f"1 to {access_requests.MAX_DAYS}")


class DecisionBody(BaseModel):
    decision: RequestDecision
    comment: str | None = Field(None, max_length=access_requests.MAX_TEXT, description="required to deny")


@router.post("/api/v1/access-requests", status_code=201)
def api_request_access(body: AccessRequestBody, session: Session = SESSION,
                       actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return access_requests.request_access(session, actor, body.dataset, body.permission, body.justification,
                                          body.days)


@router.get("/api/v1/access-requests")
def api_list_requests(status: RequestStatus | None = Query(None), mine: bool = False,
                      session: Session = SESSION, actor: Actor = Depends(get_actor)
                      ) -> dict[str, Any]:
    """Your requests and those you may decide (`mine=true`: only yours), newest first."""
    return {"requests": access_requests.list_requests(session, actor, status or None, mine)}


@router.get("/api/v1/access-requests/{request_id}")
def api_get_request(request_id: int = _id(), session: Session = SESSION,
                    actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return access_requests.get_request(session, actor, request_id)


@router.post("/api/v1/access-requests/{request_id}/decision")
def api_decide(body: DecisionBody, request_id: int = _id(), session: Session = SESSION,
               actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Approve (creates the expiring grant) or deny (with a comment); owners and stewards, never the requester."""
    return access_requests.decide(session, actor, request_id, body.decision, body.comment)


@router.post("/api/v1/access-requests/{request_id}/withdraw")
def api_withdraw(request_id: int = _id(), session: Session = SESSION,
                 actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return access_requests.withdraw(session, actor, request_id)


@router.get("/api/v1/access-review", response_model=None, responses={200: {"content": {
    "application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}}})
def api_access_review(dataset: str | None = Query(None, max_length=1000),
                      user: str | None = Query(None, max_length=200),
                      fmt: ReviewFormat = Query("json", alias="format"),
                      unused_days: int = Query(access_review.UNUSED_DAYS, ge=1, le=3660),
                      session: Session = SESSION, actor: Actor = Depends(get_actor)
                      ) -> dict[str, Any] | Response:
    """Who can reach `dataset`, or what `user` can reach, with flags; `format=csv` for a spreadsheet."""
    if bool(dataset) == bool(user):
        raise InvalidInput("give exactly one of dataset or user")
    review = (access_review.review_dataset(session, actor, dataset, unused_days) if dataset
              else access_review.review_person(session, actor, user or "", unused_days))
    if fmt == "json":
        return review
    return csv_response(review)


def csv_response(review: dict[str, Any]) -> Response:
    """The review as a CSV download named after its subject (shared with the review page)."""
    subject = review.get("dataset") or review.get("user") or "review"
    filename = "access-review-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in subject)[:100] + ".csv"
    return Response(access_review.as_csv(review), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@router.get("/api/v1/grants")
def api_grants(principal: str | None = Query(None, max_length=200), target: str | None = Query(None, max_length=1000),
               include_inactive: bool = False, session: Session = SESSION,
               actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Grants: reviewers and admins see all, everyone else their own and their groups'."""
    return {"grants": principals.list_grants(session, actor, principal, target, include_inactive)}


@router.post("/api/v1/grants/{grant_id}/revoke")
def api_revoke_grant(grant_id: int = _id(), session: Session = SESSION,
                     actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return access_review.revoke(session, actor, grant_id)
