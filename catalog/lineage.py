"""Recording lineage: runs, the exact dataset versions they read and wrote, and the models they produced.

A run names its inputs as catalog datasets: a published dataset resolves to one immutable version (the version
asked for, by number or content hash; without one, the latest at the moment the run is recorded, and the record
says so); a crawled dataset has no versions, so the run keeps its schema hash and a value-free snapshot of its
profile, which is what drift is later measured against. OpenLineage events may also name datasets the catalog
does not know: those are kept as external nodes, so the graph is complete even where the catalog is not.

Recording is idempotent per `run_key`: a second report of the same run (an OpenLineage COMPLETE after its START,
a retried client call) merges into the first; the state only moves forward.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, can, require
from catalog.errors import Conflict, InvalidInput, NotFound
from catalog.models import (
    ColumnLineage,
    Dataset,
    DatasetVersion,
    LineageRun,
    PublishedDataset,
    RunDataset,
    TrainedModel,
    utcnow,
)
from catalog.secrets import redact_url

CATALOG_NAMESPACE = "catalog"
STATES = ("running", "complete", "failed", "aborted")
TERMINAL = {"complete", "failed", "aborted"}
MAX_REFS = 500
MAX_VALUES = 1000  # metrics plus parameters of one run, metrics of one model
MAX_VALUE_CHARS = 10_000
NAME_LIMIT = 1000
MODEL_NAME = re.compile(r"^[^\x00-\x1f]{1,500}$")


@dataclass(frozen=True)
class DatasetRef:
    """A dataset a run used. `version`: `v3`, `3` or a content hash prefix; None means latest (published) or as
    it is now (crawled). `namespace` is None or "catalog" for catalog names, else an OpenLineage namespace."""

    dataset: str
    version: str | None = None
    namespace: str | None = None
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """A model a run produced; `version` None takes the next number for that model name."""

    name: str
    version: str | None = None
    framework: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    location: str | None = None


@dataclass(frozen=True)
class ColumnEdge:
    output_dataset: str
    output_column: str
    input_dataset: str
    input_column: str
    transformation: str | None = None


@dataclass
class RunRecord:
    """Everything known about a run at one moment (a client call, one OpenLineage event, one DVC stage)."""

    job_name: str
    run_key: str | None = None
    job_namespace: str = CATALOG_NAMESPACE
    state: str = "complete"
    origin: str = "client"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    inputs: Sequence[DatasetRef] = ()
    outputs: Sequence[DatasetRef] = ()
    models: Sequence[ModelSpec] = ()
    metrics: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    column_edges: Sequence[ColumnEdge] = ()
    strict: bool = True  # an unknown catalog dataset is an error (client calls), not an external node (events)


def record_run(session: Session, actor: Actor, record: RunRecord) -> LineageRun:
    """Create or update the run `record.run_key` with what `record` adds; returns the stored run."""
    require(actor, Action.RECORD_LINEAGE, Resource.catalog())
    _check_record(record)
    run = session.scalar(select(LineageRun).where(LineageRun.run_key == record.run_key)) if record.run_key else None
    if run is None:
        run = LineageRun(run_key=record.run_key or str(uuid.uuid4()), job_namespace=record.job_namespace,
                         job_name=record.job_name, state=record.state, origin=record.origin,
                         started_at=record.started_at, ended_at=record.ended_at, metrics=dict(record.metrics),
                         parameters=dict(record.parameters), created_by=actor.name)
        session.add(run)
        session.flush()
    else:
        _merge_run(run, record)
    known = {_ref_key(r) for r in session.scalars(select(RunDataset).where(RunDataset.run_id == run.id))}
    renamed: dict[str, str] = {}  # an event's dataset name -> the catalog's, for its column lineage
    for direction, refs in (("in", record.inputs), ("out", record.outputs)):
        for ref in refs:
            row = _resolve(session, actor, ref, direction, record.strict)
            row.run_id = run.id
            renamed[ref.dataset] = row.dataset_name
            if _ref_key(row) not in known:
                known.add(_ref_key(row))
                session.add(row)
    for spec in record.models:
        _add_model(session, actor, run, spec)
    _add_column_edges(session, run, [
        ColumnEdge(renamed.get(e.output_dataset, e.output_dataset), e.output_column,
                   renamed.get(e.input_dataset, e.input_dataset), e.input_column, e.transformation)
        for e in record.column_edges])
    session.flush()
    return run


def _check_record(record: RunRecord) -> None:
    if not record.job_name or not record.job_name.strip() or len(record.job_name) > NAME_LIMIT:
        raise InvalidInput("a run needs a name (the job it ran) of 1 to 1000 characters")
    if record.run_key is not None and not 1 <= len(record.run_key) <= 200:
        raise InvalidInput("run id must have 1 to 200 characters")
    if record.state not in STATES:
        raise InvalidInput(f"run state '{record.state}' is not one of {', '.join(STATES)}")
    if len(record.inputs) + len(record.outputs) + len(record.models) > MAX_REFS:
        raise InvalidInput(f"a run may name at most {MAX_REFS} inputs, outputs and models")
    for ref in (*record.inputs, *record.outputs):
        if not ref.dataset or len(ref.dataset) > NAME_LIMIT:
            raise InvalidInput("every input and output needs a dataset name of 1 to 1000 characters")
    _check_values({**record.metrics, **record.parameters}, "the run's metrics and parameters")
    for spec in record.models:
        _check_values(spec.metrics, f"model '{str(spec.name)[:100]}' metrics")


def _check_values(values: Mapping[str, Any], what: str) -> None:
    """Metrics and parameters are small scalars: bounded in number and size, so one run cannot bloat the store
    (a body limit alone would still let one 16 MiB string through)."""
    if len(values) > MAX_VALUES:
        raise InvalidInput(f"{what}: at most {MAX_VALUES} values, not {len(values)}")
    for name, value in values.items():
        if not isinstance(name, str) or len(name) > 200:
            raise InvalidInput("metric and parameter names must be text of at most 200 characters")
        if not isinstance(value, str | int | float | bool | None):
            raise InvalidInput(f"metric or parameter '{name}' must be a number, text or boolean")
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            raise InvalidInput(f"metric or parameter '{name}' is longer than {MAX_VALUE_CHARS:,} characters")


def _merge_run(run: LineageRun, record: RunRecord) -> None:
    """Later news about the same run: the state moves forward only; times and numbers are filled in."""
    if record.state in TERMINAL or run.state not in TERMINAL:
        run.state = record.state
    run.started_at = run.started_at or record.started_at
    run.ended_at = record.ended_at or run.ended_at
    run.metrics = {**run.metrics, **record.metrics}
    run.parameters = {**run.parameters, **record.parameters}
    run.updated_at = utcnow()


def _ref_key(row: RunDataset) -> tuple[Any, ...]:
    return row.direction, row.kind, row.version_id, row.dataset_name, row.namespace


def _resolve(session: Session, actor: Actor, ref: DatasetRef, direction: str, strict: bool) -> RunDataset:
    """The stored form of one input or output (see the module docstring)."""
    from catalog.versions import find_version

    catalog_name = ref.dataset if ref.namespace in (None, "", CATALOG_NAMESPACE) else None
    if catalog_name is None:
        catalog_name = _catalog_name_for(session, ref.namespace or "", ref.dataset)
    columns = [c for c in ref.columns if c][:1000]
    if catalog_name is not None:
        published = session.scalar(select(PublishedDataset.id).where(PublishedDataset.name == catalog_name))
        if published is not None:
            requested = (ref.version or "").strip() or None
            version = find_version(session, actor, catalog_name, _version_ref(requested))
            how = "latest when recorded" if requested is None else f"as given ({requested})"
            return RunDataset(direction=direction, version_id=version.id, dataset_name=catalog_name,
                              kind="version", resolution=how, requested=requested, columns=columns)
        dataset = session.scalar(select(Dataset).where(Dataset.name == catalog_name, Dataset.deleted_at.is_(None)))
        if dataset is not None:
            require(actor, Action.READ_METADATA, Resource.dataset(catalog_name))
            return RunDataset(direction=direction, dataset_name=catalog_name, kind="crawled",
                              resolution="crawled dataset as it was when recorded", requested=ref.version,
                              columns=columns, schema_hash=dataset.schema_hash,
                              snapshot=crawled_snapshot(session, dataset))
    if strict and ref.namespace in (None, "", CATALOG_NAMESPACE):
        raise NotFound(f"'{ref.dataset}' is neither a published nor a crawled dataset of this catalog")
    return RunDataset(direction=direction, dataset_name=ref.dataset, namespace=ref.namespace or None,
                      kind="external", resolution="not in the catalog", requested=ref.version, columns=columns)


def _version_ref(requested: str | None) -> str:
    """A version as OpenLineage or a client sends it: `v3`, `3`, a content hash or a `sha256:` hash."""
    if requested is None:
        return "latest"
    text = requested.strip().lower()
    for prefix in ("sha256:", "md5:"):
        text = text.removeprefix(prefix)
    return text


def _catalog_name_for(session: Session, namespace: str, name: str) -> str | None:
    """The catalog dataset an OpenLineage (namespace, name) points at, if any: a source's own URL as namespace
    (credentials ignored) and a dotted or slashed path inside it as name."""
    from catalog.models import Source

    wanted = _plain_location(namespace)
    if not wanted:
        return None
    parts = [p for p in re.split(r"[./]", name) if p]
    for source_name, url in session.execute(select(Source.name, Source.url)):
        if _plain_location(url) != wanted or not parts:
            continue
        for take in range(min(len(parts), 4), 0, -1):
            candidate = f"{source_name}/{'/'.join(parts[-take:])}"
            if session.scalar(select(Dataset.id).where(Dataset.name == candidate)) is not None:
                return candidate
    return None


def _plain_location(url: str) -> str:
    """`scheme://host:port` without credentials, path or driver suffix, lower-cased (`postgresql+psycopg` and
    `postgres` are the same place)."""
    match = re.match(r"^([a-z][a-z0-9+.-]*)://(?:[^@/]*@)?([^/?#]*)", redact_url(url or "").lower())
    if not match:
        return ""
    scheme = match.group(1).split("+", 1)[0].replace("postgresql", "postgres").replace("mariadb", "mysql")
    return f"{scheme}://{match.group(2)}"


def crawled_snapshot(session: Session, dataset: Dataset) -> dict[str, Any]:
    """What drift is measured against for a crawled dataset: per column its type and value-free profile
    statistics (shares, counts, numeric histograms, hashed top values), and the row estimate."""
    from catalog.profiles import current_profile

    profile = current_profile(session, dataset) or {}
    profiled = profile.get("columns") or {}
    columns = {}
    for column in dataset.columns:
        stats = profiled.get(column.name) or {}
        entry: dict[str, Any] = {"type": column.normalized_type}
        for key in ("null_share", "distinct_estimate", "kind", "true_share", "mean", "std", "median"):
            if stats.get(key) is not None:
                entry[key] = stats[key]
        if stats.get("histogram") and stats.get("kind") != "text":
            entry["histogram"] = stats["histogram"]
        if stats.get("top_values"):
            entry["top"] = {_hashed(v.get("value")): v.get("share") for v in stats["top_values"]}
        columns[column.name] = entry
    return {"rows": dataset.row_estimate, "profiled_at": profile.get("profiled_at"),
            "profile_schema_version": profile.get("schema_version"), "columns": columns}


def _hashed(value: Any) -> str:
    """Top values are compared by hash: drift needs to match them, nobody needs to read them here."""
    return hashlib.sha256(str(value).encode()).hexdigest()[:16]


def _add_model(session: Session, actor: Actor, run: LineageRun, spec: ModelSpec) -> TrainedModel:
    if not MODEL_NAME.match(spec.name or ""):
        raise InvalidInput("a model needs a name of 1 to 500 printable characters")
    require(actor, Action.RECORD_LINEAGE, Resource.model(spec.name))
    version = (spec.version or "").strip()
    if len(version) > 200:
        raise InvalidInput(f"model '{spec.name}': version longer than 200 characters")
    if version:
        existing = session.scalar(select(TrainedModel).where(TrainedModel.name == spec.name,
                                                             TrainedModel.version == version))
        if existing is not None:
            if existing.run_id != run.id:
                raise Conflict(f"model '{spec.name}' version '{version}' was already recorded by another run")
            existing.metrics = {**existing.metrics, **dict(spec.metrics)}
            existing.framework = spec.framework or existing.framework
            existing.location = _location(spec.location) or existing.location
            return existing
    else:
        version = str(_next_model_number(session, spec.name))
    model = TrainedModel(name=spec.name, version=version, framework=(spec.framework or None),
                         metrics=dict(spec.metrics), location=_location(spec.location), run_id=run.id,
                         created_by=actor.name)
    session.add(model)
    session.flush()
    return model


def _next_model_number(session: Session, name: str) -> int:
    versions = session.scalars(select(TrainedModel.version).where(TrainedModel.name == name))
    numbers = [int(v) for v in versions if v.isdigit()]
    return max(numbers, default=0) + 1


def _location(location: str | None) -> str | None:
    """Where the model is stored, without any credentials a URL might carry: a password is masked and a query
    string dropped (presigned URLs carry their signature there)."""
    if not location:
        return None
    if len(location) > 4000:
        raise InvalidInput("model location longer than 4000 characters")
    if "://" in location:
        location = location.split("?", 1)[0].split("#", 1)[0]
    return redact_url(location)


def _add_column_edges(session: Session, run: LineageRun, edges: Sequence[ColumnEdge]) -> None:
    if not edges:
        return
    known = {tuple(row) for row in session.execute(
        select(ColumnLineage.output_dataset, ColumnLineage.output_column, ColumnLineage.input_dataset,
               ColumnLineage.input_column).where(ColumnLineage.run_id == run.id))}
    for edge in edges[:10_000]:
        key = (edge.output_dataset, edge.output_column, edge.input_dataset, edge.input_column)
        if key not in known and all(key) and all(len(k) <= NAME_LIMIT for k in key):
            known.add(key)
            session.add(ColumnLineage(run_id=run.id, output_dataset=edge.output_dataset,
                                      output_column=edge.output_column, input_dataset=edge.input_dataset,
                                      input_column=edge.input_column,
                                      transformation=(edge.transformation or None) and edge.transformation[:200]))


# -- reading runs and models -----------------------------------------------------------------------------------

def run_view(session: Session, actor: Actor, run: LineageRun) -> dict[str, Any]:
    """A run with its inputs and outputs (each version with its content hash) and the models it produced."""
    rows = list(session.scalars(select(RunDataset).where(RunDataset.run_id == run.id).order_by(RunDataset.id)))
    versions = _versions_by_id(session, [r.version_id for r in rows if r.version_id])
    models = session.scalars(select(TrainedModel).where(TrainedModel.run_id == run.id).order_by(TrainedModel.id))
    return {
        "run_id": run.run_key, "job": run.job_name, "namespace": run.job_namespace, "state": run.state,
        "origin": run.origin, "started_at": _iso(run.started_at), "ended_at": _iso(run.ended_at),
        "metrics": run.metrics, "parameters": run.parameters, "recorded_by": run.created_by,
        "recorded_at": _iso(run.created_at),
        "inputs": [_ref_view(actor, r, versions) for r in rows if r.direction == "in"],
        "outputs": [_ref_view(actor, r, versions) for r in rows if r.direction == "out"],
        "models": [{"name": m.name, "version": m.version} for m in models
                   if can(actor, Action.READ_METADATA, Resource.model(m.name))],
    }


def _versions_by_id(session: Session, ids: Sequence[int]) -> dict[int, DatasetVersion]:
    if not ids:
        return {}
    return {v.id: v for v in session.scalars(select(DatasetVersion).where(DatasetVersion.id.in_(set(ids))))}


def _ref_view(actor: Actor, row: RunDataset, versions: Mapping[int, DatasetVersion]) -> dict[str, Any]:
    view: dict[str, Any] = {"dataset": row.dataset_name, "kind": row.kind, "namespace": row.namespace,
                            "resolution": row.resolution, "columns": row.columns}
    if row.kind != "external" and not can(actor, Action.DISCOVER, Resource.dataset(row.dataset_name)):
        return {"dataset": None, "kind": "hidden", "namespace": None, "resolution": None, "columns": []}
    version = versions.get(row.version_id or 0)
    if version is not None:
        view.update(version=f"v{version.number}", content_hash=version.content_hash)
    elif row.kind == "crawled":
        view["schema_hash"] = row.schema_hash
    return view


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def get_run(session: Session, actor: Actor, run_key: str) -> dict[str, Any]:
    """One run (job, state, metrics, what it read and wrote): lineage is metadata (`read_metadata`)."""
    require(actor, Action.READ_METADATA, Resource.catalog())
    run = session.scalar(select(LineageRun).where(LineageRun.run_key == run_key))
    if run is None:
        raise NotFound(f"run '{run_key}' does not exist")
    return run_view(session, actor, run)


def list_runs(session: Session, actor: Actor, job: str | None = None, limit: int = 100) -> dict[str, Any]:
    """Recent runs, newest first (optionally of one job)."""
    require(actor, Action.READ_METADATA, Resource.catalog())
    query = select(LineageRun).order_by(LineageRun.created_at.desc(), LineageRun.id.desc()).limit(min(limit, 1000))
    if job:
        query = query.where(LineageRun.job_name == job)
    return {"runs": [run_view(session, actor, r) for r in session.scalars(query)]}


def find_model(session: Session, actor: Actor, name: str, version: str | None = None) -> TrainedModel:
    """Model `name` at `version` (None or "latest": the most recently recorded one)."""
    require(actor, Action.READ_METADATA, Resource.model(name))
    query = select(TrainedModel).where(TrainedModel.name == name)
    if version and version.strip().lower() != "latest":
        query = query.where(TrainedModel.version == version.strip())
    model = session.scalar(query.order_by(TrainedModel.created_at.desc(), TrainedModel.id.desc()).limit(1))
    if model is None:
        raise NotFound(f"model '{name}'" + (f" version '{version}'" if version else "") + " does not exist")
    return model


def model_view(session: Session, actor: Actor, model: TrainedModel, detail: bool = False) -> dict[str, Any]:
    """A model with the run that produced it (and, with `detail`, its drift checks)."""
    from catalog.models import DriftCheck

    run = session.get(LineageRun, model.run_id) if model.run_id else None
    view: dict[str, Any] = {
        "name": model.name, "version": model.version, "framework": model.framework, "metrics": model.metrics,
        "location": model.location, "recorded_by": model.created_by, "recorded_at": _iso(model.created_at),
        "drift_status": model.drift_status, "drift_checked_at": _iso(model.drift_checked_at),
        "run": run_view(session, actor, run) if run is not None else None,
    }
    latest = session.scalar(select(DriftCheck).where(DriftCheck.model_id == model.id)
                            .order_by(DriftCheck.checked_at.desc(), DriftCheck.id.desc()).limit(1))
    view["drift"] = _drift_view(latest) if latest else None
    if detail:
        history = session.scalars(select(DriftCheck).where(DriftCheck.model_id == model.id)
                                  .order_by(DriftCheck.checked_at.desc(), DriftCheck.id.desc()).limit(20))
        view["drift_history"] = [_drift_view(c, with_detail=False) for c in history]
    return view


def _drift_view(check: Any, with_detail: bool = True) -> dict[str, Any]:
    view = {"status": check.status, "checked_at": _iso(check.checked_at), "summary": check.summary,
            "thresholds": check.thresholds}
    if with_detail:
        view["inputs"] = check.detail
    return view


def list_models(session: Session, actor: Actor, name: str | None = None, status: str | None = None,
                limit: int = 200) -> dict[str, Any]:
    """Models, newest first, with their drift status (only those the actor may see)."""
    require(actor, Action.DISCOVER, Resource.catalog())
    query = select(TrainedModel).order_by(TrainedModel.created_at.desc(), TrainedModel.id.desc())
    if name:
        query = query.where(TrainedModel.name == name)
    if status:
        query = query.where(TrainedModel.drift_status == status)
    models = [m for m in session.scalars(query.limit(min(limit, 2000)))
              if can(actor, Action.READ_METADATA, Resource.model(m.name))]
    counts: dict[str, int] = {}
    for model in models:
        counts[model.drift_status] = counts.get(model.drift_status, 0) + 1
    return {"models": [_model_row(m) for m in models], "status_counts": counts}


def _model_row(model: TrainedModel) -> dict[str, Any]:
    return {"name": model.name, "version": model.version, "framework": model.framework, "metrics": model.metrics,
            "drift_status": model.drift_status, "drift_checked_at": _iso(model.drift_checked_at),
            "recorded_at": _iso(model.created_at)}
