"""`ObjectStoreConnector`: local folders (`file://` or a plain path) and S3-compatible buckets (`s3://`).

Options (all optional): `endpoint_url`, `region`, `aws_access_key_id`, `aws_secret_access_key` (as `env:VAR` or
`file:/path` references), `anonymous`, `timeout_s` for S3; `concurrency` (parallel reads, default 16),
`sample_bytes` (head sample for CSV/JSON, default 1 MiB, when crawling and when sampling rows), `max_fields`
(default 500), `include` / `exclude` (comma-separated globs on dataset paths), and `sample_files` (files read
for a row sample, default 8; see `connectors.objects.row_sample`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import ClassVar

from connectors.base import (
    Connector,
    ConnectorError,
    Crawled,
    CrawlReport,
    DatasetKind,
    NameFilter,
    RowSample,
    SampleTarget,
    SampleUnsupported,
)
from connectors.objects.crawler import ListingStopped, ObjectCrawler
from connectors.objects.readers import Limits
from connectors.objects.row_sample import DatasetUnreadable, location_for, sample_file_set
from connectors.objects.stores import ObjectStore, StoreError, open_store


class ObjectStoreConnector(Connector):
    kind: ClassVar[str] = "objects"
    schemes: ClassVar[tuple[str, ...]] = ("s3://", "file://")

    def _int_option(self, key: str, default: int, low: int = 1) -> int:
        raw = self.options.get(key)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if value < low:
            raise ConnectorError(self.name, f"option {key} must be an integer of at least {low}, not '{raw}'")
        return value

    def _reachable_store(self) -> ObjectStore:
        """The store, checked to be reachable; a `ConnectorError` in one line otherwise."""
        try:
            store = open_store(self.url, self.options)
            store.check()
            return store
        except StoreError as exc:
            raise ConnectorError(self.name, str(exc)) from None

    def _root_label(self, store: ObjectStore) -> str:
        """The dataset path for files lying directly in the source root (a path cannot be empty)."""
        name = PurePosixPath(store.root.rstrip("/").split("://", 1)[-1]).name
        return name or "root"

    def test_connection(self) -> None:
        self._reachable_store()

    def crawl(self, report: CrawlReport) -> Iterator[Crawled]:
        limits = Limits(self._int_option("sample_bytes", Limits.sample_bytes, 1024),
                        self._int_option("max_fields", Limits.max_fields))
        concurrency = self._int_option("concurrency", 16)  # reads wait on the network, not the CPU
        store = self._reachable_store()
        crawler = ObjectCrawler(store, report, limits, concurrency, self._root_label(store),
                                NameFilter.from_options(self.options, "include", "exclude"))
        try:
            yield from crawler.run()
        except ListingStopped as exc:
            raise ConnectorError(self.name, f"cannot list {store.root}: {exc}") from None

    def sample(self, target: SampleTarget, limit: int) -> RowSample:
        if target.kind != DatasetKind.FILE_SET:
            raise SampleUnsupported(f"{target.kind} datasets are not stored in object stores")
        sample_bytes = self._int_option("sample_bytes", Limits.sample_bytes, 1024)
        max_files = self._int_option("sample_files", 8)
        try:
            location_for(target)  # a file collection: unsupported before any I/O
            store = self._reachable_store()
            return sample_file_set(store, target, max(1, limit), sample_bytes, max_files)
        except (DatasetUnreadable, StoreError) as exc:
            raise ConnectorError(self.name, f"dataset '{target.path}' cannot be sampled: {exc}") from None
