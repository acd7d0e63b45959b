"""Every row of a crawled dataset as Arrow batches, through its connector: what `publish --from DATASET` reads.

Reading a whole dataset is reading its data, so the caller needs `read_data` on it. Connectors that can export
implement `read_batches(target, columns, batch_rows)` (SQL tables and views, published datasets); for the others
the error says to export the data to a file and publish that.

`open_export` answers the schema before a single row is read (from the catalog's columns, or the connector's
`read_schema` where the stored file knows better), so a redaction recipe is checked against it first: a recipe
naming a missing column fails before the source is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from catalog.access import Action, Actor, Resource, require
from catalog.db import session_scope
from catalog.errors import InvalidInput, NotFound, SourceUnavailable
from catalog.models import Dataset, SchemaVersion, Source
from catalog.settings import Settings
from catalog.sources import connector_of
from connectors.base import DatasetKind, SampleTarget

BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Export:
    """A dataset ready to be read: its name, the schema its batches have, the catalog schema version it was
    crawled as (what a derived version records as its source), and `batches()` to start reading."""

    dataset: str
    schema: pa.Schema
    schema_version: int | None
    source_kind: str
    batches: Callable[[], Iterator[pa.RecordBatch]]
    rows_estimate: int | None = None  # the crawl's estimate: decides whether work is spread over processes


def open_export(settings: Settings, actor: Actor, name: str, batch_rows: int = BATCH_ROWS) -> Export:
    """Look the dataset up and settle its schema; no row is read until `batches()` is called."""
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
        rows_estimate = dataset.row_estimate
        schema_version = session.scalar(select(func.max(SchemaVersion.version))
                                        .where(SchemaVersion.dataset_id == dataset.id))
    reader = getattr(connector, "read_batches", None)
    if reader is None:
        raise InvalidInput(f"'{name}' is in a {connector.kind} source, which cannot be exported in full yet: "
                           "export it to a Parquet or CSV file and publish that")
    schema_reader = getattr(connector, "read_schema", None)
    if schema_reader is not None:
        from connectors.base import ConnectorError

        try:
            schema = schema_reader(target, columns)
        except ConnectorError as exc:
            raise SourceUnavailable(str(exc)) from None
    else:
        from connectors.sql.export import arrow_type

        schema = pa.schema([(c, arrow_type(t)) for c, t in columns])
    return Export(name, schema, schema_version, connector.kind, lambda: iter(reader(target, columns, batch_rows)),
                  rows_estimate)
