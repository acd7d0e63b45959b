"""`catalog watch`: tell each model whether its training data has drifted enough to retrain.

For every model, each input its training run read is compared with that input now: a published dataset's
latest version against the version the model was trained on; a crawled dataset's current schema and profile
against the snapshot taken when the run was recorded. Models become `retrain_recommended` when any input crosses
a threshold (`catalog.drift_measures.Thresholds`) and `no_retrain_needed` otherwise; the evidence is stored in
`drift_checks` and shown on the model page and in the API.

Safe from cron: one watch at a time per catalog home (a second one returns at once with status `busy`); a model
whose inputs have not changed since its last check (same latest versions, same crawled schema and profile, same
thresholds) is skipped, so a watch every five minutes costs a few queries when nothing happened; a model whose
check fails (a version's file cannot be fetched) keeps its previous verdict and the failure is reported.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, require
from catalog.db import session_scope
from catalog.drift_measures import Thresholds, column_verdicts, snapshot_drift
from catalog.errors import CatalogError
from catalog.lineage import crawled_snapshot
from catalog.models import (
    Dataset,
    DatasetVersion,
    DriftCheck,
    RunDataset,
    TrainedModel,
    utcnow,
)
from catalog.settings import Settings

RETRAIN, NO_RETRAIN = "retrain_recommended", "no_retrain_needed"
DRIFT_STATUSES = ("unchecked", NO_RETRAIN, RETRAIN)  # a model's `drift_status`: never checked, then the verdicts
REPROFILE_AFTER_S = 3600.0


@contextmanager
def _single_watch(settings: Settings) -> Iterator[bool]:
    """True when this process holds the watch lock of the catalog home, False when another watch does."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / "watch.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def watch(settings: Settings, actor: Actor, thresholds: Thresholds | None = None, *, model: str | None = None,
          force: bool = False, reprofile_after_s: float = REPROFILE_AFTER_S) -> dict[str, Any]:
    """Check every model (or those named `model`); returns what was checked, skipped and failed.

    Crawled inputs whose profile is older than `reprofile_after_s` are sampled and profiled again first: a crawl
    notices schema changes, but new or changed rows only show in a fresh sample.
    """
    require(actor, Action.MANAGE, Resource.catalog())
    thresholds = thresholds or Thresholds.parse(settings.drift_thresholds)
    with _single_watch(settings) as mine:
        if not mine:
            return {"status": "busy", "message": "another catalog watch is running on this catalog"}
        with session_scope(settings) as session:
            query = select(TrainedModel.id).order_by(TrainedModel.id)
            if model:
                query = query.where(TrainedModel.name == model)
            ids = list(session.scalars(query))
            stale = _stale_crawled_inputs(session, ids, reprofile_after_s)
        reprofiled = _reprofile(settings, actor, stale)
        diffs: dict[tuple[int, int], dict[str, Any]] = {}
        checked, skipped, failed = [], 0, []
        for model_id in ids:
            try:
                result = _check_model(settings, actor, model_id, thresholds, force, diffs)
            except CatalogError as exc:
                failed.append({"model_id": model_id, "error": str(exc)})
                continue
            if result is None:
                skipped += 1
            else:
                checked.append(result)
    counts: dict[str, int] = {}
    for item in checked:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return {"status": "done", "models": len(ids), "reprofiled": reprofiled, "checked": checked,
            "skipped_unchanged": skipped,
            "failed": failed, "counts": counts, "thresholds": thresholds.as_dict()}


def _stale_crawled_inputs(session: Session, model_ids: list[int], max_age_s: float) -> list[str]:
    """Crawled datasets read by these models' runs whose newest profile is older than `max_age_s` (or missing)."""
    from catalog.models import Profile

    runs = select(TrainedModel.run_id).where(TrainedModel.id.in_(model_ids))
    names = sorted(set(session.scalars(select(RunDataset.dataset_name).where(
        RunDataset.run_id.in_(runs), RunDataset.direction == "in", RunDataset.kind == "crawled"))))
    cutoff = utcnow() - timedelta(seconds=max_age_s)
    stale = []
    for name in names:
        dataset = session.scalar(select(Dataset).where(Dataset.name == name, Dataset.deleted_at.is_(None)))
        if dataset is None:
            continue
        newest = session.scalar(select(func.max(Profile.profiled_at)).where(Profile.dataset_id == dataset.id))
        if newest is None or newest <= cutoff:
            stale.append(name)
    return stale


def _reprofile(settings: Settings, actor: Actor, names: list[str]) -> list[str]:
    """Sample and profile these datasets again (no descriptions: only the statistics matter here)."""
    if not names:
        return []
    from catalog.annotate import annotate

    annotate(settings, actor, datasets=names, backend="none")
    return names


def _check_model(settings: Settings, actor: Actor, model_id: int, thresholds: Thresholds, force: bool,
                 diffs: dict[tuple[int, int], dict[str, Any]]) -> dict[str, Any] | None:
    with session_scope(settings) as session:
        model = session.get(TrainedModel, model_id)
        if model is None:
            return None
        inputs = list(session.scalars(select(RunDataset).where(
            RunDataset.run_id == model.run_id, RunDataset.direction == "in", RunDataset.kind != "external")
            .order_by(RunDataset.id))) if model.run_id else []
        states = [_current_state(session, row) for row in inputs]
        basis = hashlib.sha256(json.dumps([thresholds.as_dict(), states], sort_keys=True,
                                          default=str).encode()).hexdigest()
        last = session.scalar(select(DriftCheck.basis).where(DriftCheck.model_id == model.id)
                              .order_by(DriftCheck.checked_at.desc(), DriftCheck.id.desc()).limit(1))
        if last == basis and not force:
            return None
        details = [_input_drift(settings, session, actor, row, state, thresholds, diffs)
                   for row, state in zip(inputs, states, strict=True)]
        status = RETRAIN if any(d["exceeds"] for d in details) else NO_RETRAIN
        summary = _summary(status, details)
        session.add(DriftCheck(model_id=model.id, status=status, basis=basis, thresholds=thresholds.as_dict(),
                               detail=details, summary=summary))
        model.drift_status = status
        model.drift_checked_at = utcnow()
        return {"model": model.name, "version": model.version, "status": status, "summary": summary}


def _current_state(session: Session, row: RunDataset) -> dict[str, Any]:
    """What the input is now, as far as the skip test cares (ids and hashes, no statistics)."""
    if row.kind == "version":
        trained = session.get(DatasetVersion, row.version_id)
        latest = session.scalar(select(DatasetVersion).where(DatasetVersion.published_id == trained.published_id)
                                .order_by(DatasetVersion.number.desc()).limit(1)) if trained else None
        return {"input": row.id, "trained": row.version_id, "latest": latest.id if latest else None}
    dataset = session.scalar(select(Dataset).where(Dataset.name == row.dataset_name))
    if dataset is None:
        return {"input": row.id, "missing": True}
    from catalog.profiles import current_profile

    profile = current_profile(session, dataset) or {}
    return {"input": row.id, "schema": dataset.schema_hash, "deleted": dataset.deleted_at is not None,
            "profiled_at": profile.get("profiled_at")}


def _input_drift(settings: Settings, session: Session, actor: Actor, row: RunDataset, state: dict[str, Any],
                 thresholds: Thresholds, diffs: dict[tuple[int, int], dict[str, Any]]) -> dict[str, Any]:
    base = {"dataset": row.dataset_name, "kind": row.kind, "columns_used": row.columns}
    if row.kind == "version":
        return {**base, **_version_drift(settings, session, actor, row, state, thresholds, diffs)}
    if state.get("missing") or state.get("deleted"):
        return {**base, "changed": True, "exceeds": True, "reasons": ["the dataset is gone from its source"],
                "columns": []}
    dataset = session.scalar(select(Dataset).where(Dataset.name == row.dataset_name))
    now = crawled_snapshot(session, dataset)
    if state["schema"] == row.schema_hash and now.get("profiled_at") == row.snapshot.get("profiled_at"):
        return {**base, "changed": False, "exceeds": False, "reasons": [], "columns": [],
                "compared": "unchanged since training"}
    diff = snapshot_drift(row.snapshot, now, row.columns)
    return {**base, "changed": True, "compared": "profile when trained → profile now", "rows": diff["rows"],
            **_verdict(diff["removed"], diff["type_changed"], diff["columns"], thresholds)}


def _version_drift(settings: Settings, session: Session, actor: Actor, row: RunDataset, state: dict[str, Any],
                   thresholds: Thresholds, diffs: dict[tuple[int, int], dict[str, Any]]) -> dict[str, Any]:
    from catalog.version_diff import diff_parquet
    from catalog.versions import version_file

    trained, latest = session.get(DatasetVersion, state["trained"]), session.get(DatasetVersion, state["latest"])
    if trained is None or latest is None or trained.id == latest.id:
        return {"trained_on": f"v{trained.number}" if trained else None, "changed": False, "exceeds": False,
                "reasons": [], "columns": [], "compared": "no newer version"}
    key = (trained.id, latest.id)
    if key not in diffs:
        name = row.dataset_name
        _, old_path = version_file(settings, session, actor, name, f"v{trained.number}")
        _, new_path = version_file(settings, session, actor, name, f"v{latest.number}")
        diffs[key] = diff_parquet(old_path, new_path)
    diff = diffs[key]
    used = set(row.columns)
    columns = [c for c in diff["drift"] if not used or c["column"] in used]
    removed = [c["name"] for c in diff["schema"]["removed"] if not used or c["name"] in used]
    retyped = [c["name"] for c in diff["schema"]["type_changed"] if not used or c["name"] in used]
    return {"trained_on": f"v{trained.number}", "latest": f"v{latest.number}", "changed": True,
            "compared": f"v{trained.number} → v{latest.number}", "rows": diff["rows"],
            **_verdict(removed, retyped, columns, thresholds)}


def _verdict(removed: list[str], retyped: list[str], columns: list[dict[str, Any]],
             thresholds: Thresholds) -> dict[str, Any]:
    verdicts = column_verdicts(columns, thresholds)
    reasons = ([f"column '{c}' removed" for c in removed] + [f"column '{c}' changed type" for c in retyped]
               + [f"'{v['column']}': {'; '.join(v['reasons'])}" for v in verdicts if v["exceeds"]])
    return {"exceeds": bool(reasons), "reasons": reasons, "removed": removed, "type_changed": retyped,
            "columns": verdicts}


def _summary(status: str, details: list[dict[str, Any]]) -> str:
    if not details:
        return "no catalog inputs recorded for this model's run: nothing to compare"
    if status == RETRAIN:
        moved = [f"{d['dataset']} ({d.get('compared', 'changed')}): {d['reasons'][0]}"
                 + (f" and {len(d['reasons']) - 1} more" if len(d["reasons"]) > 1 else "")
                 for d in details if d["exceeds"]]
        return "retrain recommended: " + "; ".join(moved)
    changed = [d for d in details if d.get("changed")]
    if not changed:
        return "no retrain needed: the training data has not changed"
    return ("no retrain needed: " + ", ".join(f"{d['dataset']} ({d.get('compared')})" for d in changed)
            + " moved less than the thresholds")

