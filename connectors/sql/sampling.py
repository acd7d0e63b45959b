"""Bounded row samples of one table or view, by the cheapest method that is not just "the first rows".

- PostgreSQL tables and materialized views: `TABLESAMPLE SYSTEM (p)` with p from the planner's own row estimate
  (rows per page from the statistics times the live page count) and a safety factor, the sampled rows put in
  random order and cut at the limit (so the cut does not favour the first sampled pages); too few rows back ->
  once more with 4 x p, then `TABLESAMPLE BERNOULLI`. Small tables are read whole. See `sampling_dialects`.
- MySQL / MariaDB (no TABLESAMPLE) with a single integer primary key, and SQLite on its rowid (or integer primary
  key): `RANGES` random key ranges, one per stratum of [MIN, MAX] of the key (both an index lookup), each read
  with `WHERE key >= start AND key < stratum end ORDER BY key LIMIT m`, wrapping round to the stratum's start
  when the stratum runs out; a key span no larger than the limit is the whole table.
- Views, tables without a usable key, other dialects: the first rows (`SELECT ... LIMIT n`), with a warning
  where that is a fallback.

Every statement runs read-only under the `sample_timeout_s` budget (see `connectors.sql.connector`); identifiers
are quoted by SQLAlchemy, so hostile names are just names, and no text from the source is ever executed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, TableClause, column, func, select, table

from connectors.base import DatasetKind, RowSample, SampleTarget
from connectors.values import ValueCleaner

RANGES = 20


class DatasetGone(Exception):
    """The relation is no longer in the source (dropped or renamed since the crawl)."""


@dataclass
class Sampling:
    """One sample in the making: the relation as a SQLAlchemy construct plus what to report about it."""

    conn: Connection
    schema: str
    name: str
    target: SampleTarget
    limit: int
    warnings: list[str] = field(default_factory=list)
    population: int | None = None

    def __post_init__(self) -> None:
        self.relation: TableClause = table(self.name, *(column(c) for c in self.target.columns), schema=self.schema)
        self.population = self.target.row_estimate

    def columns(self) -> list[ColumnElement[Any]]:
        return list(self.relation.c)

    def run(self, statement: Select[Any]) -> list[Sequence[Any]]:
        return [tuple(row) for row in self.conn.execute(statement)]

    def head(self, method: str | None = None) -> RowSample:
        """The first `limit` rows; "whole table/view (N rows)" when fewer came back."""
        rows = self.run(select(*self.columns()).select_from(self.relation).limit(self.limit))
        if len(rows) < self.limit:
            self.warnings = [w for w in self.warnings if not w.startswith("no sampling method")]
            self.population = len(rows)
            return self.result(rows, f"whole {self.noun()} ({len(rows):,} rows)")
        return self.result(rows, method or "first rows")

    def noun(self) -> str:
        return "view" if self.target.kind == DatasetKind.VIEW else "table"

    def key_ranges(self, key: ColumnElement[Any], label: str) -> RowSample:
        """Stratified random ranges of an integer key (see the module docstring)."""
        low, high = self.conn.execute(select(func.min(key), func.max(key)).select_from(self.relation)).one()
        if low is None or int(high) - int(low) + 1 <= self.limit:
            return self.head()
        low, high = int(low), int(high)
        strata = max(1, min(RANGES, self.limit))
        span = high - low + 1
        bounds = [low + span * i // strata for i in range(strata + 1)]
        rows: list[Sequence[Any]] = []
        chooser = random.Random()
        exhausted = True  # every stratum had fewer rows than its share: that is the whole table
        for index in range(strata):
            quota = self.limit // strata + (1 if index < self.limit % strata else 0)
            start, end = bounds[index], bounds[index + 1]
            offset = chooser.randrange(start, end)
            found = self._range(key, offset, end, quota)
            if len(found) < quota and offset > start:
                found += self._range(key, start, offset, quota - len(found))
            exhausted = exhausted and len(found) < quota
            rows.extend(found)
        if exhausted:
            self.population = len(rows)
            return self.result(rows, f"whole {self.noun()} ({len(rows):,} rows)")
        return self.result(rows, f"{strata} {label} ranges")

    def small_table(self, threshold: int) -> RowSample | None:
        """The whole table when its row estimate is at most `threshold` and it really fits the limit; None
        otherwise (no estimate, or more rows than the limit: the estimate was stale)."""
        if self.population is None or self.population > threshold:
            return None
        rows = self.run(select(*self.columns()).select_from(self.relation).limit(self.limit + 1))
        if len(rows) > self.limit:
            return None
        self.population = len(rows)
        return self.result(rows, f"whole {self.noun()} ({len(rows):,} rows)")

    def _range(self, key: ColumnElement[Any], start: int, end: int, count: int) -> list[Sequence[Any]]:
        statement = (select(*self.columns()).select_from(self.relation)
                     .where(key >= start, key < end).order_by(key).limit(count))
        return self.run(statement)

    def result(self, rows: list[Sequence[Any]], method: str) -> RowSample:
        cleaner = ValueCleaner()
        values: dict[str, list[Any]] = {name: [] for name in self.target.columns}
        lists = [values[name] for name in self.target.columns]
        for row in rows:
            for target, value in zip(lists, row, strict=True):
                target.append(cleaner.clean(value))
        return RowSample(values, len(rows), method, self.population, tuple(self.warnings + cleaner.warnings()))


def split_path(path: str, schemas: Sequence[str]) -> tuple[str, str]:
    """(schema, relation) of a dataset path `schema/relation`: the longest listed schema that prefixes it, since
    relation names (and, rarely, schema names) may themselves hold slashes."""
    candidates = [s for s in schemas if path.startswith(s + "/") and len(path) > len(s) + 1]
    if candidates:
        schema = max(candidates, key=len)
        return schema, path[len(schema) + 1:]
    raise DatasetGone(f"its schema is not in the source any more ({path.split('/', 1)[0]!r})")
