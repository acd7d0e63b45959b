"""The JSON API of the review queue: open AI suggestions across datasets, and decisions on them in batches.

Thin routes over `catalog.review`, which checks the caller's rights item by item (through the same
`descriptions.decide` and `classifications.decide` as the single-item routes) and keeps a batch all-or-nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from catalog import descriptions, review
from catalog.access import Actor
from catalog.api_choices import ReviewDecision, ReviewItemKind, ReviewKind
from catalog.deps import SESSION, get_actor

router = APIRouter()


@router.get("/api/v1/review", tags=["review"])
def api_review(
    source: str | None = Query(None, max_length=review.MAX_SOURCE, description="a catalog source name"),
    dataset: str | None = Query(None, max_length=review.MAX_NAME, description="part of a dataset name"),
    kind: ReviewKind | None = Query(None, description="descriptions or labels (default: both)"),
    label: str | None = Query(None, max_length=review.MAX_LABEL, description="a label name such as pii.email"),
    limit: int = Query(100, ge=1, le=review.MAX_LIMIT, description="per kind"),
    offset: int = Query(0, ge=0, le=review.MAX_OFFSET, description="per kind"),
    decidable_only: bool = Query(False, description="only suggestions you may decide (datasets you manage)"),
    session: Session = SESSION,
    actor: Actor = Depends(get_actor),
) -> dict[str, Any]:
    """Open AI suggestions (descriptions and labels) on datasets whose metadata you may read, with totals;
    each row's `can_decide` says whether you may accept, reject or edit it."""
    return review.suggestions(session, actor, source=source, dataset=dataset, kind=kind, label=label,
                              limit=limit, offset=offset, decidable_only=decidable_only)


class ReviewItem(BaseModel):
    """One suggestion: a description (no `column`: the dataset's own) or a label on a column."""

    kind: ReviewItemKind
    dataset: str = Field(max_length=review.MAX_NAME)
    column: str | None = Field(None, max_length=review.MAX_NAME)
    label: str | None = Field(None, max_length=review.MAX_LABEL)


class ReviewDecisions(BaseModel):
    """accept (labels: confirm) or reject every item, all or nothing; `edit` takes one description and `text`."""

    decision: ReviewDecision = Field(description="accept and confirm mean the same")
    items: list[ReviewItem] = Field(max_length=review.MAX_BATCH)
    text: str | None = Field(None, max_length=descriptions.MAX_TEXT)


@router.post("/api/v1/review/decisions", tags=["review"])
def api_review_decisions(body: ReviewDecisions, session: Session = SESSION,
                         actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Decide a batch of open suggestions; the first item that cannot be decided fails the batch, naming it."""
    items = [review.Item(i.kind, i.dataset, i.column or "", i.label) for i in body.items]
    return review.decide_many(session, actor, items, body.decision, body.text)
