"""OpenLineage run events in, catalog runs out.

`openlineage-python` (and the Airflow, Spark and dbt integrations built on it) POST one JSON event per request to
`/api/v1/lineage`, optionally gzip-compressed, with a bearer token. An event is applied at most once: its key is
the SHA-256 of its canonical JSON, stored in `lineage_events`, so a redelivery (the client retries after a
timeout) changes nothing. Events of one run may arrive in any order; `catalog.lineage.record_run` merges them.

How datasets are read:
- namespace `catalog` (or a source's own URL, e.g. `postgres://db:5432`) names a catalog dataset; others are
  kept as external datasets;
- the input's `version` facet (`datasetVersion`) picks the published version: `v3`, `3`, or a content hash
  (sha256 or DVC md5, a prefix of at least 6 characters, optionally `sha256:`-prefixed); without it, the latest
  version when the event arrives, and the record says so;
- a `schema` facet limits the columns the run is said to have used; a `columnLineage` facet on an output is kept
  as column-level lineage;
- an output with a `catalog_model` facet (`{"name", "version", "framework", "metrics", "location"}`) is a model;
- run facets `catalog_metrics` / `catalog_parameters` (`{"metrics": {...}}` / `{"parameters": {...}}`) carry
  numbers to show with the run.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.access import Actor
from catalog.errors import InvalidInput, TooLarge
from catalog.lineage import ColumnEdge, DatasetRef, ModelSpec, RunRecord, record_run
from catalog.models import LineageEvent
from catalog.settings import Settings

MAX_EVENT_BYTES = 16 * 1024 * 1024
STATE_OF = {"START": "running", "RUNNING": "running", "OTHER": "running", "COMPLETE": "complete",
            "FAIL": "failed", "ABORT": "aborted"}


def decode_body(body: bytes, content_encoding: str | None) -> dict[str, Any]:
    """The event from a request body: gzip (by header or magic bytes) is inflated with a size bound."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip") or body[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, MAX_EVENT_BYTES + 1)
        except (zlib.error, gzip.BadGzipFile):
            raise InvalidInput("the body says it is gzip but does not inflate") from None
        if len(body) > MAX_EVENT_BYTES or inflater.unconsumed_tail:
            raise TooLarge(f"the event is larger than {MAX_EVENT_BYTES:,} bytes once inflated")
    elif encoding not in ("", "identity"):
        raise InvalidInput(f"Content-Encoding '{encoding}' is not supported (send identity or gzip)")
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the body is not a JSON OpenLineage event") from None
    if not isinstance(event, dict):
        raise InvalidInput("an OpenLineage event is a JSON object")
    return event


def ingest(settings: Settings, actor: Actor, event: dict[str, Any]) -> dict[str, Any]:
    """Apply one event; `{"status": "recorded"|"duplicate"|"ignored", "run_id": ...}`."""
    from catalog.access import Action, Resource, require
    from catalog.db import session_scope

    require(actor, Action.RECORD_LINEAGE, Resource.catalog())  # before anything is revealed (duplicate or not)
    run = event.get("run")
    if not isinstance(run, dict):
        kind = "dataset" if "dataset" in event else "job" if "job" in event else "unknown"
        return {"status": "ignored", "reason": f"{kind} events carry no run; only run events are recorded"}
    key = hashlib.sha256(json.dumps(event, sort_keys=True, separators=(",", ":"),
                                    ensure_ascii=False).encode()).hexdigest()
    record = to_record(event)
    try:
        with session_scope(settings) as session:
            if session.scalar(select(LineageEvent.id).where(LineageEvent.event_key == key)) is not None:
                return {"status": "duplicate", "run_id": record.run_key}
            stored = record_run(session, actor, record)
            session.add(LineageEvent(event_key=key, run_id=stored.id, event_type=str(event.get("eventType") or ""),
                                     producer=_text(event.get("producer"), 1000)))
            session.flush()
    except IntegrityError:
        return {"status": "duplicate", "run_id": record.run_key}  # the same event, delivered twice at once
    return {"status": "recorded", "run_id": record.run_key}


def to_record(event: dict[str, Any]) -> RunRecord:
    """The catalog's view of one run event (checked: a malformed event is named, not half-applied)."""
    run, job = event.get("run") or {}, event.get("job") or {}
    run_id = _text(run.get("runId"), 200)
    if not run_id:
        raise InvalidInput("run.runId is required")
    job_name = _text(job.get("name"), 1000)
    if not job_name:
        raise InvalidInput("job.name is required")
    event_type = str(event.get("eventType") or "OTHER").upper()
    if event_type not in STATE_OF:
        raise InvalidInput(f"eventType '{event_type}' is not one of {', '.join(STATE_OF)}")
    when = _time(event.get("eventTime"))
    facets = run.get("facets") if isinstance(run.get("facets"), dict) else {}
    outputs = _list(event, "outputs")
    models = [_model(o) for o in outputs if isinstance(_facets(o).get("catalog_model"), dict)]
    return RunRecord(
        job_name=job_name, run_key=run_id, job_namespace=_text(job.get("namespace"), 500) or "default",
        state=STATE_OF[event_type], origin="openlineage",
        started_at=when if event_type == "START" else None,
        ended_at=when if STATE_OF[event_type] in ("complete", "failed", "aborted") else None,
        inputs=[_ref(i) for i in _list(event, "inputs")],
        outputs=[_ref(o) for o in outputs if not isinstance(_facets(o).get("catalog_model"), dict)],
        models=models,
        metrics=_numbers(facets.get("catalog_metrics"), "metrics"),
        parameters=_numbers(facets.get("catalog_parameters"), "parameters"),
        column_edges=[edge for o in outputs for edge in _column_edges(o)],
        strict=False,
    )


def _list(event: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = event.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidInput(f"'{key}' must be a list of datasets")
    return items


def _facets(dataset: dict[str, Any]) -> dict[str, Any]:
    facets = dataset.get("facets")
    return facets if isinstance(facets, dict) else {}


def _ref(dataset: dict[str, Any]) -> DatasetRef:
    name = _text(dataset.get("name"), 1000)
    if not name:
        raise InvalidInput("every input and output needs a name")
    facets = _facets(dataset)
    version = facets.get("version") if isinstance(facets.get("version"), dict) else {}
    schema = facets.get("schema") if isinstance(facets.get("schema"), dict) else {}
    columns = tuple(_text(f.get("name"), 1000) for f in schema.get("fields") or [] if isinstance(f, dict))
    return DatasetRef(dataset=name, version=_text(version.get("datasetVersion"), 200) or None,
                      namespace=_text(dataset.get("namespace"), 500) or None, columns=tuple(c for c in columns if c))


def _model(output: dict[str, Any]) -> ModelSpec:
    facet = _facets(output)["catalog_model"]
    version = facet.get("version")
    return ModelSpec(name=_text(facet.get("name"), 500) or _text(output.get("name"), 500),
                     version=None if version in (None, "") else _text(version, 200),
                     framework=_text(facet.get("framework"), 200) or None,
                     metrics=_numbers(facet, "metrics"), location=_text(facet.get("location"), 4000) or None)


def _column_edges(output: dict[str, Any]) -> list[ColumnEdge]:
    facet = _facets(output).get("columnLineage")
    fields = facet.get("fields") if isinstance(facet, dict) else None
    if not isinstance(fields, dict):
        return []
    edges = []
    for column, spec in fields.items():
        for source in (spec or {}).get("inputFields") or [] if isinstance(spec, dict) else []:
            if not isinstance(source, dict):
                continue
            transformations = source.get("transformations") or []
            kind = transformations[0].get("type") if transformations and isinstance(transformations[0], dict) else None
            edges.append(ColumnEdge(output_dataset=_text(output.get("name"), 1000), output_column=_text(column, 1000),
                                    input_dataset=_text(source.get("name"), 1000),
                                    input_column=_text(source.get("field"), 1000),
                                    transformation=_text(kind, 200) or None))
    return edges


def _numbers(facet: Any, key: str) -> dict[str, Any]:
    values = facet.get(key) if isinstance(facet, dict) else None
    if not isinstance(values, dict):
        return {}
    return {str(k)[:200]: v for k, v in values.items() if isinstance(v, str | int | float | bool)}


def _text(value: Any, limit: int) -> str:
    """A string field of the event, or '' (too long is an error: silently cutting a name would mis-link it)."""
    if value is None:
        return ""
    text = str(value).strip()
    if len(text) > limit:
        raise InvalidInput(f"a field of the event is longer than {limit} characters: '{text[:60]}...'")
    return text


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"eventTime '{str(value)[:60]}' is not an ISO 8601 time") from None
