"""Labels on columns: the classifier suggests, a person confirms or rejects, and re-evaluation respects that.

Rules that make labels trustworthy:
- Only findings at or above `SUGGEST_THRESHOLD` become `suggested` labels; weaker ones (down to
  `SUSPECT_THRESHOLD`) only make the column's samples masked.
- Re-evaluation (every annotate run of a changed dataset) refreshes confidence and evidence of every label, adds new
  suggestions and drops suggestions the classifier no longer makes; a `confirmed` or `rejected` label keeps its
  status whatever the classifier says now, so a human decision is never overridden.
- A person may add a label the classifier never suggested (confirmed, no confidence).
- Confirming a label masks what the stored profile still shows of that column, in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from annotator.pii import LABELS, SUGGEST_THRESHOLD, Finding, mask_value
from annotator.profile import restrict_profile
from catalog import audit
from catalog.access import Action, Actor, Resource, require, visible_datasets
from catalog.errors import InvalidInput, NotFound
from catalog.models import Classification, Column, Dataset, Profile, utcnow
from catalog.search_dirty import mark_dirty

SUGGESTED, CONFIRMED, REJECTED = "suggested", "confirmed", "rejected"
STATUSES = (SUGGESTED, CONFIRMED, REJECTED)
DECISIONS = {"confirm": CONFIRMED, "reject": REJECTED, "reset": SUGGESTED}
CLASSIFIER = "pii-rules/1"
# Other prefixes (e.g. `sensitivity.confidential`) may be added by people; the shape keeps them tidy.
_LABEL_SHAPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
MAX_COMMENT = 2000


def apply_findings(session: Session, dataset_id: int, findings: Mapping[str, Sequence[Finding]],
                   columns: Iterable[str]) -> dict[str, int]:
    """Store one evaluation of a dataset's columns; returns counts of added, updated and dropped suggestions.

    `findings` maps column name -> findings (any confidence); `columns` is the full current column list, so
    suggestions on columns that no longer exist are dropped too.
    """
    now = utcnow()
    existing = {(c.column_name, c.label): c for c in
                session.scalars(select(Classification).where(Classification.dataset_id == dataset_id))}
    strong = {(column, f.label): f for column, found in findings.items() for f in found
              if f.confidence >= SUGGEST_THRESHOLD}
    weak = {(column, f.label): f for column, found in findings.items() for f in found}
    counts = {"added": 0, "updated": 0, "dropped": 0}
    for key, finding in strong.items():
        row = existing.get(key)
        if row is None:
            row = Classification(dataset_id=dataset_id, column_name=key[0], label=key[1], status=SUGGESTED,
                                 created_at=now)
            session.add(row)
            counts["added"] += 1
        else:
            counts["updated"] += 1
        _refresh(row, finding, now)
    current = set(columns)
    for key, row in existing.items():
        if key in strong:
            continue
        if row.status == SUGGESTED:
            session.delete(row)
            counts["dropped"] += 1
        elif key[0] in current:  # a person decided: keep the decision, show what the classifier sees today
            _refresh(row, weak.get(key), now)
    return counts


def _refresh(row: Classification, finding: Finding | None, now: Any) -> None:
    row.confidence = finding.confidence if finding else 0.0
    row.match_share = finding.match_share if finding else None
    row.evidence = [e.as_dict() for e in finding.evidence] if finding else []
    row.classifier = CLASSIFIER
    row.evaluated_at = now


def decide(session: Session, actor: Actor, dataset_name: str, column: str, label: str, decision: str,
           comment: str | None = None) -> dict[str, Any]:
    """A person's decision on one label: confirm, reject, or reset (back to the classifier's suggestion)."""
    require(actor, Action.MANAGE, Resource.dataset(dataset_name))
    if decision not in DECISIONS:
        raise InvalidInput(f"decision '{decision}' is not one of {', '.join(DECISIONS)}")
    if not _LABEL_SHAPE.match(label or "") or len(label) > 100:
        raise InvalidInput(f"label '{label}' is not a label name like {LABELS[0]}")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment is longer than {MAX_COMMENT} characters")
    dataset = _dataset(session, actor, dataset_name)
    if session.scalar(select(Column.id).where(Column.dataset_id == dataset.id, Column.name == column)) is None:
        raise NotFound(f"column '{column}' does not exist in dataset '{dataset_name}'")
    row = session.scalar(select(Classification).where(
        Classification.dataset_id == dataset.id, Classification.column_name == column,
        Classification.label == label))
    audit.record(session, actor, f"label.{decision}", f"{dataset_name}#{column}", {"label": label})
    if decision == "reset":
        mark_dirty(session, dataset.id)
        return _reset(session, row, dataset_name, column, label)
    if row is None:
        row = Classification(dataset_id=dataset.id, column_name=column, label=label, status=SUGGESTED,
                             evidence=[], created_at=utcnow())
        session.add(row)
    row.status = DECISIONS[decision]
    row.decided_by, row.decided_at, row.comment = actor.name, utcnow(), comment or None
    if row.status == CONFIRMED:
        mask_profile_column(session, dataset.id, column, label)
    mark_dirty(session, dataset.id)
    session.flush()
    return label_view(row)


def _reset(session: Session, row: Classification | None, dataset: str, column: str, label: str
           ) -> dict[str, Any]:
    """Undo a decision: the label is a suggestion again if the classifier still makes it, else it goes."""
    if row is None:
        raise NotFound(f"column '{column}' of '{dataset}' has no label '{label}'")
    if (row.confidence or 0.0) >= SUGGEST_THRESHOLD:
        row.status, row.decided_by, row.decided_at, row.comment = SUGGESTED, None, None, None
        session.flush()
        return label_view(row)
    session.delete(row)
    session.flush()
    return {"column": column, "label": label, "status": None}


def _dataset(session: Session, actor: Actor, name: str) -> Dataset:
    dataset = session.scalar(select(Dataset).where(Dataset.name == name, visible_datasets(actor)))
    if dataset is None:
        raise NotFound(f"dataset '{name}' does not exist")
    return dataset


def mask_profile_column(session: Session, dataset_id: int, column: str, label: str) -> None:
    """Strip sampled values from every stored profile of the column (a label confirmed after profiling)."""
    for profile in session.scalars(select(Profile).where(Profile.dataset_id == dataset_id)):
        current = (profile.columns or {}).get(column)
        if not current or current.get("masked"):
            continue
        masked = [mask_value(v, label) for v in current.get("examples", [])]
        profile.columns = {**profile.columns, column: restrict_profile(current, masked)}


VIEW_FIELDS = (Classification.column_name, Classification.label, Classification.status, Classification.confidence,
               Classification.match_share, Classification.evidence, Classification.classifier,
               Classification.decided_by, Classification.decided_at, Classification.comment,
               Classification.evaluated_at)


def label_view(row: Classification | Row[Any]) -> dict[str, Any]:
    """The API shape of a label (an ORM object, or a row of `VIEW_FIELDS`)."""
    return {
        "column": row.column_name, "label": row.label, "status": row.status,
        "confidence": row.confidence, "match_share": row.match_share, "evidence": list(row.evidence or []),
        "classifier": row.classifier, "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None, "comment": row.comment,
        "evaluated_at": row.evaluated_at.isoformat() if row.evaluated_at else None,
    }


def labels_of(session: Session, dataset_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every label of a dataset by column, strongest first (rejected ones included, for the record); read as plain
    rows, since a wide dataset may have one or more per column and ORM objects would only be copied into dicts."""
    rows = session.execute(select(*VIEW_FIELDS).where(Classification.dataset_id == dataset_id)
                           .order_by(Classification.column_name, Classification.label))
    by_column: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_column.setdefault(row.column_name, []).append(label_view(row))
    for labels in by_column.values():
        labels.sort(key=lambda v: (v["status"] == REJECTED, -(v["confidence"] or 0.0)))
    return by_column


def active_labels(labels: list[dict[str, Any]]) -> list[str]:
    """The label names that stand (suggested or confirmed), as `show --json` lists them under classifications."""
    return [v["label"] for v in labels if v["status"] != REJECTED]


def review_queue(session: Session, actor: Actor, *, status: str | None = SUGGESTED, label: str | None = None,
                 source: str | None = None, limit: int = 200) -> dict[str, Any]:
    """Labels across datasets the actor may see, for review: by default the open suggestions, strongest first."""
    require(actor, Action.DISCOVER, Resource.catalog())
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status '{status}' is not one of {', '.join(STATUSES)}")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    query = (select(Classification, Dataset.name).join(Dataset, Dataset.id == Classification.dataset_id)
             .where(visible_datasets(actor, Action.READ_METADATA), Dataset.deleted_at.is_(None)))
    if status:
        query = query.where(Classification.status == status)
    if label:
        query = query.where(Classification.label == label)
    if source:
        query = query.where(Dataset.name.startswith(source + "/", autoescape=True))
    query = query.order_by(Classification.confidence.desc(), Dataset.name, Classification.column_name)
    rows = session.execute(query.limit(limit)).all()
    return {"labels": [{"dataset": name, **label_view(row)} for row, name in rows]}

