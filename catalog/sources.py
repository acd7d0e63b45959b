"""Service functions for sources: register, list, describe, remove, test.

Every function takes the acting principal and asks `access.require`; the URL kept in the store holds no
plain-text password (see `catalog.secrets`), and what these functions return never holds a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, require, visible_datasets
from catalog.errors import InvalidInput, NotFound
from catalog.models import CrawlRun, Dataset, Source
from catalog.secrets import redact_url, reject_plain_secrets, resolve_options, resolve_url
from connectors.base import ConnectorError
from connectors.registry import connector_class, connector_for

SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def normalize_source_url(url: str) -> str:
    """A plain folder path becomes a `file://` URL and a relative SQLite path an absolute one (crawls may run
    from another directory); everything else is kept as written."""
    url = url.strip()
    if "://" not in url and not url.startswith("sqlite:"):
        return Path(url).expanduser().resolve().as_uri()
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path, sep, query = url[len("sqlite:///"):].partition("?")
        if path and path != ":memory:" and not path.startswith("file:"):
            return f"sqlite:///{Path(path).expanduser().resolve()}{sep}{query}"
    return url


def add_source(session: Session, actor: Actor, name: str, url: str, options: Mapping[str, str] | None = None
               ) -> dict[str, Any]:
    require(actor, Action.MANAGE, Resource.source(name))
    if not SOURCE_NAME.match(name):
        raise InvalidInput(
            f"source name '{name}' is invalid: use letters, digits, '_', '-' or '.', up to 64 characters"
        )
    options = dict(options or {})
    url = normalize_source_url(url)
    reject_plain_secrets(name, url, options)
    try:
        kind = connector_class(url).kind
    except ConnectorError as exc:
        raise InvalidInput(f"source '{name}': {str(exc).split(': ', 1)[1]}") from None
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise InvalidInput(f"source '{name}' already exists; remove it first or pick another name")
    source = Source(name=name, kind=kind, url=url, options=options)
    session.add(source)
    session.flush()
    return source_summary(session, source)


def get_source(session: Session, name: str) -> Source:
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        raise NotFound(f"source '{name}' does not exist")
    return source


def connector_of(source: Source) -> Any:
    """The connector for a stored source, its secrets resolved just now (never stored resolved)."""
    url = resolve_url(source.name, source.url, source.options)
    return connector_for(source.name, url, resolve_options(source.name, source.options))


def test_source(session: Session, actor: Actor, name: str) -> dict[str, Any]:
    require(actor, Action.MANAGE, Resource.source(name))
    source = get_source(session, name)
    connector_of(source).test_connection()
    return {"source": name, "ok": True}


def remove_source(session: Session, actor: Actor, name: str, force: bool = False) -> dict[str, Any]:
    require(actor, Action.MANAGE, Resource.source(name))
    source = get_source(session, name)
    count = session.scalar(select(func.count()).select_from(Dataset).where(Dataset.source_id == source.id)) or 0
    if count and not force:
        raise InvalidInput(f"source '{name}' has {count} datasets; pass --yes to remove it with its datasets")
    session.delete(source)
    return {"source": name, "removed": True, "datasets_removed": count}


def last_crawl(session: Session, source_id: int) -> CrawlRun | None:
    return session.scalar(
        select(CrawlRun).where(CrawlRun.source_id == source_id).order_by(CrawlRun.id.desc()).limit(1)
    )


def crawl_run_summary(run: CrawlRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "new": run.new_count,
        "changed": run.changed_count,
        "unchanged": run.unchanged_count,
        "deleted": run.deleted_count,
        "restored": run.restored_count,
        "warnings": list(run.warnings or []),
        "error": run.error,
    }


def source_summary(session: Session, source: Source, actor: Actor | None = None) -> dict[str, Any]:
    query = select(func.count()).select_from(Dataset).where(Dataset.source_id == source.id,
                                                             Dataset.deleted_at.is_(None))
    if actor is not None:
        query = query.where(visible_datasets(actor))
    run = last_crawl(session, source.id)
    return {
        "name": source.name,
        "kind": source.kind,
        "url": redact_url(source.url),
        "options": dict(source.options or {}),
        "created_at": source.created_at.isoformat(),
        "datasets": session.scalar(query) or 0,
        "last_crawl": crawl_run_summary(run) if run else None,
    }


def list_sources(session: Session, actor: Actor) -> list[dict[str, Any]]:
    require(actor, Action.DISCOVER, Resource.catalog())
    sources = session.scalars(select(Source).order_by(Source.name)).all()
    return [source_summary(session, s, actor) for s in sources]


def describe_source(session: Session, actor: Actor, name: str, runs: int = 20) -> dict[str, Any]:
    require(actor, Action.DISCOVER, Resource.source(name))
    source = get_source(session, name)
    summary = source_summary(session, source, actor)
    history = session.scalars(
        select(CrawlRun).where(CrawlRun.source_id == source.id).order_by(CrawlRun.id.desc()).limit(runs)
    ).all()
    summary["crawl_runs"] = [crawl_run_summary(r) for r in history]
    return summary
