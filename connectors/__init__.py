"""Connectors crawl a source and yield plain snapshots; they never touch the catalog database.

Third-party connectors register a `Connector` subclass under the `catalog.connectors` entry point group.
"""

from connectors.base import (
    ColumnSnapshot,
    Connector,
    ConnectorError,
    CrawlReport,
    CrawlWarning,
    DatasetKind,
    DatasetSnapshot,
    RowSample,
    SampleTarget,
    SampleUnsupported,
    UnchangedDataset,
)
from connectors.registry import connector_for

__all__ = [
    "ColumnSnapshot",
    "Connector",
    "ConnectorError",
    "CrawlReport",
    "CrawlWarning",
    "DatasetKind",
    "DatasetSnapshot",
    "RowSample",
    "SampleTarget",
    "SampleUnsupported",
    "UnchangedDataset",
    "connector_for",
]
