"""Pages for lineage: the graph around a version, column, model or run; the model list; one model; one run.

Thin routes over `catalog.lineage` and `catalog.lineage_graph` (which check the actor's rights and leave out what
the actor may not discover); the graph is drawn server-side as SVG by `web.lineage_graph`. Job, model and dataset
names come from producers of lineage events: templates autoescape them and nothing here marks text as safe.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from catalog import lineage, lineage_graph
from catalog.access import Actor
from catalog.deps import SESSION, get_actor
from catalog.errors import InvalidInput
from web.lineage_graph import layout
from web.routes import _page

router = APIRouter(include_in_schema=False)
STATUSES = ("unchecked", "no_retrain_needed", "retrain_recommended")
PAGE_NODES = 150


def _optional(length: int = 1000) -> Any:
    return Query(None, max_length=length)


@router.get("/lineage")
def lineage_page(request: Request, dataset: str | None = _optional(), version: str | None = _optional(80),
                 column: str | None = _optional(), model: str | None = _optional(500),
                 model_version: str | None = _optional(200), run: str | None = _optional(200),
                 direction: str = Query("both", max_length=4), depth: int = Query(4, ge=1, le=20),
                 session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """The graph around one thing, and (for data) the models trained on it."""
    focus = lineage_graph.Focus(dataset=dataset, version=version, column=column, model=model,
                                model_version=model_version, run=run)
    found = lineage_graph.graph(session, actor, focus, direction, depth, PAGE_NODES)
    drawn = layout(found["nodes"], found["edges"], focus=found["focus"][0] if found["focus"] else None)
    affected = lineage_graph.impact(session, actor, dataset, version, column) if dataset else None
    return _page(request, "lineage.html", "models", focus=focus, found=found, graph=drawn, impact=affected,
                 direction=direction, depth=depth, title=_title(focus))


def _title(focus: lineage_graph.Focus) -> str:
    if focus.model:
        return f"model {focus.model}" + (f" {focus.model_version}" if focus.model_version else "")
    if focus.run:
        return f"run {focus.run}"
    subject = focus.dataset or ""
    if focus.column:
        return f"column {focus.column} of {subject}"
    return f"{subject}@{focus.version}" if focus.version else subject


@router.get("/models")
def models_page(request: Request, status: str | None = Query(None, max_length=40),
                name: str | None = _optional(500), session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> Response:
    """Every model with its drift status; filter by status or name."""
    if status and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    listing = lineage.list_models(session, actor, name or None, status or None)
    return _page(request, "models.html", "models", listing=listing, drift_filter=status, model_name=name,
                 statuses=STATUSES)


@router.get("/models/detail")
def model_page(request: Request, name: str = Query(..., max_length=500), version: str | None = _optional(200),
               session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """One model: what trained it on which exact versions, its metrics, the drift verdict and its evidence."""
    model = lineage.find_model(session, actor, name, version)
    view = lineage.model_view(session, actor, model, detail=True)
    found = lineage_graph.graph(session, actor, lineage_graph.Focus(model=model.name, model_version=model.version),
                                "up", 6, PAGE_NODES)
    drawn = layout(found["nodes"], found["edges"], focus=found["focus"][0])
    return _page(request, "model.html", "models", m=view, graph=drawn)


@router.get("/runs")
def run_page(request: Request, run: str = Query(..., max_length=200), session: Session = SESSION,
             actor: Actor = Depends(get_actor)) -> Response:
    """One run: its job, state, times, metrics, the versions it read and what it wrote."""
    view = lineage.get_run(session, actor, run)
    return _page(request, "run.html", "models", r=view)
