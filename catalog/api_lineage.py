"""JSON API for lineage: OpenLineage events, runs, models, graph and impact queries, DVC import, drift watch.

Names with slashes travel as query parameters, as in the versions API.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from catalog import lineage, lineage_graph
from catalog.access import Actor
from catalog.api_choices import Direction, DriftStatus
from catalog.deps import SESSION, get_actor
from catalog.errors import InvalidInput, TooLarge
from catalog.lineage import ColumnEdge, DatasetRef, ModelSpec, RunRecord

router = APIRouter(tags=["lineage"])


def _text() -> Any:
    """An optional name parameter. A fresh `Query` per parameter: FastAPI binds a shared one to one name."""
    return Query(None, max_length=1000)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused beyond `limit` bytes before it is all in memory."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the request body is larger than {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/api/v1/lineage", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description": "an OpenLineage RunEvent"}}}}})
async def api_openlineage(request: Request, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """One OpenLineage event (JSON, optionally gzip); redeliveries are acknowledged and ignored."""
    from catalog.openlineage import MAX_EVENT_BYTES, decode_body, ingest

    event = decode_body(await _body(request, MAX_EVENT_BYTES), request.headers.get("content-encoding"))
    return await run_in_threadpool(ingest, request.app.state.settings, actor, event)


class InputSpec(BaseModel):
    dataset: str = Field(max_length=1000)
    version: str | None = Field(None, max_length=200)
    namespace: str | None = Field(None, max_length=500)
    columns: list[str] = Field(default_factory=list, max_length=1000)


class ModelBody(BaseModel):
    name: str = Field(max_length=500)
    version: str | None = Field(None, max_length=200)
    framework: str | None = Field(None, max_length=200)
    metrics: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    location: str | None = Field(None, max_length=4000)


class RunBody(BaseModel):
    """`POST /api/v1/runs`: what `client.log_run` sends."""

    name: str = Field(max_length=1000, description="the job that ran, e.g. train-churn")
    run_id: str | None = Field(None, max_length=200, description="your id for the run (retries merge into it)")
    state: str = "complete"
    inputs: list[InputSpec] = Field(default_factory=list, max_length=500)
    outputs: list[InputSpec] = Field(default_factory=list, max_length=500)
    models: list[ModelBody] = Field(default_factory=list, max_length=100)
    metrics: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    parameters: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    column_lineage: list[dict[str, str]] = Field(default_factory=list, max_length=10_000)


def run_record(body: RunBody) -> RunRecord:
    """The service's record of a client's run (shared by the API and the local client)."""
    def refs(items: list[InputSpec]) -> list[DatasetRef]:
        return [DatasetRef(i.dataset, i.version, i.namespace, tuple(i.columns)) for i in items]

    try:
        edges = [ColumnEdge(e["output_dataset"], e["output_column"], e["input_dataset"], e["input_column"],
                            e.get("transformation")) for e in body.column_lineage]
    except KeyError as missing:
        raise InvalidInput(f"column_lineage entries need {missing}") from None
    return RunRecord(job_name=body.name, run_key=body.run_id, state=body.state, origin="client",
                     inputs=refs(body.inputs), outputs=refs(body.outputs),
                     models=[ModelSpec(m.name, m.version, m.framework, m.metrics, m.location) for m in body.models],
                     metrics=body.metrics, parameters=body.parameters, column_edges=edges)


@router.post("/api/v1/runs")
def api_log_run(body: RunBody = Body(...), session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Record a run: the exact versions it read, what it wrote, the models it produced and its metrics."""
    return lineage.run_view(session, actor, lineage.record_run(session, actor, run_record(body)))


@router.get("/api/v1/runs")
def api_runs(run: str | None = Query(None, max_length=200), job: str | None = _text(),
             limit: int = Query(100, ge=1, le=1000), session: Session = SESSION,
             actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Recent runs (of one job), or one run by its id."""
    if run:
        return lineage.get_run(session, actor, run)
    return lineage.list_runs(session, actor, job, limit)


@router.get("/api/v1/models")
def api_models(name: str | None = Query(None, max_length=500), status: DriftStatus | None = Query(None),
               session: Session = SESSION, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Models with their drift status (filter by name or status)."""
    return lineage.list_models(session, actor, name, status)


@router.get("/api/v1/models/detail")
def api_model(name: str = Query(..., max_length=500), version: str | None = Query(None, max_length=200),
              session: Session = SESSION, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """One model: its run, the versions it was trained on, its latest drift verdict and the history."""
    model = lineage.find_model(session, actor, name, version)
    return lineage.model_view(session, actor, model, detail=True)


@router.get("/api/v1/lineage/graph")
def api_graph(dataset: str | None = _text(), version: str | None = Query(None, max_length=80),
              column: str | None = _text(), model: str | None = Query(None, max_length=500),
              model_version: str | None = Query(None, max_length=200), run: str | None = Query(None, max_length=200),
              direction: Direction = Query("both"), depth: int = Query(6, ge=1, le=20),
              max_nodes: int = Query(200, ge=1, le=5000), session: Session = SESSION,
              actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Upstream and/or downstream of a dataset version, a dataset, a column, a model or a run."""
    focus = lineage_graph.Focus(dataset=dataset, version=version, column=column, model=model,
                                model_version=model_version, run=run)
    return lineage_graph.graph(session, actor, focus, direction, depth, max_nodes)


@router.get("/api/v1/lineage/impact")
def api_impact(dataset: str | None = _text(), version: str | None = Query(None, max_length=80),
               column: str | None = _text(), label: str | None = Query(None, max_length=100),
               session: Session = SESSION, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Models trained on a version, on any version of a dataset or containing a column, or on data with a label."""
    return lineage_graph.impact(session, actor, dataset, version, column, label)


@router.post("/api/v1/lineage/dvc", openapi_extra={"requestBody": {"required": True, "content": {
    "text/plain": {"schema": {"type": "string", "description": "the project's dvc.lock (YAML)"}}}}})
async def api_import_dvc(request: Request, project: str = Query(..., max_length=300),
                         model: list[str] = Query([], description="OUT_PATH=MODEL_NAME, once per model output"),
                         actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Import the runs of a DVC project from its `dvc.lock` (the request body)."""
    from catalog.db import session_scope
    from catalog.lineage_dvc import MAX_LOCK_BYTES, import_lock

    try:
        text = (await _body(request, MAX_LOCK_BYTES)).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("dvc.lock must be UTF-8 text") from None
    models = dict(parse_model_option(item) for item in model)

    def run() -> dict[str, Any]:
        with session_scope(request.app.state.settings) as session:
            return import_lock(session, actor, text, project, models)

    return await run_in_threadpool(run)


def parse_model_option(item: str) -> tuple[str, str]:
    """`OUT_PATH=MODEL_NAME` (the CLI's `--model` and the API's `model`)."""
    path, sep, name = item.partition("=")
    if not sep or not path.strip() or not name.strip():
        raise InvalidInput(f"model '{item}' must look like OUT_PATH=MODEL_NAME (e.g. model.pkl=churn)")
    return path.strip(), name.strip()


@router.post("/api/v1/watch")
async def api_watch(request: Request, thresholds: str | None = Query(None, max_length=200),
                    model: str | None = Query(None, max_length=500), force: bool = False,
                    reprofile_after_minutes: float = Query(60.0, ge=0, le=60 * 24 * 365),
                    actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Run the drift watch now (as `catalog watch` does from cron)."""
    from catalog.drift_measures import Thresholds
    from catalog.drift_watch import watch

    settings = request.app.state.settings
    chosen = Thresholds.parse(thresholds) if thresholds else None
    return await run_in_threadpool(watch, settings, actor, chosen, model=model, force=force,
                                   reprofile_after_s=reprofile_after_minutes * 60)
