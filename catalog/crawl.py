"""Crawl service: run a source's connector, apply its snapshots, record the run.

The crawl run row is committed first (status `running`) so a crash leaves a visible trace; it ends as
`succeeded`, `partial` (some scope could not be listed, so nothing under it was deleted) or `failed` (nothing
deleted, earlier state kept; the error is recorded in one line).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from catalog.access import Action, Actor, Resource, require
from catalog.db import first_line, session_factory
from catalog.errors import CatalogError
from catalog.models import CrawlRun, Source, utcnow
from catalog.secrets import redact_url
from catalog.settings import Settings
from catalog.sources import connector_of, get_source
from catalog.store import ApplyCounts, CrawlApplier, Spool
from connectors.base import ConnectorError, CrawlReport

Progress = Callable[[str, int], None]  # (phase, datasets done in this step)


def crawl_source(settings: Settings, actor: Actor, name: str, progress: Progress | None = None) -> dict[str, Any]:
    """Crawl one source and return its summary (new/changed/unchanged/deleted/restored, warnings, status)."""
    require(actor, Action.MANAGE, Resource.source(name))
    sessions = session_factory(settings)
    with sessions.begin() as session:
        source = get_source(session, name)
        # A run still 'running' here was cut off (killed process, lost machine): say so instead of lying.
        session.execute(update(CrawlRun).where(CrawlRun.source_id == source.id, CrawlRun.status == "running")
                        .values(status="interrupted", finished_at=utcnow()))
        run = CrawlRun(source_id=source.id, started_at=utcnow(), status="running")
        session.add(run)
        session.flush()
        run_id, source_id = run.id, source.id
    report = CrawlReport(source=name)
    started = time.perf_counter()
    spool = Spool()
    try:
        with sessions() as session:
            connector = connector_of(session.get_one(Source, source_id))
        applier = CrawlApplier(sessions, source_id, name, run_id, settings.crawl_batch_size)
        connector.previous_fingerprints = applier.fingerprints()
        spool.write_all(_counting(connector.crawl(report), progress, "read"))
        applier.apply(spool.read(), progress=(lambda n: progress("stored", n)) if progress else None)
        counts = applier.finish(report)
        status = "partial" if report.incomplete_scopes else "succeeded"
        error = None
    except (ConnectorError, CatalogError) as exc:
        counts, status, error = ApplyCounts(), "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - recorded on the run, reported as one line
        counts, status = ApplyCounts(), "failed"
        error = f"source '{name}': {type(exc).__name__}: {redact_url(first_line(exc))}"
    finally:
        spool.close()
    _finish_run(sessions, run_id, status, counts, report, error)
    return {
        "source": name, "run_id": run_id, "status": status, "new": counts.new, "changed": counts.changed,
        "unchanged": counts.unchanged, "deleted": counts.deleted, "restored": counts.restored,
        "warnings": [w.as_dict() for w in report.warnings], "error": error,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _counting(iterable: Any, progress: Progress | None, phase: str) -> Any:
    for item in iterable:
        if progress:
            progress(phase, 1)
        yield item


def _finish_run(sessions: Any, run_id: int, status: str, counts: ApplyCounts, report: CrawlReport,
                error: str | None) -> None:
    with sessions.begin() as session:
        run = session.get_one(CrawlRun, run_id)
        run.finished_at = utcnow()
        run.status = status
        run.new_count, run.changed_count = counts.new, counts.changed
        run.unchanged_count, run.deleted_count = counts.unchanged, counts.deleted
        run.restored_count = counts.restored
        run.warnings = [w.as_dict() for w in report.warnings]
        run.error = error


def crawl_sources(settings: Settings, actor: Actor, names: list[str] | None = None,
                  progress: Progress | None = None) -> list[dict[str, Any]]:
    """Crawl the named sources (all by default) one after another; one failing does not stop the rest."""
    if not names:
        with session_factory(settings)() as session:
            names = list(session.scalars(select(Source.name).order_by(Source.name)))
    else:
        with session_factory(settings)() as session:
            for name in names:
                get_source(session, name)
    return [crawl_source(settings, actor, name, progress) for name in names]
