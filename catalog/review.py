"""One review queue for the AI's open suggestions (descriptions and personal-data labels) across datasets.

Why a queue of its own: reviewing one dataset page at a time does not scale to a fresh crawl of hundreds of
tables. This module only lists and batches; every decision still goes through `descriptions.decide` and
`classifications.decide`, so the access checks and the audit lines stay in one place.

A batch is all-or-nothing: it runs inside a savepoint and stops at the first item that cannot be decided (an
unknown dataset, a suggestion someone already decided, a dataset the caller may not manage), naming that item;
nothing of the batch is kept. Deciding only ever touches an open suggestion, so a stale page cannot overrule a
decision another reviewer made in the meantime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from catalog import classifications, descriptions
from catalog.access import Action, Actor, Resource, can, require, visible_datasets
from catalog.errors import CatalogError, Conflict, InvalidInput, NotFound
from catalog.models import Classification, Column, Dataset, Description, Source

KINDS = ("descriptions", "labels")
ITEM_KINDS = ("description", "label")
DECISIONS = ("accept", "confirm", "reject", "edit")
LABEL_DECISIONS = {"accept": "confirm", "confirm": "confirm", "reject": "reject"}
DESCRIPTION_DECISIONS = {"accept": "accept", "confirm": "accept", "reject": "reject", "edit": "edit"}
MAX_BATCH = 500
MAX_LIMIT = 500
MAX_OFFSET = 10_000_000
MAX_NAME = 1000
MAX_LABEL = 100
MAX_SOURCE = 200


class Item(NamedTuple):
    """One suggestion named in a batch: `column` "" is the dataset's own description; `label` only for labels."""

    kind: str
    dataset: str
    column: str
    label: str | None = None

    def describe(self) -> str:
        """The item in words, for error messages that must say which item of a batch failed."""
        if self.kind == "label":
            return f"label {self.label} on column '{self.column}' of '{self.dataset}'"
        what = f"column '{self.column}'" if self.column else "the dataset"
        return f"description of {what} of '{self.dataset}'"


# --- listing -------------------------------------------------------------------------------------------------


def suggestions(session: Session, actor: Actor, *, source: str | None = None, dataset: str | None = None,
                kind: str | None = None, label: str | None = None, limit: int = 100, offset: int = 0,
                decidable_only: bool = False) -> dict[str, Any]:
    """Open AI suggestions on datasets the actor may read the metadata of, with a total per kind for paging.

    `source` is a catalog source name, `dataset` a part of a dataset name (any case), `label` a label name;
    a label filter lists labels only (descriptions carry no label). `limit`/`offset` apply to each kind.
    Each row says whether the actor may decide it (`can_decide`: the dataset's manage right);
    `decidable_only` lists only those.
    """
    require(actor, Action.DISCOVER, Resource.catalog())
    source = _text(source, "source", MAX_SOURCE)
    dataset = _text(dataset, "dataset", MAX_NAME)
    label = _text(label, "label", MAX_LABEL)
    kinds = _kinds(kind, label)
    _check_page(limit, offset)
    result: dict[str, Any] = {"descriptions": [], "labels": [], "totals": {"descriptions": 0, "labels": 0},
                              "limit": limit, "offset": offset,
                              "filters": {"source": source, "dataset": dataset, "kind": kind or None,
                                          "label": label, "decidable_only": decidable_only}}
    decides = _decider(actor)
    if "descriptions" in kinds:
        query = _scoped(_description_query(), actor, source, dataset, decidable_only)
        result["totals"]["descriptions"] = _count(session, query)
        rows = session.execute(query.order_by(*_description_order()).limit(limit).offset(offset))
        result["descriptions"] = [{**_description_row(*row), "can_decide": decides(row[1])} for row in rows]
    if "labels" in kinds:
        query = _scoped(_label_query(label), actor, source, dataset, decidable_only)
        result["totals"]["labels"] = _count(session, query)
        rows = session.execute(query.order_by(Dataset.name, Column.ordinal, Classification.label)
                               .limit(limit).offset(offset))
        result["labels"] = [{**_label_row(*row), "can_decide": decides(row[1])} for row in rows]
    return result


def _decider(actor: Actor) -> Callable[[str], bool]:
    """`can(actor, manage, dataset)`, asked once per dataset name of a page."""
    known: dict[str, bool] = {}

    def decides(name: str) -> bool:
        if name not in known:
            known[name] = can(actor, Action.MANAGE, Resource.dataset(name))
        return known[name]

    return decides


def _text(value: str | None, name: str, longest: int) -> str | None:
    cleaned = (value or "").strip()
    if len(cleaned) > longest:
        raise InvalidInput(f"{name} must be at most {longest} characters")
    return cleaned or None


def _kinds(kind: str | None, label: str | None) -> tuple[str, ...]:
    """Which kinds to list: a label filter only makes sense for labels, so it cannot ask for descriptions."""
    if kind and kind not in KINDS:
        raise InvalidInput(f"kind '{kind[:40]}' is not one of {', '.join(KINDS)}")
    if label and kind == "descriptions":
        raise InvalidInput("label filters labels: it cannot be combined with kind 'descriptions'")
    if label:
        return ("labels",)
    return (kind,) if kind else KINDS


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET:,}")


def _description_query() -> Select[Any]:
    """Suggested AI texts of datasets and of their current columns (a dropped column's text cannot be decided)."""
    column = and_(Column.dataset_id == Description.dataset_id, Column.name == Description.column_name)
    return (select(Description, Dataset.name, Dataset.native_comment, Column.native_comment)
            .join(Dataset, Dataset.id == Description.dataset_id).outerjoin(Column, column)
            .where(Description.status == descriptions.SUGGESTED, Description.source.startswith("ai:"),
                   or_(Description.column_name == descriptions.TABLE, Column.id.is_not(None))))


def _description_order() -> tuple[Any, ...]:
    """Dataset by dataset, the dataset's own text first, then its columns in table order."""
    return Dataset.name, func.coalesce(Column.ordinal, -1), Description.column_name


def _label_query(label: str | None) -> Select[Any]:
    query = (select(Classification, Dataset.name).join(Dataset, Dataset.id == Classification.dataset_id)
             .join(Column, and_(Column.dataset_id == Classification.dataset_id,
                                Column.name == Classification.column_name))
             .where(Classification.status == classifications.SUGGESTED))
    return query.where(Classification.label == label) if label else query


def _scoped(query: Select[Any], actor: Actor, source: str | None, dataset: str | None, decidable_only: bool
            ) -> Select[Any]:
    """Only live datasets whose metadata the actor may read (or that they manage, with `decidable_only`),
    narrowed by the filters (in SQL, not Python)."""
    wanted = Action.MANAGE if decidable_only else Action.READ_METADATA
    query = query.where(visible_datasets(actor, wanted), Dataset.deleted_at.is_(None))
    if source:
        query = query.where(Dataset.source_id.in_(select(Source.id).where(Source.name == source)))
    if dataset:
        query = query.where(Dataset.name.icontains(dataset, autoescape=True))
    return query


def _count(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _description_row(row: Description, dataset: str, table_comment: str | None, column_comment: str | None
                     ) -> dict[str, Any]:
    return {"kind": "description", "dataset": dataset, "column": row.column_name, "text": row.text,
            "source": row.source, "confidence": row.confidence, "prompt_version": row.prompt_version,
            "fallback": row.fallback, "updated_at": row.updated_at.isoformat(),
            "native_comment": table_comment if row.column_name == descriptions.TABLE else column_comment}


def _label_row(row: Classification, dataset: str) -> dict[str, Any]:
    return {"kind": "label", "dataset": dataset, "column": row.column_name, "label": row.label,
            "confidence": row.confidence, "match_share": row.match_share, "evidence": list(row.evidence or []),
            "classifier": row.classifier,
            "evaluated_at": row.evaluated_at.isoformat() if row.evaluated_at else None}


# --- deciding ------------------------------------------------------------------------------------------------


def decide_many(session: Session, actor: Actor, items: Iterable[Item | Sequence[str | None]], decision: str,
                text: str | None = None) -> dict[str, Any]:
    """Decide a batch of open suggestions at once, all or nothing.

    `decision` is accept (a label: confirm) or reject; `edit` with `text` replaces the AI's text of exactly one
    description with a person's. The first item that fails stops the batch with an error naming it, and the
    savepoint undoes what the items before it did.
    """
    batch = _batch(items)
    _check_decision(batch, decision, text)
    decided: list[dict[str, Any]] = []
    with session.begin_nested():
        for number, item in enumerate(batch, start=1):
            try:
                decided.append(_decide_one(session, actor, item, decision, text))
            except CatalogError as exc:
                raise _naming(exc, number, item) from exc
    counts = {kind: sum(1 for d in decided if d["kind"] == kind) for kind in ITEM_KINDS}
    return {"decision": decision, "decided": len(decided), "descriptions": counts["description"],
            "labels": counts["label"], "items": decided}


def _batch(items: Iterable[Item | Sequence[str | None]]) -> list[Item]:
    """Items as `Item`s, checked for shape, size and repeats before anything is looked up."""
    batch: list[Item] = []
    seen: dict[Item, int] = {}
    for number, raw in enumerate(items, start=1):
        if number > MAX_BATCH:
            raise InvalidInput(f"items: a batch holds at most {MAX_BATCH} suggestions")
        item = _item(raw, number)
        if item in seen:
            raise InvalidInput(f"item {number} repeats item {seen[item]} ({item.describe()})")
        seen[item] = number
        batch.append(item)
    if not batch:
        raise InvalidInput("items must name at least one suggestion")
    return batch


def _item(raw: Item | Sequence[str | None], number: int) -> Item:
    if isinstance(raw, str) or not 3 <= len(raw) <= 4:
        raise InvalidInput(f"item {number} must be (kind, dataset, column[, label])")
    kind, dataset, column, *rest = (value if value is None else str(value) for value in raw)
    label = rest[0] if rest else None
    if kind not in ITEM_KINDS:
        raise InvalidInput(f"item {number}: kind '{(kind or '')[:40]}' is not one of {', '.join(ITEM_KINDS)}")
    if not dataset or len(dataset) > MAX_NAME or len(column or "") > MAX_NAME:
        raise InvalidInput(f"item {number}: dataset must be given, and dataset and column at most {MAX_NAME} "
                           "characters")
    if kind == "label" and (not column or not label or len(label) > MAX_LABEL):
        raise InvalidInput(f"item {number}: a label item needs a column and a label (at most {MAX_LABEL} "
                           "characters)")
    if kind == "description" and label:
        raise InvalidInput(f"item {number}: a description item has no label")
    return Item(kind, dataset, column or "", label if kind == "label" else None)


def _check_decision(batch: list[Item], decision: str, text: str | None) -> None:
    if decision not in DECISIONS:
        raise InvalidInput(f"decision '{(decision or '')[:40]}' is not one of {', '.join(DECISIONS)}")
    if decision == "edit":
        if len(batch) != 1 or batch[0].kind != "description":
            raise InvalidInput("decision 'edit' takes exactly one description item")
        if not (text or "").strip():
            raise InvalidInput("text must not be empty for decision 'edit'")
    elif text is not None:
        raise InvalidInput("text is only for decision 'edit'")


def _decide_one(session: Session, actor: Actor, item: Item, decision: str, text: str | None) -> dict[str, Any]:
    """Check that the item is still an open suggestion, then let the owning service decide it."""
    require(actor, Action.MANAGE, Resource.dataset(item.dataset))  # before looking: no peeking at others' rows
    dataset_id = session.scalar(select(Dataset.id).where(Dataset.name == item.dataset, visible_datasets(actor)))
    if dataset_id is None:
        raise NotFound(f"dataset '{item.dataset}' does not exist")
    if item.kind == "description":
        _require_open(session.scalar(select(Description).where(
            Description.dataset_id == dataset_id, Description.column_name == item.column)))
        view = descriptions.decide(session, actor, item.dataset, item.column, DESCRIPTION_DECISIONS[decision],
                                   text if decision == "edit" else None)
        return {"kind": "description", "dataset": item.dataset, **view, "column": item.column}
    _require_open(session.scalar(select(Classification).where(
        Classification.dataset_id == dataset_id, Classification.column_name == item.column,
        Classification.label == item.label)))
    view = classifications.decide(session, actor, item.dataset, item.column, str(item.label),
                                  LABEL_DECISIONS[decision])
    return {"kind": "label", "dataset": item.dataset, **view}


def _require_open(row: Description | Classification | None) -> None:
    """A decided suggestion is a conflict (someone was first), a missing one is not found."""
    if row is None:
        raise NotFound("there is no AI suggestion to decide")
    if row.status != descriptions.SUGGESTED:  # the same word in both tables
        who = f" by {row.decided_by}" if row.decided_by else ""
        raise Conflict(f"it was already {row.status}{who}: reload the queue")
    if isinstance(row, Description) and not row.source.startswith("ai:"):
        raise NotFound("there is no AI suggestion to decide")


def _naming(exc: CatalogError, number: int, item: Item) -> CatalogError:
    """The same kind of error (so the status code stays), its message prefixed with the failing item."""
    message = f"item {number} ({item.describe()}): {exc}"
    try:
        return type(exc)(message)
    except TypeError:  # an error class with another constructor: keep its meaning as a plain CatalogError
        return CatalogError(message)
