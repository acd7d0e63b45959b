"""Import lineage from a DVC project's `dvc.lock`.

`dvc.lock` records, per pipeline stage, the md5 of every dependency and output as they were when the stage last
ran. A published version's md5 is DVC's md5 of its Parquet file, so a dependency whose md5 equals a version's is
exactly that version, whatever the file is called in the project. Each stage becomes one run; its key is derived
from the project, the stage and those hashes, so importing the same lock file again changes nothing, and a stage
re-run on new data becomes a new run.

Outputs that are published versions become the run's outputs; outputs named as models (`models={path: name}`)
become models whose version is the output's md5 (the bytes identify the model); the rest are kept as external
datasets of the project, so the graph shows them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Actor
from catalog.errors import InvalidInput
from catalog.lineage import DatasetRef, ModelSpec, RunRecord, record_run, run_view
from catalog.models import DatasetVersion, PublishedDataset

MAX_LOCK_BYTES = 8 * 1024 * 1024


def read_lock(project: Path) -> str:
    """The text of `project/dvc.lock` (or of the lock file itself when given)."""
    path = project / "dvc.lock" if project.is_dir() else project
    if not path.is_file():
        raise InvalidInput(f"no dvc.lock at {path}: run the pipeline (dvc repro) first")
    if path.stat().st_size > MAX_LOCK_BYTES:
        raise InvalidInput(f"{path} is larger than {MAX_LOCK_BYTES:,} bytes")
    return path.read_text(encoding="utf-8")


def import_lock(session: Session, actor: Actor, text: str, project: str,
                models: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Record one run per stage of the lock file `text` of project `project`; returns what was matched."""
    if not project or len(project) > 300:
        raise InvalidInput("name the DVC project (1 to 300 characters); it prefixes the stage names")
    stages = _stages(text)
    models = dict(models or {})
    unknown = set(models) - {o["path"] for s in stages.values() for o in s["outs"]}
    if unknown:
        raise InvalidInput(f"model output(s) {', '.join(sorted(unknown))} are not outputs of any stage in dvc.lock")
    runs = []
    for stage, spec in stages.items():
        record = RunRecord(job_name=f"{project}:{stage}", run_key=_run_key(project, stage, spec),
                           job_namespace=f"dvc://{project}", origin="dvc", strict=False,
                           inputs=[ref for dep in spec["deps"] for ref in _refs(session, project, dep)],
                           outputs=[ref for out in spec["outs"] if out["path"] not in models
                                    for ref in _refs(session, project, out)],
                           models=[ModelSpec(name=models[o["path"]], version=(o.get("md5") or "")[:12] or None,
                                             location=f"dvc://{project}/{o['path']}")
                                   for o in spec["outs"] if o["path"] in models],
                           parameters={"cmd": str(spec.get("cmd") or "")[:2000]})
        runs.append(run_view(session, actor, record_run(session, actor, record)))
    matched = sum(1 for r in runs for i in r["inputs"] + r["outputs"] if i["kind"] == "version")
    return {"project": project, "stages": len(runs), "versions_matched": matched, "runs": runs}


def _stages(text: str) -> dict[str, dict[str, Any]]:
    """Stages of a dvc.lock (schema 2.0, or the older one without `schema`), checked for shape."""
    if len(text.encode()) > MAX_LOCK_BYTES:
        raise InvalidInput(f"dvc.lock is larger than {MAX_LOCK_BYTES:,} bytes")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"dvc.lock is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(document, dict):
        raise InvalidInput("dvc.lock must be a mapping of stages")
    stages = document.get("stages", document) if "schema" in document else document
    if not isinstance(stages, dict) or not stages:
        raise InvalidInput("dvc.lock has no stages")
    checked = {}
    for name, spec in stages.items():
        if not isinstance(spec, dict):
            raise InvalidInput(f"stage '{name}' of dvc.lock is not a mapping")
        checked[str(name)] = {"cmd": spec.get("cmd"), "deps": _files(name, spec, "deps"),
                              "outs": _files(name, spec, "outs")}
    return checked


def _files(stage: Any, spec: dict[str, Any], key: str) -> list[dict[str, Any]]:
    files = spec.get(key) or []
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("path"), str) for f in files):
        raise InvalidInput(f"stage '{stage}': '{key}' must be a list of entries with a path")
    return files


def _run_key(project: str, stage: str, spec: dict[str, Any]) -> str:
    hashes = sorted(f"{f['path']}={f.get('md5') or f.get('etag') or ''}" for f in spec["deps"] + spec["outs"])
    digest = hashlib.sha256("\n".join([project, stage, *hashes]).encode()).hexdigest()
    return f"dvc-{digest[:40]}"


def _refs(session: Session, project: str, entry: dict[str, Any]) -> list[DatasetRef]:
    """The catalog versions with exactly this file's md5, or the file itself as an external dataset."""
    md5 = str(entry.get("md5") or "")
    if md5 and not md5.endswith(".dir"):
        found = session.execute(
            select(PublishedDataset.name, DatasetVersion.number)
            .join(DatasetVersion, DatasetVersion.published_id == PublishedDataset.id)
            .where(DatasetVersion.md5 == md5).order_by(PublishedDataset.name)).all()
        if found:
            return [DatasetRef(dataset=name, version=f"v{number}") for name, number in found]
    return [DatasetRef(dataset=entry["path"], namespace=f"dvc://{project}", version=md5 or None)]
