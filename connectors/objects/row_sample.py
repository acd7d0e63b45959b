"""Row samples of a tabular file set: the first rows of a few files spread along the dataset's listing.

The dataset's files are listed again from its `location` property (see `connectors.objects.locate`); up to
`max_files` of them, evenly spaced along the listing (not just the first, which in a date-partitioned folder
would all be the oldest), are read in turn, each for its share of the rows still wanted (`file_rows`).
Partition columns take their value from each file's `key=value` folders (integers when every sampled value is
one, as the crawl types them). A file that cannot be read (deleted since the listing, corrupt) is skipped with
a warning as long as another file gives rows; a dataset without any file left, or none readable, is a
`DatasetUnreadable` naming it. Image and other file collections have no rows: `SampleUnsupported`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from connectors.base import RowSample, SampleTarget, SampleUnsupported
from connectors.mongo.flatten import Flattener, document_parents
from connectors.objects.aggregates import HIVE_NULL, INTEGER_VALUE
from connectors.objects.file_rows import DOCUMENT, FLAT, FileRows, read_rows
from connectors.objects.formats import FileKind
from connectors.objects.locate import member, spread
from connectors.objects.stores import ObjectInfo, ObjectStore, StoreError
from connectors.values import ValueCleaner

_FILE_ERRORS = (StoreError, ValueError, pa.ArrowException, csv.Error, json.JSONDecodeError, OSError)


class DatasetUnreadable(Exception):
    """The dataset cannot be sampled: no files left, none readable, or no location to find them."""


def location_for(target: SampleTarget) -> Mapping[str, Any]:
    location = target.properties.get("location")
    if isinstance(location, Mapping):
        return location
    if "content" in target.properties and "format" not in target.properties:
        raise SampleUnsupported("file collections have no rows")
    raise DatasetUnreadable("it was crawled before sampling was supported: crawl the source again")


def sample_file_set(store: ObjectStore, target: SampleTarget, limit: int, sample_bytes: int,
                    max_files: int) -> RowSample:
    location = location_for(target)
    listing = store.list_folder(str(location.get("folder", "")), bool(location.get("partitioned")))
    members = ((info, found) for info in listing if (found := member(location, info.key)) is not None)
    chosen, total = spread(members, max_files)
    if not chosen:
        raise DatasetUnreadable("none of its files are there any more")
    sample = _Collector(target)
    for index, (info, (kind, partition)) in enumerate(chosen):
        quota = -(-(limit - sample.rows) // (len(chosen) - index))
        if quota <= 0:
            break
        sample.read(store, info, kind, partition, quota, sample_bytes)
    if not sample.files_read:
        raise DatasetUnreadable(f"none of the {len(chosen)} file(s) tried could be read: {sample.failures[0]}")
    return sample.result(total, target.row_estimate)


class _Collector:
    """Column values gathered file by file."""

    def __init__(self, target: SampleTarget) -> None:
        self.columns = list(target.columns)
        self.values: dict[str, list[Any]] = {name: [] for name in self.columns}
        self.cleaner = ValueCleaner()
        self.rows = 0
        self.files_read = 0
        self.complete = True
        self.failures: list[str] = []
        self.problems: list[str] = []
        self.from_paths: dict[str, bool] = {}  # partition column -> every value so far came from a path

    def read(self, store: ObjectStore, info: ObjectInfo, kind: FileKind, partition: list[tuple[str, str]],
             quota: int, sample_bytes: int) -> None:
        try:
            rows = read_rows(store, info, kind, self.columns, quota, sample_bytes)
        except _FILE_ERRORS as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            self.failures.append(f"{info.key}: {reason}")
            self.complete = False
            return
        self.problems.extend(f"{info.key}: {problem}" for problem in rows.problems)
        self._add(rows, dict(partition))
        self.files_read += 1
        self.complete = self.complete and rows.complete

    def _add(self, rows: FileRows, partition: dict[str, str]) -> None:
        count = len(rows.records)
        if rows.style == FLAT:
            found = {name: [self.cleaner.clean(r.get(name)) for r in rows.records] for name in self.columns}
        else:
            if rows.style == DOCUMENT:  # JSON keys are escaped like MongoDB's, the names say the nesting
                flattener = Flattener(self.columns, document_parents(self.columns), clean=self.cleaner.clean)
            else:  # Arrow struct fields are not escaped; the file's schema says the nesting
                flattener = Flattener(self.columns, rows.parents, escape=str, clean=self.cleaner.clean)
            for record in rows.records:
                flattener.add(record)
            found = flattener.values
        for name in self.columns:
            if name in partition and name not in rows.names:
                value = None if partition[name] == HIVE_NULL else partition[name]
                found[name] = [value] * count
                self.from_paths[name] = self.from_paths.get(name, True)
            elif name in partition:
                self.from_paths[name] = False
            self.values[name].extend(found[name])
        self.rows += count

    def result(self, total: int, estimate: int | None) -> RowSample:
        for name, only_paths in self.from_paths.items():
            present = [v for v in self.values[name] if v is not None]
            if only_paths and present and all(isinstance(v, str) and INTEGER_VALUE.fullmatch(v) for v in present):
                self.values[name] = [None if v is None else int(v) for v in self.values[name]]
        warnings = [f"skipped {failure}" for failure in self.failures] + self.problems[:20]
        if self.complete and self.files_read == total:
            whole = "whole file" if total == 1 else f"all {total:,} files"
            method, population = f"{whole} ({self.rows:,} rows)", self.rows
        else:
            method = f"first rows of {self.files_read} of {total:,} file{'' if total == 1 else 's'}"
            population = estimate
        return RowSample(self.values, self.rows, method, population, tuple(warnings + self.cleaner.warnings()))
