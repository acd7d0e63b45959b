"""The connector contract: frozen snapshots, a crawl report that collects warnings, one small base class."""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class DatasetKind(StrEnum):
    TABLE = "table"
    VIEW = "view"
    COLLECTION = "collection"
    FILE_SET = "file_set"


class ConnectorError(Exception):
    """The source as a whole cannot be crawled (unreachable, wrong password, missing driver), or the one dataset a
    `sample` asked for cannot be read (the message then names it)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"source '{source}': {message}")
        self.source = source


# What makes up a column's schema (and so the schema hash): stored key -> ColumnSnapshot attribute.
# Comments are metadata, not schema, and are left out on purpose.
SCHEMA_FACTS = {
    "name": "name", "ordinal": "ordinal", "native_type": "native_type", "normalized_type": "normalized_type",
    "nullable": "nullable", "nested_path": "nested_path", "primary_key": "is_primary_key",
    "foreign_key": "foreign_key",
}


@dataclass(frozen=True, slots=True)
class ColumnSnapshot:
    """One column or nested field as the source reports it."""

    name: str
    ordinal: int
    native_type: str
    normalized_type: str
    nullable: bool = True
    comment: str | None = None
    nested_path: str | None = None
    is_primary_key: bool = False
    foreign_key: str | None = None  # "<dataset path>.<column>" inside the same source
    # Observations from a sample (share of each type, presence ratio, ...): refreshed by every crawl but not
    # part of the schema or of what counts as a change, because a new random sample shifts them a little.
    stats: Mapping[str, Any] | None = None

    def schema_values(self) -> tuple[Any, ...]:
        """The schema facts in `SCHEMA_FACTS` order (cheap: hashed for every column of every crawl)."""
        return tuple(getattr(self, attribute) for attribute in SCHEMA_FACTS.values())

    def schema_facts(self) -> dict[str, Any]:
        """The schema facts by name, as stored with each schema version and compared by schema diffs."""
        return dict(zip(SCHEMA_FACTS, self.schema_values(), strict=True))


@dataclass(frozen=True, slots=True)
class DatasetSnapshot:
    """One dataset as crawled. `path` is the path inside the source, e.g. `public/orders`."""

    path: str
    kind: DatasetKind
    columns: tuple[ColumnSnapshot, ...]
    row_estimate: int | None = None
    comment: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None  # a source-computed digest of everything above but the row estimate
    # Observations that drift without being a change (documents sampled, file count, total bytes): stored and
    # refreshed on every crawl like the row estimate, never hashed.
    stats: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnchangedDataset:
    """The source vouches that `path` is exactly as at the previous crawl: its fingerprint is unchanged.

    Connectors that can compute fingerprints server-side yield this instead of re-reading every column, which
    makes a re-crawl of an unchanged source cheap. Only ever yielded for paths in `previous_fingerprints`.
    """

    path: str
    fingerprint: str
    row_estimate: int | None = None


Crawled = DatasetSnapshot | UnchangedDataset


@dataclass(frozen=True)
class CrawlWarning:
    dataset: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"dataset": self.dataset, "message": self.message}


@dataclass
class CrawlReport:
    """Collects per-dataset warnings instead of aborting the crawl.

    `incomplete_scopes` names path prefixes (a schema, a folder) that could not be listed in full: datasets
    under them are not soft-deleted when missing, because their absence proves nothing.
    """

    source: str
    warnings: list[CrawlWarning] = field(default_factory=list)
    incomplete_scopes: set[str] = field(default_factory=set)

    def warn(self, dataset: str | None, message: str) -> None:
        self.warnings.append(CrawlWarning(dataset, message))

    def mark_incomplete(self, scope: str, message: str) -> None:
        self.incomplete_scopes.add(scope)
        self.warn(scope, message)

    def covers(self, path: str) -> bool:
        """True when a missing dataset at `path` may be taken as deleted."""
        return not any(path == s or path.startswith(s.rstrip("/") + "/") or s == "" for s in self.incomplete_scopes)


@dataclass(frozen=True)
class NameFilter:
    """Include and exclude glob patterns (comma-separated in source options), matched case-sensitively."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, options: Mapping[str, str], include_key: str, exclude_key: str) -> NameFilter:
        def split(key: str) -> tuple[str, ...]:
            return tuple(p.strip() for p in options.get(key, "").split(",") if p.strip())

        return cls(split(include_key), split(exclude_key))

    def accepts(self, *names: str) -> bool:
        """True when any of `names` (say `orders` and `public/orders`) is included and none is excluded."""
        def matches(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)

        if self.include and not matches(self.include):
            return False
        return not matches(self.exclude)


@dataclass(frozen=True, slots=True)
class SampleTarget:
    """What the catalog knows about the dataset to sample (from the store, no extra listing of the source)."""

    path: str  # dataset path inside the source, as the crawl yielded it
    kind: DatasetKind
    # Catalog column names in ordinal order: SQL column names, document paths (`a.b`, `tags[]`, `items[].sku`),
    # file columns and the partition columns of file sets.
    columns: tuple[str, ...]
    row_estimate: int | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)  # the stored dataset properties from the crawl


@dataclass(frozen=True, slots=True)
class RowSample:
    """Rows read from one dataset, by column, for profiling and PII classification.

    `values` maps every column of the target to its sampled values: None for SQL NULL or a missing field. For
    tables and flat files every list has `rows` entries. Document paths (collections, JSON files, nested
    Parquet) differ: a path under an array (`tags[]`, `items[].sku`) holds one value per array element (None
    where an element object lacks the key), so its list is longer or shorter than `rows`; a column that only
    holds other columns (a subdocument `specs`, an array `tags` with a `tags[]` column, a struct) is left empty,
    its values being its children's. Values are Python-native; strings and bytes past 4,096 characters or bytes
    are cut, and a warning says so (see `connectors.values`).
    """

    values: Mapping[str, list[Any]]
    rows: int  # rows / documents read
    # How the rows were chosen, for people: "TABLESAMPLE SYSTEM (1.25%)", "whole table (1,200 rows)",
    # "20 primary-key ranges", "$sample of 10,000", "first rows of 3 of 120 files".
    method: str
    population: int | None = None  # estimated total rows when known
    warnings: tuple[str, ...] = ()


class SampleUnsupported(Exception):
    """This connector or dataset kind cannot give rows (an image collection, say); the message says why."""


class Connector(ABC):
    """Base of every connector: a name, a constructor that does no I/O, `crawl` and `test_connection`."""

    kind: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, url: str, options: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.url = url  # already resolved: may carry a secret, never print it
        self.options = dict(options or {})
        # Set by the catalog before `crawl`: the fingerprints stored at the previous crawl, by dataset path.
        self.previous_fingerprints: Mapping[str, str] = {}

    @abstractmethod
    def crawl(self, report: CrawlReport) -> Iterator[Crawled]:
        """Yield one snapshot (or an `UnchangedDataset`) per dataset; put per-dataset problems into `report`."""

    @abstractmethod
    def test_connection(self) -> None:
        """Raise `ConnectorError` with one clear line when the source cannot be reached."""

    def sample(self, target: SampleTarget, limit: int) -> RowSample:
        """At most `limit` rows of one dataset, read boundedly (never a full scan by default).

        Raises `ConnectorError` when the source cannot be reached or the dataset is gone or unreadable, and
        `SampleUnsupported` when this kind of source or dataset has no rows.
        """
        raise SampleUnsupported(f"{self.kind} sources cannot be sampled")

    @classmethod
    def handles(cls, url: str) -> bool:
        return any(url.startswith(s) for s in cls.schemes)
