"""The JSON API (v1): thin routes over the service functions, which check the caller's rights."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import text
from sqlalchemy.orm import Session

from catalog import datasets, sources
from catalog.access import Actor
from catalog.deps import get_actor, get_session

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(session: Session = Depends(get_session)) -> dict[str, str]:
    """Liveness and store reachability (for load balancers)."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/api/v1/sources", tags=["sources"])
def api_sources(session: Session = Depends(get_session), actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return {"sources": sources.list_sources(session, actor)}


@router.get("/api/v1/sources/{name}", tags=["sources"])
def api_source(name: str, session: Session = Depends(get_session),
               actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return sources.describe_source(session, actor, name)


@router.get("/api/v1/datasets", tags=["datasets"])
def api_datasets(
    source: str | None = None,
    kind: str | None = None,
    q: str | None = Query(None, max_length=200),
    include_deleted: bool = False,
    limit: int = Query(100, ge=1, le=datasets.MAX_PAGE),
    offset: int = Query(0, ge=0),
    order: str = Query("name", description="name, or recent (last changed first)"),
    session: Session = Depends(get_session),
    actor: Actor = Depends(get_actor),
) -> dict[str, Any]:
    return datasets.list_datasets(session, actor, source=source, kind=kind, q=q,
                                  include_deleted=include_deleted, limit=limit, offset=offset, order=order)


@router.get("/api/v1/datasets/{name:path}", tags=["datasets"])
def api_dataset(name: str, session: Session = Depends(get_session),
                actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return datasets.get_dataset(session, actor, name)
