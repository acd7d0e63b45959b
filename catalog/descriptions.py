"""Descriptions of columns and datasets: AI suggests, a person accepts, edits or rejects; human text always wins.

Which text a column shows (`effective`): a person's text first, then the source's own comment, then an AI text
(accepted before suggested); a rejected AI text is never shown. The annotator writes through `apply_written`,
which skips every row a person decided and every row whose signature (what the text was written from) is
unchanged, so re-running costs nothing and never overwrites a human.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from catalog import audit
from catalog.access import Action, Actor, Resource, require, visible_datasets
from catalog.errors import InvalidInput, NotFound
from catalog.models import Column, Dataset, Description, utcnow
from catalog.search_dirty import mark_dirty

SUGGESTED, ACCEPTED, REJECTED = "suggested", "accepted", "rejected"
TABLE = ""  # the column name under which a dataset's own description is stored
DECISIONS = ("accept", "reject", "edit")
MAX_TEXT = 2000


@dataclass(frozen=True)
class Written:
    """One text from a description backend, ready to store."""

    column: str  # TABLE for the dataset
    text: str
    confidence: float
    source: str  # ai:<backend>/<model>
    prompt_version: str
    signature: str
    fallback: str | None = None  # why the configured backend was not used


def stored_signatures(session: Session, dataset_ids: list[int]) -> dict[int, dict[str, str | None]]:
    """Per dataset and column: the signature of the stored AI text, or None when a person decided the row.

    The annotator skips a column whose signature is unchanged, and every column mapped to None.
    """
    found: dict[int, dict[str, str | None]] = {}
    if not dataset_ids:
        return found
    rows = session.execute(select(Description.dataset_id, Description.column_name, Description.status,
                                  Description.signature).where(Description.dataset_id.in_(dataset_ids)))
    for dataset_id, column, status, signature in rows:
        found.setdefault(dataset_id, {})[column] = None if status == ACCEPTED else signature
    return found


def apply_written(session: Session, dataset_id: int, written: Iterable[Written]) -> dict[str, int]:
    """Store AI texts; returns counts of new and replaced suggestions (decided rows are left alone)."""
    existing = {d.column_name: d for d in
                session.scalars(select(Description).where(Description.dataset_id == dataset_id))}
    counts = {"new": 0, "replaced": 0}
    now = utcnow()
    for item in written:
        row = existing.get(item.column)
        if row is not None and (row.status == ACCEPTED or row.signature == item.signature):
            continue
        if row is None:
            row = Description(dataset_id=dataset_id, column_name=item.column, created_at=now)
            session.add(row)
            counts["new"] += 1
        else:
            counts["replaced"] += 1
        row.text, row.confidence, row.source = item.text, item.confidence, item.source
        row.prompt_version, row.signature, row.fallback = item.prompt_version, item.signature, item.fallback
        row.status, row.ai_text, row.decided_by, row.decided_at = SUGGESTED, None, None, None
        row.updated_at = now
    return counts


def decide(session: Session, actor: Actor, dataset_name: str, column: str, decision: str,
           text: str | None = None) -> dict[str, Any]:
    """Accept or reject the AI's text, or write one (`edit`); `column` "" means the dataset's description."""
    require(actor, Action.MANAGE, Resource.dataset(dataset_name))
    if decision not in DECISIONS:
        raise InvalidInput(f"decision '{decision}' is not one of {', '.join(DECISIONS)}")
    dataset = session.scalar(select(Dataset).where(Dataset.name == dataset_name, visible_datasets(actor)))
    if dataset is None:
        raise NotFound(f"dataset '{dataset_name}' does not exist")
    if column != TABLE and session.scalar(
            select(Column.id).where(Column.dataset_id == dataset.id, Column.name == column)) is None:
        raise NotFound(f"column '{column}' does not exist in dataset '{dataset_name}'")
    row = session.scalar(select(Description).where(Description.dataset_id == dataset.id,
                                                   Description.column_name == column))
    audit.record(session, actor, f"description.{decision}", f"{dataset_name}#{column or '(dataset)'}", {})
    now = utcnow()
    if decision == "edit":
        row = _edited(session, row, dataset.id, column, _clean_text(text), actor, now)
    elif row is None or not row.source.startswith("ai:"):
        what = f"column '{column}'" if column else "the dataset"
        raise NotFound(f"{what} of '{dataset_name}' has no AI description to {decision}")
    else:
        row.status = ACCEPTED if decision == "accept" else REJECTED
    row.decided_by, row.decided_at, row.updated_at = actor.name, now, now
    mark_dirty(session, dataset.id)
    session.flush()
    return description_view(row)


def _clean_text(text: str | None) -> str:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise InvalidInput("text must not be empty")
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(f"text is longer than {MAX_TEXT} characters")
    return cleaned


def _edited(session: Session, row: Description | None, dataset_id: int, column: str, text: str, actor: Actor,
            now: Any) -> Description:
    if row is None:
        row = Description(dataset_id=dataset_id, column_name=column, created_at=now)
        session.add(row)
    elif row.source.startswith("ai:"):
        row.ai_text = row.text
    row.text, row.source, row.status, row.confidence = text, f"human:{actor.name}", ACCEPTED, None
    return row


def accept_all(session: Session, actor: Actor, dataset_name: str) -> dict[str, Any]:
    """Accept every suggested AI text of a dataset (its columns and itself) in one go."""
    require(actor, Action.MANAGE, Resource.dataset(dataset_name))
    dataset = session.scalar(select(Dataset).where(Dataset.name == dataset_name, visible_datasets(actor)))
    if dataset is None:
        raise NotFound(f"dataset '{dataset_name}' does not exist")
    now = utcnow()
    result = session.execute(update(Description).where(
        Description.dataset_id == dataset.id, Description.status == SUGGESTED)
        .values(status=ACCEPTED, decided_by=actor.name, decided_at=now, updated_at=now))
    mark_dirty(session, dataset.id)
    audit.record(session, actor, "description.accept_all", dataset_name, {"accepted": result.rowcount})
    return {"dataset": dataset_name, "accepted": result.rowcount}


VIEW_FIELDS = (Description.column_name, Description.text, Description.source, Description.status,
               Description.confidence, Description.prompt_version, Description.fallback, Description.ai_text,
               Description.decided_by, Description.decided_at, Description.updated_at)


def description_view(row: Description | Row[Any]) -> dict[str, Any]:
    """The API shape of a stored description (an ORM object, or a row of `VIEW_FIELDS`)."""
    return {
        "column": row.column_name or None, "text": row.text, "source": row.source, "status": row.status,
        "confidence": row.confidence, "prompt_version": row.prompt_version, "fallback": row.fallback,
        "ai_text": row.ai_text, "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "updated_at": row.updated_at.isoformat(),
    }


def descriptions_of(session: Session, dataset_id: int) -> dict[str, dict[str, Any]]:
    """Every stored description of a dataset by column ("" for the dataset), read as plain rows: a wide dataset has
    one per column, and building an ORM object for each only to copy it into a dict costs twice as much."""
    rows = session.execute(select(*VIEW_FIELDS).where(Description.dataset_id == dataset_id))
    return {row.column_name: description_view(row) for row in rows}


def effective(native_comment: str | None, written: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(text, source) to show: a person's text, else the source comment, else the AI's (never a rejected one)."""
    if written and written["source"].startswith("human:"):
        return written["text"], written["source"]
    if native_comment:
        return native_comment, "source"
    if written and written["status"] != REJECTED:
        return written["text"], written["source"]
    return None, None
