"""The only writer of crawled facts: applies a crawl's snapshots to the metadata store.

A crawl is applied in two phases. First the connector's snapshots are streamed to a spool file, so a source
that fails halfway leaves the store exactly as it was. Then the spool is applied in bounded transactions of
`batch_size` datasets; deletions happen only after every batch succeeded, and only for datasets whose scope the
connector listed completely.
"""

from __future__ import annotations

import json
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.models import Column, Dataset, SchemaVersion, utcnow
from catalog.schema_diff import diff_schemas, facts_hash, schema_columns, schema_hash
from connectors.base import (
    ColumnSnapshot,
    Crawled,
    CrawlReport,
    DatasetKind,
    DatasetSnapshot,
    UnchangedDataset,
)


@dataclass
class ApplyCounts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    restored: int = 0
    changed_names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Known:
    id: int
    schema_hash: str
    facts_hash: str
    deleted: bool
    row_estimate: int | None
    fingerprint: str | None


_Fresh = tuple[DatasetSnapshot, list[dict[str, Any]], str, str]  # snapshot, schema columns, schema hash, facts hash


class Spool:
    """Snapshots streamed to a temporary file: memory stays flat however large the source is.

    Snapshots are stored as plain tuples: pickling dataclasses field by field costs more than the whole read.
    """

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="catalog-crawl-")
        self.count = 0

    def write_all(self, snapshots: Iterable[Crawled]) -> None:
        for s in snapshots:
            record: tuple[Any, ...]
            if isinstance(s, UnchangedDataset):
                record = (s.path, s.fingerprint, s.row_estimate)
            else:
                columns = [(c.name, c.ordinal, c.native_type, c.normalized_type, c.nullable, c.comment,
                            c.nested_path, c.is_primary_key, c.foreign_key, c.stats) for c in s.columns]
                record = (s.path, s.kind.value, s.row_estimate, s.comment, dict(s.properties), columns,
                          s.fingerprint, dict(s.stats))
            pickle.dump(record, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self.count += 1

    def read(self) -> Iterator[Crawled]:
        self._file.seek(0)
        for _ in range(self.count):
            record = pickle.load(self._file)  # noqa: S301 - our own file, written above
            if len(record) == 3:
                yield UnchangedDataset(*record)
                continue
            path, kind, rows, comment, properties, columns, fingerprint, stats = record
            yield DatasetSnapshot(path, DatasetKind(kind), tuple(ColumnSnapshot(*c) for c in columns), rows,
                                  comment, properties, fingerprint, stats)

    def close(self) -> None:
        self._file.close()


def _insert_plain_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """executemany straight through the driver: no per-value SQLAlchemy processing, which dominates the cost
    of storing tens of thousands of columns. Only for tables whose values the driver takes as they are
    (strings, numbers, booleans, None: no JSON, no dates)."""
    keys = list(rows[0])
    compiled = insert(table).values({k: bindparam(k) for k in keys}).compile(dialect=conn.dialect)
    if compiled.positional:
        order = compiled.positiontup or []
        conn.exec_driver_sql(str(compiled), [tuple(row[k] for k in order) for row in rows])
    else:
        conn.exec_driver_sql(str(compiled), rows)


def _column_rows(dataset_id: int, snapshot: DatasetSnapshot) -> list[dict[str, Any]]:
    return [
        {
            "dataset_id": dataset_id, "ordinal": c.ordinal, "name": c.name, "native_type": c.native_type,
            "normalized_type": c.normalized_type, "nullable": c.nullable, "native_comment": c.comment,
            "nested_path": c.nested_path, "is_primary_key": c.is_primary_key, "foreign_key": c.foreign_key,
            "stats": dict(c.stats) if c.stats is not None else None,
        }
        for c in snapshot.columns
    ]


def _as_driver_json(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """JSON values serialised for `_insert_plain_rows`, which bypasses SQLAlchemy's JSON type (SQL NULL for
    None, as the JSON type with `none_as_null` would store it)."""
    return [{**row, key: None if row[key] is None else json.dumps(row[key], separators=(",", ":"))}
            for row in rows]


def _has_stats(snapshot: DatasetSnapshot) -> bool:
    return bool(snapshot.stats) or any(c.stats is not None for c in snapshot.columns)


class CrawlApplier:
    """Applies the snapshots of one crawl of one source."""

    def __init__(self, sessions: sessionmaker[Session], source_id: int, source_name: str, run_id: int,
                 batch_size: int = 200) -> None:
        self.sessions = sessions
        self.source_id = source_id
        self.source_name = source_name
        self.run_id = run_id
        self.batch_size = max(1, batch_size)
        self.counts = ApplyCounts()
        self.seen: set[str] = set()
        with sessions() as session:
            self.known = {
                row.path: _Known(row.id, row.schema_hash, row.facts_hash, row.deleted_at is not None,
                                 row.row_estimate, row.source_fingerprint)
                for row in session.execute(
                    select(Dataset.id, Dataset.path, Dataset.schema_hash, Dataset.facts_hash, Dataset.deleted_at,
                           Dataset.row_estimate, Dataset.source_fingerprint).where(Dataset.source_id == source_id)
                )
            }

    def fingerprints(self) -> dict[str, str]:
        """What the connector may compare against to skip re-reading unchanged datasets."""
        return {path: known.fingerprint for path, known in self.known.items() if known.fingerprint}

    def apply(self, snapshots: Iterable[Crawled], progress: Any = None) -> None:
        batch: list[Crawled] = []
        for snapshot in snapshots:
            if snapshot.path in self.seen:
                continue  # a connector that yields a path twice: first one wins
            self.seen.add(snapshot.path)
            batch.append(snapshot)
            if len(batch) >= self.batch_size:
                self._apply_batch(batch, progress)
                batch = []
        if batch:
            self._apply_batch(batch, progress)

    def _apply_batch(self, batch: list[Crawled], progress: Any) -> None:
        now = utcnow()
        touched: list[int] = []
        fresh: list[_Fresh] = []
        with self.sessions.begin() as session:
            for snapshot in batch:
                known = self.known.get(snapshot.path)
                if known is not None and known.deleted:
                    self.counts.restored += 1
                if isinstance(snapshot, UnchangedDataset):
                    self._keep(session, self.known[snapshot.path], snapshot.row_estimate, None, touched)
                    continue
                digest = schema_hash(snapshot)
                facts = facts_hash(snapshot, digest)
                if known is None:
                    fresh.append((snapshot, schema_columns(snapshot), digest, facts))
                    continue
                if known.facts_hash != facts:
                    self._update(session, known, snapshot, schema_columns(snapshot), digest, facts, now)
                    self.counts.changed += 0 if known.deleted else 1
                    continue
                self._keep(session, known, snapshot.row_estimate, snapshot.fingerprint, touched)
                if _has_stats(snapshot):
                    self._refresh_stats(session, known.id, snapshot)
            if fresh:
                self._insert_new(session, fresh, now)
            if touched:
                session.execute(update(Dataset).where(Dataset.id.in_(touched)).values(last_seen=now))
        if progress is not None:
            progress(len(batch))

    def _keep(self, session: Session, known: _Known, row_estimate: int | None, fingerprint: str | None,
              touched: list[int]) -> None:
        """An unchanged dataset: refresh what may drift without being a change (row estimate, fingerprint)."""
        touched.append(known.id)
        values: dict[str, Any] = {}
        if known.row_estimate != row_estimate:
            values["row_estimate"] = row_estimate
        if known.deleted:
            values["deleted_at"] = None
        if fingerprint and fingerprint != known.fingerprint:
            values["source_fingerprint"] = fingerprint
        if values:
            session.execute(update(Dataset).where(Dataset.id == known.id).values(**values))
        self.counts.unchanged += 0 if known.deleted else 1

    def _refresh_stats(self, session: Session, dataset_id: int, snapshot: DatasetSnapshot) -> None:
        """An unchanged dataset's new sample observations: the schema is the same, so columns match by name."""
        session.execute(update(Dataset).where(Dataset.id == dataset_id).values(stats=dict(snapshot.stats)))
        ids = dict(session.execute(select(Column.name, Column.id).where(Column.dataset_id == dataset_id)).all())
        updates = [{"id": ids[c.name], "stats": dict(c.stats) if c.stats is not None else None}
                   for c in snapshot.columns if c.name in ids]
        if updates:
            session.execute(update(Column), updates)

    def _insert_new(self, session: Session, fresh: list[_Fresh], now: datetime) -> None:
        """Insert new datasets with their columns and first schema version: three bulk statements."""
        conn = session.connection()
        rows = [
            {
                "source_id": self.source_id, "name": f"{self.source_name}/{snapshot.path}", "path": snapshot.path,
                "kind": snapshot.kind.value, "row_estimate": snapshot.row_estimate,
                "native_comment": snapshot.comment, "properties": dict(snapshot.properties),
                "stats": dict(snapshot.stats), "schema_hash": digest, "facts_hash": facts,
                "source_fingerprint": snapshot.fingerprint, "first_seen": now, "last_seen": now,
                "last_changed": now, "deleted_at": None,
            }
            for snapshot, _, digest, facts in fresh
        ]
        table = Dataset.__table__
        inserted = conn.execute(insert(table).returning(table.c.id, table.c.path, sort_by_parameter_order=True), rows)
        ids = {path: id_ for id_, path in inserted}
        columns = [row for snapshot, *_ in fresh for row in _column_rows(ids[snapshot.path], snapshot)]
        if columns:
            _insert_plain_rows(conn, Column.__table__, _as_driver_json(columns, "stats"))
        conn.execute(insert(SchemaVersion.__table__), [
            {"dataset_id": ids[snapshot.path], "version": 1, "schema_hash": digest, "columns": digest_columns,
             "diff": {}, "crawl_run_id": self.run_id, "created_at": now}
            for snapshot, digest_columns, digest, _ in fresh
        ])
        self.counts.new += len(fresh)
        self.counts.changed_names.extend(row["name"] for row in rows)

    def _update(self, session: Session, known: _Known, snapshot: DatasetSnapshot, columns: list[dict[str, Any]],
                digest: str, facts: str, now: datetime) -> None:
        session.execute(update(Dataset).where(Dataset.id == known.id).values(
            kind=snapshot.kind.value, row_estimate=snapshot.row_estimate, native_comment=snapshot.comment,
            properties=dict(snapshot.properties), stats=dict(snapshot.stats), schema_hash=digest,
            facts_hash=facts, source_fingerprint=snapshot.fingerprint, last_seen=now, last_changed=now, deleted_at=None,
        ))
        self._replace_columns(session, known.id, snapshot)
        if digest != known.schema_hash:
            previous = session.execute(
                select(SchemaVersion.version, SchemaVersion.columns).where(SchemaVersion.dataset_id == known.id)
                .order_by(SchemaVersion.version.desc()).limit(1)
            ).first()
            version, old_columns = previous if previous else (0, [])
            session.add(SchemaVersion(dataset_id=known.id, version=version + 1, schema_hash=digest,
                                      columns=columns, diff=diff_schemas(old_columns, columns),
                                      crawl_run_id=self.run_id, created_at=now))
        self.counts.changed_names.append(f"{self.source_name}/{snapshot.path}")

    def _replace_columns(self, session: Session, dataset_id: int, snapshot: DatasetSnapshot) -> None:
        """Update columns in place by name (ids stay stable), drop the gone ones, add the new ones."""
        existing = dict(session.execute(
            select(Column.name, Column.id).where(Column.dataset_id == dataset_id)
        ).all())
        rows = _column_rows(dataset_id, snapshot)
        gone = [cid for name, cid in existing.items() if name not in {r["name"] for r in rows}]
        if gone:
            session.execute(delete(Column).where(Column.id.in_(gone)))
        updates = [{"id": existing[r["name"]], **r} for r in rows if r["name"] in existing]
        if updates:
            session.execute(update(Column), updates)
        fresh = [r for r in rows if r["name"] not in existing]
        if fresh:
            session.execute(insert(Column), fresh)

    def finish(self, report: CrawlReport) -> ApplyCounts:
        """Soft-delete datasets missing from this crawl, unless their scope was not listed completely."""
        missing = [
            known.id for path, known in self.known.items()
            if path not in self.seen and not known.deleted and report.covers(path)
        ]
        now = utcnow()
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            with self.sessions.begin() as session:
                session.execute(update(Dataset).where(Dataset.id.in_(chunk)).values(deleted_at=now, last_changed=now))
        self.counts.deleted = len(missing)
        return self.counts
