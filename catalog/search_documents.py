"""The text by which each dataset and column is found, kept in step with the store.

A column's document joins what an analyst might type: the name read as words (`c_eml` -> "e-mail"), the name
itself, its description (a person's, the source's comment or the AI's), the dataset it belongs to, its type and its
labels ("personal data: e-mail address"). A dataset's document joins its path, description, kind, source and its
columns read as words. Documents are rewritten only when their text changes (`text_hash`), so `catalog index`
sends the indexes only what changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from annotator.describe.reading import read_name, texts
from catalog.classifications import active_labels, labels_of
from catalog.descriptions import TABLE, descriptions_of, effective
from catalog.models import Dataset, SearchDocument, utcnow
from catalog.search_dirty import DIRTY
from catalog.stewardship import stewardship_of

COLUMNS_IN_DATASET_TEXT = 60  # a dataset document names at most this many of its columns
LABEL_WORDS = {
    "pii.email": "e-mail address", "pii.phone": "phone number", "pii.person_name": "person name",
    "pii.street_address": "street address", "pii.national_id": "national id number",
    "pii.credit_card": "credit card number", "pii.iban": "bank account IBAN", "pii.ip_address": "IP address",
    "pii.date_of_birth": "date of birth", "pii.passport": "passport number", "pii.geo_location": "geo location",
}


@dataclass(frozen=True)
class DocumentText:
    column: str  # TABLE for the dataset itself
    name: str
    text: str


def name_words(name: str) -> str:
    """A name as words an analyst would type: `cust_nm` -> "customer name"."""
    try:
        return texts(read_name(name).words)
    except Exception:  # noqa: BLE001 - a name the reader cannot read is still findable by itself
        return name


def _label_words(labels: list[str]) -> str:
    if not labels:
        return ""
    return "personal data: " + ", ".join(LABEL_WORDS.get(label, label) for label in labels)


def dataset_documents(session: Session, dataset: Dataset) -> list[DocumentText]:
    """The documents of one dataset: itself, then each column."""
    written = descriptions_of(session, dataset.id)
    labels = labels_of(session, dataset.id)
    description, _ = effective(dataset.native_comment, written.get(TABLE))
    path_words = " ".join(name_words(part) for part in dataset.path.split("/"))
    column_words = ", ".join(name_words(c.name) for c in dataset.columns[:COLUMNS_IN_DATASET_TEXT])
    all_labels = sorted({lb for c in dataset.columns for lb in active_labels(labels.get(c.name, []))})
    source = dataset.name.split("/", 1)[0]
    stewardship = stewardship_of(session, [dataset.id]).get(dataset.id, {"tags": [], "owners": []})
    documents = [DocumentText(TABLE, dataset.name, _join(
        path_words, dataset.path, description, f"{dataset.kind.replace('_', ' ')} in source {source}",
        f"columns: {column_words}" if column_words else "", _label_words(all_labels),
        "tags: " + ", ".join(stewardship["tags"]) if stewardship["tags"] else "",
        "owned by " + ", ".join(stewardship["owners"]) if stewardship["owners"] else ""))]
    for column in dataset.columns:
        text, _ = effective(column.native_comment, written.get(column.name))
        documents.append(DocumentText(column.name, column.name, _join(
            name_words(column.name), column.name, text, f"column of {path_words} ({dataset.path})",
            column.normalized_type, _label_words(active_labels(labels.get(column.name, []))))))
    return documents


def _join(*parts: str | None) -> str:
    return " | ".join(p.strip() for p in parts if p and p.strip())


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sync_documents(session: Session, since: datetime | None = None, batch: int = 200) -> dict[str, int]:
    """Bring `search_documents` in line with the store; returns counts of written and orphaned rows.

    With `since` (when the previous sync started) only datasets that may have changed are read: new or restored
    ones (no documents yet), ones marked dirty, and ones a crawl changed or deleted since then. Orphans (their
    dataset deleted, soft-deleted, or the column gone) keep their row with `dataset_id` NULL until `build_index`
    has removed them from the index files.
    """
    counts = {"written": 0, "orphaned": 0, "datasets": 0}
    for dataset in _datasets(session, batch, since):
        counts["datasets"] += 1
        existing = {d.column_name: d for d in
                    session.scalars(select(SearchDocument).where(SearchDocument.dataset_id == dataset.id))}
        current = dataset_documents(session, dataset) if dataset.deleted_at is None else []
        for document in current:
            digest = text_hash(document.text)
            row = existing.pop(document.column, None)
            if row is None:
                row = SearchDocument(dataset_id=dataset.id, column_name=document.column)
                session.add(row)
            elif row.text_hash == digest:
                continue
            row.name, row.text, row.text_hash, row.updated_at = document.name, document.text, digest, utcnow()
            counts["written"] += 1
        for row in existing.values():
            row.dataset_id = None
            counts["orphaned"] += 1
        session.flush()
    return counts


def _datasets(session: Session, batch: int, since: datetime | None) -> Iterator[Dataset]:
    """The datasets to sync (see `sync_documents`), in id order, a batch at a time (columns loaded with them)."""
    query = select(Dataset)
    if since is not None:
        documents = select(SearchDocument.id).where(SearchDocument.dataset_id == Dataset.id)
        query = query.where(or_(
            and_(~documents.exists(), Dataset.deleted_at.is_(None)),
            documents.where(SearchDocument.text_hash == DIRTY).exists(),
            Dataset.last_changed >= since, Dataset.deleted_at >= since))
    last = 0
    while True:
        rows = session.scalars(query.where(Dataset.id > last).order_by(Dataset.id).limit(batch)
                               .options(selectinload(Dataset.columns))).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def pending(session: Session) -> tuple[list[SearchDocument], list[int]]:
    """(rows whose text the indexes have not taken yet, ids the indexes must forget)."""
    changed = list(session.scalars(select(SearchDocument).where(
        SearchDocument.dataset_id.is_not(None),
        (SearchDocument.indexed_hash.is_(None)) | (SearchDocument.indexed_hash != SearchDocument.text_hash))))
    orphans = list(session.scalars(select(SearchDocument.id).where(SearchDocument.dataset_id.is_(None))))
    return changed, orphans


def document_facts(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """For result ids of live datasets: dataset name, column, kind and id of the dataset, and the dataset's source
    comment (filters and display need them; the comment comes along so that showing it costs no statement)."""
    if not ids:
        return {}
    rows = session.execute(
        select(SearchDocument.id, SearchDocument.column_name, Dataset.name, Dataset.kind, Dataset.id,
               Dataset.native_comment)
        .join(Dataset, Dataset.id == SearchDocument.dataset_id)
        .where(SearchDocument.id.in_(ids), Dataset.deleted_at.is_(None)))
    return {doc_id: {"column": column or None, "dataset": name, "dataset_kind": kind, "dataset_id": dataset_id,
                     "dataset_comment": comment}
            for doc_id, column, name, kind, dataset_id, comment in rows}
