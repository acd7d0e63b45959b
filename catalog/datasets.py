"""Service functions for datasets: the filtered listing and the full dataset view.

These return plain dicts; the JSON API serialises them and the pages render them, so both always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from catalog.access import Action, Actor, Resource, can, require, visible_datasets
from catalog.classifications import active_labels, labels_of
from catalog.descriptions import TABLE, descriptions_of, effective
from catalog.errors import InvalidInput, NotFound
from catalog.lineage_graph import dataset_lineage
from catalog.models import Column, Dataset, SchemaVersion, Source
from catalog.profiles import current_profile, profile_for
from catalog.stewardship import stewardship_of
from catalog.versions import published_versions

DATASET_KINDS = ("table", "view", "collection", "file_set")
COLUMN_FIELDS = (Column.name, Column.ordinal, Column.native_type, Column.normalized_type, Column.nullable,
                 Column.is_primary_key, Column.foreign_key, Column.nested_path, Column.native_comment, Column.stats)
MAX_PAGE = 500
MAX_OFFSET = 10_000_000  # far past any catalog; larger numbers overflow the store's 64-bit OFFSET (a 500)
ORDERS = ("name", "recent")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_datasets(session: Session, actor: Actor, *, source: str | None = None, kind: str | None = None,
                  q: str | None = None, include_deleted: bool = False, limit: int = 100, offset: int = 0,
                  order: str = "name") -> dict[str, Any]:
    """Datasets the actor may discover, filtered by source, kind and a name/comment substring; ordered by name
    or, with `order="recent"`, most recently changed first."""
    require(actor, Action.DISCOVER, Resource.catalog())
    if order not in ORDERS:
        raise InvalidInput(f"order '{order}' is not one of {', '.join(ORDERS)}")
    if kind and kind not in DATASET_KINDS:
        raise InvalidInput(f"kind '{kind}' is not one of {', '.join(DATASET_KINDS)}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET:,}")
    query = select(Dataset).join(Source).where(visible_datasets(actor))
    if source:
        query = query.where(Source.name == source)
    if kind:
        query = query.where(Dataset.kind == kind)
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        query = query.where(or_(func.lower(Dataset.name).like(pattern, escape="\\"),
                                func.lower(Dataset.native_comment).like(pattern, escape="\\")))
    if not include_deleted:
        query = query.where(Dataset.deleted_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ordering = (Dataset.name,) if order == "name" else (Dataset.last_changed.desc(), Dataset.name)
    rows = session.scalars(query.order_by(*ordering).limit(limit).offset(offset)).all()
    column_counts = _column_counts(session, [d.id for d in rows])
    written = table_descriptions(session, [d.id for d in rows])
    return {
        "total": total, "limit": limit, "offset": offset,
        "datasets": [dataset_summary(d, column_counts.get(d.id, 0), written.get(d.id)) for d in rows],
    }


def _column_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    query = select(Column.dataset_id, func.count()).where(Column.dataset_id.in_(ids)).group_by(Column.dataset_id)
    return dict(session.execute(query).all())


def dataset_summary(dataset: Dataset, column_count: int, written: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """The listing shape of a dataset; `written` is its stored description row (AI or human), if any."""
    text, origin = effective(dataset.native_comment, written)
    return {
        "name": dataset.name,
        "source": dataset.name.split("/", 1)[0],
        "path": dataset.path,
        "kind": dataset.kind,
        "description": text,
        "description_source": origin,
        "row_estimate": dataset.row_estimate,
        "columns": column_count,
        "last_changed": dataset.last_changed.isoformat(),
        "deleted": dataset.deleted,
    }


def get_dataset(session: Session, actor: Actor, name: str) -> dict[str, Any]:
    """One dataset with columns and schema history (the `catalog show --json` shape).

    Every per-column part (columns, labels, descriptions, the profile) is read for all columns at once, so the
    statements a dataset costs do not grow with its columns (tests/test_dataset_page_queries.py holds that).
    Columns are read as plain rows, not ORM objects: a 500-column dataset would otherwise build 500 of them.
    """
    require(actor, Action.READ_METADATA, Resource.dataset(name))
    dataset = session.scalar(
        select(Dataset).where(Dataset.name == name, visible_datasets(actor, Action.READ_METADATA))
        .options(selectinload(Dataset.schema_versions))
    )
    if dataset is None:
        raise NotFound(f"dataset '{name}' does not exist")
    columns = session.execute(select(*COLUMN_FIELDS).where(Column.dataset_id == dataset.id)
                              .order_by(Column.ordinal)).all()
    labels = labels_of(session, dataset.id)
    active = {column: active_labels(found) for column, found in labels.items()}
    written = descriptions_of(session, dataset.id)
    profile = current_profile(session, dataset)
    column_profiles = (profile or {}).pop("columns", {})
    sees_values = _value_reader(actor, name, active)
    return {
        **dataset_summary(dataset, len(columns), written.get(TABLE)),
        "written_description": written.get(TABLE),
        **stewardship_of(session, [dataset.id]).get(dataset.id, {"tags": [], "owners": []}),
        "properties": dict(dataset.properties or {}),
        "stats": dict(dataset.stats or {}),
        "first_seen": dataset.first_seen.isoformat(),
        "last_seen": dataset.last_seen.isoformat(),
        "schema_hash": dataset.schema_hash,
        "columns": [
            {
                "name": c.name, "ordinal": c.ordinal, "type": c.native_type, "normalized_type": c.normalized_type,
                "nullable": c.nullable, "primary_key": c.is_primary_key, "foreign_key": c.foreign_key,
                "nested_path": c.nested_path, **_column_description(c.native_comment, written.get(c.name)),
                "classifications": active.get(c.name, []), "labels": labels.get(c.name, []),
                "stats": c.stats, "profile": profile_for(column_profiles.get(c.name), sees_values(c.name)),
            }
            for c in columns
        ],
        "classifications": sorted({lb for c in columns for lb in active.get(c.name, [])}),
        "profile": profile,
        "schema_versions": [_schema_version(v) for v in reversed(dataset.schema_versions)],
        **_versions_part(session, name),
        "lineage": dataset_lineage(session, actor, name),
    }


def _versions_part(session: Session, name: str) -> dict[str, Any]:
    """The newest published versions (`versions`, at most `SHOWN_WITH_DATASET`) and how many there are in all
    (`versions_total`); the full list is paged at /api/v1/versions."""
    newest, total = published_versions(session, name)
    return {"versions": newest, "versions_total": total}


def _value_reader(actor: Actor, name: str, active: dict[str, list[str]]) -> Callable[[str], bool]:
    """Whether the actor may see a column's sampled values: read_data, and read_pii as well for a column labelled
    personal data (even masked values)."""
    shows_values = can(actor, Action.READ_DATA, Resource.dataset(name))
    shows_pii = can(actor, Action.READ_PII, Resource.dataset(name))

    def sees_values(column: str) -> bool:
        personal = any(lb.startswith("pii.") for lb in active.get(column, ()))
        return shows_values and (shows_pii or not personal)

    return sees_values


def _column_description(comment: str | None, written: dict[str, Any] | None) -> dict[str, Any]:
    text, origin = effective(comment, written)
    return {"description": text, "description_source": origin, "native_comment": comment,
            "written_description": written}


def table_descriptions(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored dataset-level descriptions of several datasets at once (for listings)."""
    from catalog.descriptions import description_view
    from catalog.models import Description

    if not ids:
        return {}
    rows = session.scalars(select(Description).where(Description.dataset_id.in_(ids),
                                                     Description.column_name == TABLE))
    return {row.dataset_id: description_view(row) for row in rows}


def _schema_version(version: SchemaVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "schema_hash": version.schema_hash,
        "created_at": version.created_at.isoformat(),
        "columns": len(version.columns or []),
        "diff": version.diff or {},
    }
