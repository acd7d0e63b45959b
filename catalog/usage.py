"""Which datasets are used most: published versions fetched and datasets read by recorded runs.

Why these two signals: they are facts the catalog already records (the audit line of every fetch, the inputs of
every lineage run), they count real use of the data rather than curiosity, and they need no tracking of page
views. A dataset used by many different people ranks above one fetched often by one job, so `users` breaks
ties. Only datasets the caller may discover are listed, so the ranking never reveals a hidden name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, require, visible_datasets
from catalog.errors import InvalidInput
from catalog.models import AuditEvent, Dataset, LineageRun, RunDataset, utcnow

DEFAULT_DAYS = 30
MAX_DAYS = 3660
FETCH_ACTION = "version.fetch"


@dataclass
class _Use:
    fetches: int = 0
    runs: int = 0
    users: set[str] = field(default_factory=set)


def most_used(session: Session, actor: Actor, *, days: int = DEFAULT_DAYS, limit: int = 10) -> dict[str, Any]:
    """The `limit` datasets with the most fetches plus run reads in the last `days` days, most used first."""
    require(actor, Action.DISCOVER, Resource.catalog())
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}")
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and 100")
    since = utcnow() - timedelta(days=days)
    uses: dict[str, _Use] = defaultdict(_Use)
    _count_fetches(session, since, uses)
    _count_run_reads(session, since, uses)
    names = _visible(session, actor, list(uses))
    ranked = sorted(names, key=lambda n: (-(uses[n].fetches + uses[n].runs), -len(uses[n].users), n))[:limit]
    return {"days": days, "datasets": [
        {"name": n, "fetches": uses[n].fetches, "runs": uses[n].runs, "users": len(uses[n].users)} for n in ranked]}


def _count_fetches(session: Session, since: Any, uses: dict[str, _Use]) -> None:
    """Fetch lines name `dataset@vN`; grouped in SQL by target and person, so the rows stay few."""
    rows = session.execute(
        select(AuditEvent.target, AuditEvent.actor, func.count())
        .where(AuditEvent.action == FETCH_ACTION, AuditEvent.at >= since, AuditEvent.target.is_not(None))
        .group_by(AuditEvent.target, AuditEvent.actor)
    ).all()
    for target, who, count in rows:
        name = target.rpartition("@")[0] or target
        uses[name].fetches += count
        uses[name].users.add(who)


def _count_run_reads(session: Session, since: Any, uses: dict[str, _Use]) -> None:
    """Inputs of runs that started in the window (or ended, or were recorded, when no start was reported);
    external inputs are not ours."""
    when = func.coalesce(LineageRun.started_at, LineageRun.ended_at, LineageRun.created_at)
    rows = session.execute(
        select(RunDataset.dataset_name, LineageRun.created_by, func.count(func.distinct(LineageRun.id)))
        .join(LineageRun, LineageRun.id == RunDataset.run_id)
        .where(RunDataset.direction == "in", RunDataset.kind != "external", when >= since)
        .group_by(RunDataset.dataset_name, LineageRun.created_by)
    ).all()
    for name, who, count in rows:
        uses[name].runs += count
        uses[name].users.add(who)


def _visible(session: Session, actor: Actor, names: list[str]) -> list[str]:
    """The names among `names` that are live datasets the actor may discover (looked up in chunks)."""
    found: list[str] = []
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        found.extend(session.scalars(select(Dataset.name).where(
            Dataset.name.in_(chunk), Dataset.deleted_at.is_(None), visible_datasets(actor, Action.DISCOVER))))
    return found
