"""The audit log: append-only lines of who did what, to what, when and from where.

Written in the same transaction as the action it records, so an action that rolls back leaves no line and a
line never describes something that did not happen. The database refuses UPDATE and DELETE on the table
(triggers from migration 0009); this module has no function that changes or removes a line. Details hold
identifiers and counts, never a secret (a token is named by its prefix) or a data value.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, require
from catalog.models import AuditEvent

EXPORT_LIMIT = 1_000_000


def record(session: Session, actor: Actor | str, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, remote: str | None = None) -> None:
    """Append one line (flushed with the caller's transaction)."""
    name = actor if isinstance(actor, str) else actor.name
    session.add(AuditEvent(actor=name[:200], action=action[:60], target=(target or None) and target[:1100],
                           detail=dict(detail or {}), remote=(remote or None) and remote[:100]))


def events(session: Session, actor: Actor, *, since: datetime | None = None, who: str | None = None,
           action: str | None = None, target: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Audit lines, oldest first (reviewers and admins only)."""
    require(actor, Action.REVIEW, Resource.catalog())
    query = select(AuditEvent).order_by(AuditEvent.id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if who:
        query = query.where(AuditEvent.actor == who)
    if action:
        query = query.where(AuditEvent.action == action)
    if target:
        query = query.where(AuditEvent.target == target)
    return [_row(e) for e in session.scalars(query.limit(min(limit, EXPORT_LIMIT)))]


def _row(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": event.at.isoformat(), "actor": event.actor, "action": event.action,
            "target": event.target, "remote": event.remote, "detail": event.detail}


def as_csv(rows: list[dict[str, Any]]) -> str:
    """CSV with one column per field; `detail` as compact JSON. Cells that a spreadsheet would run as a formula
    (starting with = + - @) are prefixed with a quote."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at", "actor", "action", "target", "remote", "detail"])
    for row in rows:
        cells = [row["id"], row["at"], row["actor"], row["action"], row["target"] or "", row["remote"] or "",
                 json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)]
        writer.writerow([_cell(c) for c in cells])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
