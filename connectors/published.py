"""`DvcRepoConnector`: the Parquet files a local DVC repository tracks, as they are at its working tree's HEAD.

The catalog publishes versions into its own DVC repository (`catalog.version_repo`); each top-level name of a
published dataset (`team` in `team/churn`) is registered as a source of this kind, so the current version of
every published dataset is crawled, sampled, profiled, described and searched exactly like any other table.
It works on any local DVC repository whose Parquet outputs sit in its cache.

URL: `dvc+file:///absolute/repo/path`; option `prefix` (a folder inside the repository, e.g. `data/team`).
A dataset's path is the tracked file's path under the prefix without `.parquet`. The `.dvc` file's md5 is the
fingerprint, so a re-crawl reads nothing but the small `.dvc` files of unchanged datasets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.base import (
    ColumnSnapshot,
    Connector,
    ConnectorError,
    Crawled,
    CrawlReport,
    DatasetKind,
    DatasetSnapshot,
    RowSample,
    SampleTarget,
    UnchangedDataset,
)
from connectors.mongo.flatten import Flattener
from connectors.objects.arrow_columns import fields_from_arrow
from connectors.values import ValueCleaner

SUFFIX = ".parquet.dvc"
SAMPLE_GROUPS = 8  # row groups read for a sample, spread along the file


def read_dvc_file(path: Path) -> tuple[str, int]:
    """(md5, size) of the single output a `.dvc` file tracks; ValueError when it is not one."""
    md5, size = None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.strip().lstrip("- ").partition(":")
        if key == "md5":
            md5 = value.strip()
        elif key == "size":
            size = int(value.strip())
    if not md5 or len(md5) != 32 or size is None:
        raise ValueError(f"{path.name} does not track one file with an md5")
    return md5, size


class DvcRepoConnector(Connector):
    kind: ClassVar[str] = "published"
    schemes: ClassVar[tuple[str, ...]] = ("dvc+file://",)

    @property
    def root(self) -> Path:
        return Path(unquote(urlparse(self.url).path))

    @property
    def folder(self) -> Path:
        prefix = (self.options.get("prefix") or "").strip("/")
        return self.root / prefix if prefix else self.root

    def object_path(self, md5: str) -> Path:
        return self.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]

    def test_connection(self) -> None:
        if not (self.root / ".dvc").is_dir():
            raise ConnectorError(self.name, f"{self.root} is not a DVC repository")

    def crawl(self, report: CrawlReport) -> Iterator[Crawled]:
        self.test_connection()
        previous = getattr(self, "previous_fingerprints", {}) or {}
        if not self.folder.is_dir():
            return
        for directory, folders, files in os.walk(self.folder):
            folders.sort()
            for file_name in sorted(f for f in files if f.endswith(SUFFIX)):
                dvc_file = Path(directory) / file_name
                path = str(dvc_file.relative_to(self.folder))[: -len(SUFFIX)]
                crawled = self._dataset(path, dvc_file, previous.get(path), report)
                if crawled is not None:
                    yield crawled

    def _dataset(self, path: str, dvc_file: Path, previous: str | None, report: CrawlReport) -> Crawled | None:
        try:
            md5, size = read_dvc_file(dvc_file)
        except (OSError, ValueError) as exc:
            report.mark_incomplete(path, f"cannot read {dvc_file.name}: {exc}")
            return None
        if previous == md5:
            return UnchangedDataset(path, md5)
        data = self.object_path(md5)
        try:
            metadata = pq.read_metadata(str(data))
        except (OSError, pa.ArrowInvalid) as exc:
            report.mark_incomplete(path, f"version {md5[:12]} is not in the local DVC cache or unreadable: "
                                         f"{type(exc).__name__}")
            return None
        schema = metadata.schema.to_arrow_schema()
        columns = tuple(
            ColumnSnapshot(spec.name, ordinal, spec.native_type, spec.normalized_type, spec.nullable, spec.comment,
                           spec.nested_path)
            for ordinal, spec in enumerate(fields_from_arrow(schema), start=1)
        )
        properties = {"format": "parquet", "md5": md5, "size": size}
        return DatasetSnapshot(path, DatasetKind.TABLE, columns, row_estimate=metadata.num_rows,
                               properties=properties, fingerprint=md5)

    def sample(self, target: SampleTarget, limit: int) -> RowSample:
        md5 = str(target.properties.get("md5") or "")
        if not md5:
            raise ConnectorError(self.name, f"dataset '{target.path}' has no tracked version to sample")
        try:
            parquet = pq.ParquetFile(str(self.object_path(md5)))
        except (OSError, pa.ArrowInvalid) as exc:
            raise ConnectorError(self.name, f"dataset '{target.path}': version {md5[:12]} cannot be read: "
                                            f"{type(exc).__name__}") from None
        return sample_parquet(parquet, target.columns, limit)


    def read_schema(self, target: SampleTarget, columns: list[tuple[str, str]]) -> pa.Schema:
        """The current version's Arrow schema, from the Parquet footer (no rows read): what `read_batches` yields."""
        md5 = str(target.properties.get("md5") or "")
        try:
            return pq.read_schema(str(self.object_path(md5)))
        except (OSError, pa.ArrowInvalid) as exc:
            raise ConnectorError(self.name, f"dataset '{target.path}' cannot be read: {type(exc).__name__}") from None

    def read_batches(self, target: SampleTarget, columns: list[tuple[str, str]], batch_rows: int
                     ) -> Iterator[pa.RecordBatch]:
        """Every row of the current version (re-publishing it under another name, or deriving from it)."""
        md5 = str(target.properties.get("md5") or "")
        try:
            parquet = pq.ParquetFile(str(self.object_path(md5)))
        except (OSError, pa.ArrowInvalid) as exc:
            raise ConnectorError(self.name, f"dataset '{target.path}' cannot be read: {type(exc).__name__}") from None
        yield from parquet.iter_batches(batch_size=batch_rows)


def sample_parquet(parquet: pq.ParquetFile, columns: tuple[str, ...] | list[str], limit: int) -> RowSample:
    """Rows from up to `SAMPLE_GROUPS` row groups spread along the file, flattened to catalog column names."""
    groups = parquet.metadata.num_row_groups
    total = parquet.metadata.num_rows
    chosen = sorted({round(i * (groups - 1) / max(SAMPLE_GROUPS - 1, 1)) for i in range(min(groups, SAMPLE_GROUPS))})
    quota = max(1, -(-limit // max(len(chosen), 1)))
    schema = parquet.schema_arrow
    parents = {spec.name: spec.nested_path for spec in fields_from_arrow(schema)}
    cleaner = ValueCleaner()
    flattener = Flattener(columns, parents, escape=str, clean=cleaner.clean)
    rows = 0
    for group in chosen:
        wanted = min(quota, limit - rows)
        # Only the first batch of each chosen row group is decoded, not the whole group (half a million rows).
        batch = next(parquet.iter_batches(batch_size=wanted, row_groups=[group], use_threads=False), None)
        if batch is None:
            continue
        for record in batch.slice(0, wanted).to_pylist():
            flattener.add(record)
        rows += min(batch.num_rows, wanted)
        if rows >= limit:
            break
    method = (f"whole table ({rows:,} rows)" if rows >= total
              else f"first rows of {len(chosen)} of {groups} row groups")
    return RowSample(_as_lists(flattener.values), rows, method, total, tuple(cleaner.warnings()))


def _as_lists(values: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {name: list(column) for name, column in values.items()}
