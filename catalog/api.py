"""The JSON API (v1): thin routes over the service functions, which check the caller's rights."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from catalog import classifications, dataset_access, datasets, descriptions, sources, stewardship, usage
from catalog.access import Actor
from catalog.api_choices import (
    DatasetKind,
    DatasetOrder,
    DescriptionDecisionValue,
    LabelDecisionValue,
    LabelStatusFilter,
    SearchMode,
    StewardshipAction,
)
from catalog.deps import SESSION, get_actor

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(session: Session = SESSION) -> dict[str, str]:
    """Liveness and store reachability (for load balancers)."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/api/v1/search", tags=["search"])
def api_search(
    request: Request,
    q: str = Query(..., min_length=1, max_length=500),
    limit: int = Query(10, ge=1, le=100),
    source: str | None = Query(None, max_length=200),
    kind: DatasetKind | None = Query(None),
    pii: bool | None = Query(None, description="true: only personal data; false: only without"),
    tag: str | None = Query(None, max_length=100),
    owner: str | None = Query(None, max_length=200),
    mode: SearchMode = Query("hybrid", description="hybrid (both sides fused), keyword or vector"),
    session: Session = SESSION,
    actor: Actor = Depends(get_actor),
) -> dict[str, Any]:
    """Hybrid search over datasets and columns (the `catalog search --json` shape, with explanations)."""
    from catalog.search import Filters, search

    return search(session, actor, request.app.state.settings, q, limit=limit, mode=mode,
                  filters=Filters(source=source, kind=kind, pii=pii, tag=tag, owner=owner))


@router.get("/api/v1/sources", tags=["sources"])
def api_sources(session: Session = SESSION, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return {"sources": sources.list_sources(session, actor)}


@router.get("/api/v1/sources/{name}", tags=["sources"])
def api_source(name: str, session: Session = SESSION,
               actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return sources.describe_source(session, actor, name)


@router.get("/api/v1/datasets", tags=["datasets"])
def api_datasets(
    source: str | None = None,
    kind: DatasetKind | None = None,
    q: str | None = Query(None, max_length=200),
    include_deleted: bool = False,
    limit: int = Query(100, ge=1, le=datasets.MAX_PAGE),
    offset: int = Query(0, ge=0, le=datasets.MAX_OFFSET),
    order: DatasetOrder = Query("name", description="name, or recent (last changed first)"),
    session: Session = SESSION,
    actor: Actor = Depends(get_actor),
) -> dict[str, Any]:
    return datasets.list_datasets(session, actor, source=source, kind=kind, q=q,
                                  include_deleted=include_deleted, limit=limit, offset=offset, order=order)


@router.get("/api/v1/datasets/{name:path}", tags=["datasets"])
def api_dataset(name: str, session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return datasets.get_dataset(session, actor, name)


@router.get("/api/v1/usage", tags=["datasets"])
def api_usage(days: int = Query(usage.DEFAULT_DAYS, ge=1, le=usage.MAX_DAYS), limit: int = Query(10, ge=1, le=100),
              session: Session = SESSION, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """The most used datasets: published versions fetched plus runs that read them, per dataset."""
    return usage.most_used(session, actor, days=days, limit=limit)


@router.get("/api/v1/access/dataset", tags=["governance"])
def api_dataset_access(dataset: str = Query(..., max_length=1000), session: Session = SESSION,
                       actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """The caller's own rights on one dataset, their pending requests on it, and what they may still ask for."""
    return dataset_access.access_summary(session, actor, dataset)


class LabelDecision(BaseModel):
    """A person's decision on a column label; `label` is a name like `pii.email`."""

    dataset: str = Field(max_length=1000)
    column: str = Field(max_length=1000)
    label: str = Field(max_length=100)
    decision: LabelDecisionValue
    comment: str | None = Field(None, max_length=classifications.MAX_COMMENT)


@router.get("/api/v1/classifications", tags=["classifications"])
def api_labels(
    status: LabelStatusFilter = Query("suggested"),
    label: str | None = Query(None, max_length=100),
    source: str | None = Query(None, max_length=200),
    limit: int = Query(200, ge=1, le=1000),
    session: Session = SESSION,
    actor: Actor = Depends(get_actor),
) -> dict[str, Any]:
    """The review queue: labels across datasets, open suggestions by default, strongest first."""
    return classifications.review_queue(session, actor, status=None if status == "all" else status, label=label,
                                        source=source, limit=limit)


@router.post("/api/v1/classifications", tags=["classifications"])
def api_decide(body: LabelDecision, session: Session = SESSION,
               actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Confirm, reject or reset one label on one column; a confirmed label masks the column's samples."""
    return classifications.decide(session, actor, body.dataset, body.column, body.label, body.decision,
                                  body.comment)


class DescriptionDecision(BaseModel):
    """Accept or reject the AI's text, or write one (`edit` with `text`); no `column` means the dataset itself."""

    dataset: str = Field(max_length=1000)
    column: str | None = Field(None, max_length=1000)
    decision: DescriptionDecisionValue
    text: str | None = Field(None, max_length=descriptions.MAX_TEXT)


class DatasetRef(BaseModel):
    dataset: str = Field(max_length=1000)


@router.post("/api/v1/descriptions", tags=["descriptions"])
def api_describe(body: DescriptionDecision, session: Session = SESSION,
                 actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """A person's decision on a description; a person's text is never overwritten by the annotator."""
    return descriptions.decide(session, actor, body.dataset, body.column or descriptions.TABLE, body.decision,
                               body.text)


@router.post("/api/v1/descriptions/accept-all", tags=["descriptions"])
def api_accept_all(body: DatasetRef, session: Session = SESSION,
                   actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Accept every suggested AI description of a dataset and its columns."""
    return descriptions.accept_all(session, actor, body.dataset)


class StewardshipChange(BaseModel):
    """Add or remove one tag or owner of a dataset."""

    dataset: str = Field(max_length=1000)
    value: str = Field(max_length=200)
    action: StewardshipAction


@router.post("/api/v1/tags", tags=["datasets"])
def api_tag(body: StewardshipChange, session: Session = SESSION,
            actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return stewardship.change(session, actor, body.dataset, "tag", body.value, body.action)


@router.post("/api/v1/owners", tags=["datasets"])
def api_owner(body: StewardshipChange, session: Session = SESSION,
              actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return stewardship.change(session, actor, body.dataset, "owner", body.value, body.action)
