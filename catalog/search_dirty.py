"""Marking a dataset's search documents as out of date, from anywhere that edits what they are made of.

Kept apart from `catalog.search_documents` (which reads labels, descriptions, tags and owners to build texts) so
that the modules editing those can import it without an import cycle.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from catalog.models import SearchDocument

DIRTY = ""  # the text hash of a document whose dataset's human or AI metadata changed since it was written


def mark_dirty(session: Session, dataset_id: int) -> None:
    """Say that a dataset's search text may have changed (a person edited a description, a label, a tag), so the
    next `catalog index` rebuilds its documents even though no crawl changed the dataset."""
    session.execute(update(SearchDocument).where(SearchDocument.dataset_id == dataset_id).values(text_hash=DIRTY))
