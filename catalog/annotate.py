"""The annotate service: sample what changed, profile it, classify personal data, store the result.

Which datasets: those with no profile for their current schema version, whose profile is older than their last
change, or whose last attempt failed (`everything=True` redoes all). Each dataset is sampled by its source's
connector (bounded: `Settings.sample_rows`, default 10,000 rows, never a full scan), profiled and classified in a
worker thread (sampling waits on the network, so a few run at once), then stored by the calling thread in one
short transaction per dataset, so the web server keeps reading and a crash loses at most the dataset at hand.

What is stored never holds a raw value of a column suspected of personal data: such columns keep counts, shares
and lengths, and masked examples only (see `annotator.profile.restrict_profile`). Free text that is not personal
data as a column still has e-mails, phone numbers and card numbers inside it replaced by placeholders.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from annotator.describe.base import Backend, TableBrief
from annotator.pii import SUGGEST_THRESHOLD, ColumnContext, Finding, classify_columns, mask_value, scrub_text
from annotator.profile import TEXT, VALUE_FIELDS, profile_column, restrict_profile, shown, typed_values
from catalog.access import Action, Actor, Resource, require
from catalog.classifications import CONFIRMED, REJECTED, apply_findings
from catalog.db import first_line, session_factory
from catalog.describing import DescribeResult, backend_for, column_brief, describe_dataset
from catalog.descriptions import TABLE, apply_written, stored_signatures
from catalog.errors import InvalidInput, NotFound
from catalog.models import Classification, Dataset, Description, Profile, SchemaVersion, Source, utcnow
from catalog.search_dirty import mark_dirty
from catalog.secrets import redact_url
from catalog.settings import Settings
from catalog.sources import connector_of
from connectors.base import ConnectorError, DatasetKind, RowSample, SampleTarget, SampleUnsupported

Progress = Callable[[str, int], None]
CELL_BUDGET = 2_000_000  # sampled values held per dataset: wide tables get fewer rows, memory stays bounded
MIN_ROWS = 500


@dataclass(frozen=True)
class _ColumnFacts:
    name: str
    normalized_type: str
    native_type: str
    comment: str | None
    primary_key: bool
    foreign_key: str | None


@dataclass(frozen=True)
class _Job:
    dataset_id: int
    name: str
    source: str
    schema_version: int
    target: SampleTarget
    columns: tuple[_ColumnFacts, ...]
    comment: str | None
    decisions: dict[str, dict[str, str]]  # column -> label -> confirmed/rejected
    source_kind: str
    described: dict[str, str | None]  # column ("" = dataset) -> stored AI signature, None when a person decided


@dataclass
class _Outcome:
    job: _Job
    status: str  # profiled, unsupported, failed
    sample: RowSample | None = None
    limit: int = 0
    profiles: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    described: DescribeResult | None = None


def annotate(settings: Settings, actor: Actor, *, sources: Sequence[str] = (), datasets: Sequence[str] = (),
             everything: bool = False, sample_rows: int | None = None, backend: str | None = None,
             progress: Progress | None = None) -> dict[str, Any]:
    """Profile, classify and describe what changed since the last run; one summary row per dataset.

    `backend` names the description backend (default `Settings.describe_backend`); `none` writes no text.
    """
    limit = sample_rows or settings.sample_rows
    if limit < 1:
        raise InvalidInput("sample rows must be at least 1")
    chosen = backend or settings.describe_backend
    writer = None if chosen == "none" else backend_for(chosen)
    started = time.perf_counter()
    sessions = session_factory(settings)
    with sessions() as session:
        jobs = _pending(session, actor, sources, datasets, everything, describing=writer is not None)
        connectors = {name: connector_of(session.scalars(select(Source).where(Source.name == name)).one())
                      for name in sorted({j.source for j in jobs})}
    results: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=max(1, settings.annotate_workers)) as pool:
        outcomes = pool.map(lambda job: _evaluate(connectors[job.source], job, limit, writer), jobs)
        for outcome in outcomes:
            results.append(_store(sessions, outcome))
            if progress:
                progress("annotated", 1)
    return _summary(results, time.perf_counter() - started)


def _summary(results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    by_status = {s: sum(1 for r in results if r["status"] == s) for s in ("profiled", "unsupported", "failed")}
    labels = {k: sum(r["labels"][k] for r in results) for k in ("added", "updated", "dropped")}
    descriptions = {k: sum(r["descriptions"][k] for r in results) for k in ("new", "cached", "kept", "fallback")}
    descriptions["failed"] = sum(1 for r in results if r["description_error"])
    written = descriptions["new"] + descriptions["fallback"]
    return {"datasets": len(results), **by_status, "labels": labels, "descriptions": descriptions,
            "descriptions_per_second": round(written / seconds, 1) if seconds > 0 else None,
            "results": results, "seconds": round(seconds, 3)}


def _pending(session: Session, actor: Actor, sources: Sequence[str], names: Sequence[str],
             everything: bool, describing: bool = True) -> list[_Job]:
    """The datasets to (re)annotate, checking that every named source and dataset exists and may be managed."""
    for source in sources:
        if session.scalar(select(Source.id).where(Source.name == source)) is None:
            raise NotFound(f"source '{source}' does not exist")
    latest = (select(SchemaVersion.dataset_id, func.max(SchemaVersion.version).label("version"))
              .group_by(SchemaVersion.dataset_id).subquery())
    query = (select(Dataset, latest.c.version, Source.name, Source.kind)
             .join(latest, latest.c.dataset_id == Dataset.id).join(Source, Source.id == Dataset.source_id)
             .outerjoin(Profile, and_(Profile.dataset_id == Dataset.id, Profile.schema_version == latest.c.version))
             .where(Dataset.deleted_at.is_(None)).options(selectinload(Dataset.columns))
             .order_by(Dataset.name))
    if sources:
        query = query.where(Source.name.in_(list(sources)))
    if names:
        query = query.where(Dataset.name.in_(list(names)))
        found = set(session.scalars(select(Dataset.name).where(Dataset.name.in_(list(names)))))
        for name in names:
            if name not in found:
                raise NotFound(f"dataset '{name}' does not exist")
    if not everything and not names:
        stale = [Profile.id.is_(None), Profile.profiled_at < Dataset.last_changed, Profile.status == "failed"]
        if describing:  # datasets profiled before descriptions existed (or with descriptions switched off)
            stale.append(~select(Description.id).where(Description.dataset_id == Dataset.id,
                                                       Description.column_name == TABLE).exists())
        query = query.where(or_(*stale))
    rows = session.execute(query).all()
    for source in sorted({row.name for row in rows}):
        require(actor, Action.MANAGE, Resource.source(source))
    ids = [row.Dataset.id for row in rows]
    decisions, described = _decisions(session, ids), stored_signatures(session, ids)
    return [_job(dataset, version, source, kind, decisions.get(dataset.id, {}), described.get(dataset.id, {}))
            for dataset, version, source, kind in rows]


def _decisions(session: Session, ids: list[int]) -> dict[int, dict[str, dict[str, str]]]:
    decided: dict[int, dict[str, dict[str, str]]] = {}
    query = select(Classification).where(Classification.dataset_id.in_(ids),
                                         Classification.status.in_((CONFIRMED, REJECTED)))
    for row in session.scalars(query) if ids else ():
        decided.setdefault(row.dataset_id, {}).setdefault(row.column_name, {})[row.label] = row.status
    return decided


def _job(dataset: Dataset, version: int, source: str, source_kind: str, decisions: dict[str, dict[str, str]],
         described: dict[str, str | None]) -> _Job:
    columns = tuple(_ColumnFacts(c.name, c.normalized_type, c.native_type, c.native_comment, c.is_primary_key,
                                 c.foreign_key) for c in dataset.columns)
    target = SampleTarget(path=dataset.path, kind=DatasetKind(dataset.kind), columns=tuple(c.name for c in columns),
                          row_estimate=dataset.row_estimate, properties=dict(dataset.properties or {}))
    return _Job(dataset.id, dataset.name, source, version, target, columns, dataset.native_comment, decisions,
                source_kind, described)


def _evaluate(connector: Any, job: _Job, limit: int, writer: Backend | None) -> _Outcome:
    """Sample, profile, classify and describe one dataset (in a worker thread: no database access here)."""
    started = time.perf_counter()
    bounded = min(limit, max(MIN_ROWS, CELL_BUDGET // max(1, len(job.columns))))
    outcome = _Outcome(job, "profiled", limit=bounded)
    if bounded < limit:
        outcome.warnings.append(f"{len(job.columns):,} columns: sample limited to {bounded:,} rows")
    try:
        outcome.sample = connector.sample(job.target, bounded)
    except SampleUnsupported as exc:
        outcome.status, outcome.error = "unsupported", str(exc)
    except ConnectorError as exc:
        outcome.status, outcome.error = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - one dataset's failure is a line in the summary
        outcome.status = "failed"
        outcome.error = f"{type(exc).__name__}: {redact_url(first_line(exc))}"
    if outcome.status != "failed":
        _profile_and_classify(outcome)
        if writer is not None:
            outcome.described = _describe(writer, outcome)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _describe(writer: Backend, outcome: _Outcome) -> DescribeResult:
    """Descriptions from the guarded profiles and the labels that stand (a person's decisions included)."""
    job = outcome.job
    briefs = []
    for column in job.columns:
        decided = job.decisions.get(column.name, {})
        labels = {f.label for f in outcome.findings.get(column.name, [])
                  if f.confidence >= SUGGEST_THRESHOLD and decided.get(f.label) != REJECTED}
        labels |= {label for label, status in decided.items() if status == CONFIRMED}
        briefs.append(column_brief(column, outcome.profiles.get(column.name), sorted(labels), writer.remote))
    table = TableBrief(source_kind=job.source_kind, dataset=job.name, kind=job.target.kind.value,
                       comment=job.comment, row_estimate=job.target.row_estimate, columns=tuple(briefs))
    try:
        return describe_dataset(writer, table, job.described)
    except Exception as exc:  # noqa: BLE001 - descriptions failing must not lose the profile and labels
        return DescribeResult(error=f"descriptions: {type(exc).__name__}: {first_line(exc)}")


def _profile_and_classify(outcome: _Outcome) -> None:
    job, sample = outcome.job, outcome.sample
    values = {c.name: typed_values(sample.values.get(c.name, []), c.normalized_type) if sample else []
              for c in job.columns}
    contexts = [ColumnContext(name=c.name, normalized_type=c.normalized_type, values=values[c.name],
                              comment=c.comment, native_type=c.native_type) for c in job.columns]
    found = classify_columns(contexts, dataset=job.name, table_comment=job.comment)
    outcome.findings = {c.name: f for c, f in zip(job.columns, found, strict=True) if f}
    if sample is None:
        return
    outcome.warnings.extend(sample.warnings)
    for column, findings in zip(job.columns, found, strict=True):
        column_values = values[column.name]
        # Values under an array (one per element) are not rows: their count says nothing about the population.
        population = sample.population if len(column_values) == sample.rows else None
        profile = profile_column(column_values, population)
        outcome.profiles[column.name] = _guarded(profile, column_values, findings,
                                                 job.decisions.get(column.name, {}))


def _guarded(profile: dict[str, Any], values: list[Any], findings: list[Finding],
             decisions: dict[str, str]) -> dict[str, Any]:
    """The profile as it may be stored: masked for suspected personal data, scrubbed for other text."""
    label = _sensitive_label(findings, decisions)
    if label:
        examples: list[Any] = []
        for value in values:
            if value is not None and value not in examples:
                examples.append(value)
                if len(examples) == len(profile.get("examples", [])):
                    break
        restricted = restrict_profile(profile, [mask_value(v, label) for v in examples])
        restricted["suspected"] = sorted({f.label for f in findings if decisions.get(f.label) != REJECTED}
                                         | {lb for lb, s in decisions.items() if s == CONFIRMED})
        return restricted
    if profile.get("kind") == TEXT or any(isinstance(v, str) for v in values[:50]):
        return _scrubbed(profile)
    return profile


def _sensitive_label(findings: list[Finding], decisions: dict[str, str]) -> str | None:
    """The label to mask by: a person's confirmation first, then the strongest finding not rejected."""
    for label, status in sorted(decisions.items()):
        if status == CONFIRMED:
            return label
    for finding in findings:
        if decisions.get(finding.label) != REJECTED:
            return finding.label
    return None


def _scrubbed(profile: dict[str, Any]) -> dict[str, Any]:
    """Personal data inside free text (an e-mail in a comment) replaced by placeholders wherever values show."""
    cleaned = dict(profile)
    for key in VALUE_FIELDS:
        value = cleaned.get(key)
        if isinstance(value, str):
            cleaned[key] = shown(scrub_text(value))
        elif key == "examples" and value:
            cleaned[key] = [shown(scrub_text(v)) for v in value]
        elif key == "top_values" and value:
            cleaned[key] = [{**t, "value": shown(scrub_text(t["value"]))} for t in value]
    return cleaned


def _store(sessions: Any, outcome: _Outcome) -> dict[str, Any]:
    """Write one dataset's profile and labels in one transaction; a failed sample keeps an earlier profile."""
    job = outcome.job
    counts = {"added": 0, "updated": 0, "dropped": 0}
    with sessions.begin() as session:
        dataset = session.get(Dataset, job.dataset_id)
        if dataset is not None and dataset.deleted_at is None:
            profile = session.scalar(select(Profile).where(Profile.dataset_id == job.dataset_id,
                                                           Profile.schema_version == job.schema_version))
            keep_earlier = outcome.status == "failed" and profile is not None and profile.status != "failed"
            if not keep_earlier:
                _write_profile(session, profile, outcome)
            if outcome.status != "failed":
                counts = apply_findings(session, job.dataset_id, outcome.findings, [c.name for c in job.columns])
            if outcome.described is not None:
                apply_written(session, job.dataset_id, outcome.described.written)
            mark_dirty(session, job.dataset_id)
    sample, described = outcome.sample, outcome.described or DescribeResult()
    return {
        "dataset": job.name, "status": outcome.status, "rows": sample.rows if sample else 0,
        "descriptions": described.counts, "description_error": described.error,
        "method": sample.method if sample else None, "error": outcome.error, "warnings": outcome.warnings,
        "labels": counts, "suggested": sorted({f"{c}: {f.label}" for c, fs in outcome.findings.items()
                                               for f in fs if f.confidence >= SUGGEST_THRESHOLD}),
        "seconds": round(outcome.seconds, 3),
    }


def _write_profile(session: Session, profile: Profile | None, outcome: _Outcome) -> None:
    if profile is None:
        profile = Profile(dataset_id=outcome.job.dataset_id, schema_version=outcome.job.schema_version)
        session.add(profile)
    sample = outcome.sample
    profile.status = outcome.status
    profile.rows_sampled = sample.rows if sample else 0
    profile.population = sample.population if sample else None
    profile.method = sample.method if sample else None
    profile.columns = outcome.profiles
    profile.warnings = outcome.warnings
    profile.error = outcome.error
    profile.seconds = round(outcome.seconds, 3)
    profile.profiled_at = utcnow()
