"""Dialect-neutral rows read from system catalogs, and their assembly into snapshots.

Each dialect reader runs a handful of bulk queries per schema and fills a `SchemaRows`; `assemble` turns that
into `DatasetSnapshot`s the same way for every dialect, so key and ordinal handling lives in one place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from connectors.base import ColumnSnapshot, Crawled, CrawlReport, DatasetKind, DatasetSnapshot, UnchangedDataset
from connectors.sql.types import normalize_type


@dataclass
class RelationRow:
    name: str
    kind: DatasetKind
    row_estimate: int | None = None
    comment: str | None = None
    broken: str | None = None  # why the relation cannot be read (a view that fails to compile)
    properties: dict[str, object] = field(default_factory=dict)
    fingerprint: str | None = None
    unchanged: bool = False  # fingerprint equals the previous crawl's: columns were not read


@dataclass
class ColumnRow:
    table: str
    position: int
    name: str
    native_type: str
    nullable: bool
    comment: str | None = None


@dataclass
class SchemaRows:
    schema: str
    relations: dict[str, RelationRow] = field(default_factory=dict)
    columns: list[ColumnRow] = field(default_factory=list)
    primary_keys: set[tuple[str, str]] = field(default_factory=set)
    foreign_keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, column) -> target

    def add_foreign_key(self, table: str, column: str, ref_schema: str, ref_table: str, ref_column: str | None) -> None:
        target = f"{ref_schema}/{ref_table}"
        self.foreign_keys[(table, column)] = f"{target}.{ref_column}" if ref_column else target


def dataset_path(schema: str, table: str) -> str:
    return f"{schema}/{table}"


def _clean_comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    comment = comment.strip()
    return comment or None


def _unique_columns(columns: list[ColumnRow], path: str, report: CrawlReport) -> list[ColumnRow]:
    """Column names are unique per dataset in the store; a source that repeats one gets a warning."""
    seen: set[str] = set()
    unique = []
    for column in columns:
        if column.name in seen:
            report.warn(path, f"duplicate column name {column.name!r} skipped")
            continue
        seen.add(column.name)
        unique.append(column)
    return unique


def assemble(rows: SchemaRows, report: CrawlReport, vanished: set[str] | None = None) -> Iterator[Crawled]:
    """Yield snapshots in name order; broken or vanished relations become warnings, not datasets.

    A broken relation's path is marked incomplete so the store keeps its last known schema instead of
    deleting it: it still exists, it just cannot be read right now.
    """
    by_table: dict[str, list[ColumnRow]] = defaultdict(list)
    for column in rows.columns:
        by_table[column.table].append(column)
    for table in sorted(rows.relations):
        relation = rows.relations[table]
        path = dataset_path(rows.schema, table)
        if relation.broken:
            report.mark_incomplete(path, f"{relation.kind.value} cannot be read, last known schema kept: "
                                         f"{relation.broken}")
            continue
        if relation.unchanged and relation.fingerprint:
            yield UnchangedDataset(path, relation.fingerprint, relation.row_estimate)
            continue
        if vanished and table in vanished:
            report.warn(path, f"{relation.kind.value} was dropped during the crawl")
            continue
        columns = _unique_columns(sorted(by_table.get(table, []), key=lambda c: c.position), path, report)
        yield DatasetSnapshot(
            path=path,
            kind=relation.kind,
            columns=tuple(
                ColumnSnapshot(
                    name=c.name,
                    ordinal=i,
                    native_type=c.native_type,
                    normalized_type=normalize_type(c.native_type),
                    nullable=c.nullable,
                    comment=_clean_comment(c.comment),
                    is_primary_key=(table, c.name) in rows.primary_keys,
                    foreign_key=rows.foreign_keys.get((table, c.name)),
                )
                for i, c in enumerate(columns, start=1)
            ),
            row_estimate=relation.row_estimate,
            comment=_clean_comment(relation.comment),
            properties=relation.properties,
            fingerprint=relation.fingerprint,
        )
