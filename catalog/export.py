"""Every row of a crawled dataset as Arrow batches, through its connector: what `publish --from DATASET` reads.

Reading a whole dataset is reading its data, so the caller needs `read_data` on it. Connectors that can export
implement `read_batches(target, columns, batch_rows)` (SQL tables and views, published datasets); for the others
the error says to export the data to a file and publish that.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from catalog.access import Action, Actor, Resource, require
from catalog.db import session_scope
from catalog.errors import InvalidInput, NotFound
from catalog.models import Dataset, Source
from catalog.settings import Settings
from catalog.sources import connector_of
from connectors.base import DatasetKind, SampleTarget

BATCH_ROWS = 50_000


def dataset_batches(settings: Settings, actor: Actor, name: str) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The dataset's Arrow schema and its rows in batches (streamed: memory holds one batch)."""
    require(actor, Action.READ_DATA, Resource.dataset(name))
    with session_scope(settings) as session:
        dataset = session.scalar(select(Dataset).where(Dataset.name == name, Dataset.deleted_at.is_(None))
                                 .options(selectinload(Dataset.columns)))
        if dataset is None:
            raise NotFound(f"dataset '{name}' does not exist")
        connector = connector_of(session.get_one(Source, dataset.source_id))
        columns = [(c.name, c.normalized_type) for c in dataset.columns if c.nested_path is None]
        target = SampleTarget(dataset.path, DatasetKind(dataset.kind), tuple(c for c, _ in columns),
                              dataset.row_estimate, dict(dataset.properties or {}))
    reader = getattr(connector, "read_batches", None)
    if reader is None:
        raise InvalidInput(f"'{name}' is in a {connector.kind} source, which cannot be exported in full yet: "
                           "export it to a Parquet or CSV file and publish that")
    batches = iter(reader(target, columns, BATCH_ROWS))
    first = next(batches, None)
    if first is None:
        from connectors.sql.export import arrow_type

        return pa.schema([(c, arrow_type(t)) for c, t in columns]), iter(())
    return first.schema, itertools.chain([first], batches)
