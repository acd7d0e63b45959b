"""The object-store crawl: one streaming pass over the listing, reads in a thread pool, datasets as folders close.

The listing is consumed once, depth-first. Each file's read (a Parquet footer, a CSV head, an image header) goes
to a thread pool; results are folded into their dataset's running summary strictly in listing order, at most
`4 x concurrency` reads ahead of the fold, so memory stays flat and the output is deterministic. A folder is
closed when the listing moves past it; once every read submitted before that moment is folded, its datasets are
final and are yielded (see `connectors.objects.layout` for how keys become datasets).
"""

from __future__ import annotations

import os
import statistics
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from connectors.base import ColumnSnapshot, CrawlReport, DatasetKind, DatasetSnapshot, NameFilter
from connectors.objects.aggregates import FileCollection, TabularGroup
from connectors.objects.formats import Family, FileKind, classify, format_class
from connectors.objects.layout import (
    dataset_root,
    group_label,
    is_hidden_path,
    join,
    looks_like_part,
    overlaps,
    split_key,
)
from connectors.objects.locate import location_of
from connectors.objects.readers import FileFacts, Limits, read_facts
from connectors.objects.stores import ObjectInfo, ObjectStore


@dataclass
class _Folder:
    key: str
    parent: _Folder | None
    groups: list[TabularGroup] = field(default_factory=list)
    collection: FileCollection | None = None
    binary_children: list[tuple[str, FileCollection]] = field(default_factory=list)
    tabular_below: bool = False

    def files_collection(self) -> FileCollection:
        if self.collection is None:
            self.collection = FileCollection()
        return self.collection


class ListingStopped(Exception):
    """The listing failed before yielding anything: the source as a whole is unreachable."""


class ObjectCrawler:
    def __init__(self, store: ObjectStore, report: CrawlReport, limits: Limits, concurrency: int,
                 root_label: str, filter_: NameFilter | None = None) -> None:
        self.store = store
        self.report = report
        self.limits = limits
        self.concurrency = max(1, concurrency)
        self.root_label = root_label
        self.filter = filter_ or NameFilter()
        self.root = _Folder("", None)
        self.stack: list[_Folder] = [self.root]
        self.pending: deque[tuple[Future[FileFacts], Callable[[FileFacts], None]]] = deque()
        self.closing: deque[tuple[_Folder, int]] = deque()
        self.submitted = 0
        self.folded = 0
        self.emitted: set[str] = set()
        self.listed = 0

    # -- the pass --------------------------------------------------------------------------------------------

    def run(self) -> Iterator[DatasetSnapshot]:
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="objects") as pool:
            self.pool = pool
            try:
                for info in self.store.walk(self._unlistable):
                    self.listed += 1
                    self._take(info)
                    yield from self._ready()
            except Exception as exc:
                if self.listed == 0:
                    raise ListingStopped(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
                self.report.mark_incomplete("", f"listing stopped after {self.listed} objects: {exc}")
            while len(self.stack) > 1:
                self._close(self.stack.pop())
            self._close(self.root)
            while self.pending:
                self._fold_next()
            yield from self._ready()

    def _unlistable(self, key: str, message: str) -> None:
        self.report.mark_incomplete(key, message)

    def _take(self, info: ObjectInfo) -> None:
        folders, name = split_key(info.key)
        if is_hidden_path(folders, name):
            return
        self._enter(folders)
        kind = classify(name)
        if kind.family is Family.TABULAR:
            root_key, partition, partition_path = dataset_root(folders)
            root = self.stack[len(root_key.split("/")) if root_key else 0]
            self._submit(info, kind, False,
                         lambda facts: self._fold_tabular(root, facts, partition, partition_path))
            return
        folder = self.stack[-1]
        collection = folder.files_collection()
        if kind.family is Family.IMAGE and collection.wants_image_sample():
            collection.sampling += 1
            self._submit(info, kind, True, lambda facts: self._fold_image(collection, facts))
        else:
            collection.add(FileFacts(info, kind), None)

    def _enter(self, folders: list[str]) -> None:
        """Close the open folders the listing has left, open the ones it entered."""
        depth = 0
        while depth < len(folders) and depth + 1 < len(self.stack) and \
                self.stack[depth + 1].key == "/".join(folders[: depth + 1]):
            depth += 1
        while len(self.stack) > depth + 1:
            self._close(self.stack.pop())
        for index in range(depth, len(folders)):
            self.stack.append(_Folder("/".join(folders[: index + 1]), self.stack[-1]))

    def _submit(self, info: ObjectInfo, kind: FileKind, dimensions: bool, fold: Callable[[FileFacts], None]) -> None:
        future = self.pool.submit(read_facts, self.store, info, kind, self.limits, dimensions)
        self.pending.append((future, fold))
        self.submitted += 1
        while len(self.pending) > 4 * self.concurrency:
            self._fold_next()

    def _fold_next(self) -> None:
        future, fold = self.pending.popleft()
        facts = future.result()
        if facts.error:
            self.report.warn(facts.info.key, facts.error)
        for problem in facts.problems:
            self.report.warn(facts.info.key, problem)
        fold(facts)
        self.folded += 1

    def _close(self, folder: _Folder) -> None:
        self.closing.append((folder, self.submitted))

    def _ready(self) -> Iterator[DatasetSnapshot]:
        while self.closing and self.closing[0][1] <= self.folded:
            folder, _ = self.closing.popleft()
            yield from self._finish(folder)

    # -- folding ---------------------------------------------------------------------------------------------

    def _fold_tabular(self, root: _Folder, facts: FileFacts, partition: list[tuple[str, str]],
                      partition_path: str) -> None:
        group = self._group_for(root, facts, bool(partition))
        group.add_listing(facts, partition, partition_path)
        group.add_schema(facts)

    def _group_for(self, folder: _Folder, facts: FileFacts, partitioned: bool) -> TabularGroup:
        format_ = format_class(facts.kind.format)
        if partitioned:
            for group in folder.groups:
                if group.partitioned:
                    return group
        else:
            for group in folder.groups:
                if not group.partitioned and group.format_class == format_ and _belongs(group, facts):
                    return group
        group = TabularGroup(format_, facts.kind.stem, "\0", partitioned=partitioned)
        folder.groups.append(group)
        return group

    def _fold_image(self, collection: FileCollection, facts: FileFacts) -> None:
        collection.sampling -= 1
        collection.add(facts, None)
        collection.add_image(facts)

    # -- finishing a folder ----------------------------------------------------------------------------------

    def _finish(self, folder: _Folder) -> Iterator[DatasetSnapshot]:
        groups = self._merge_partitioned(folder.groups)
        has_tabular = bool(groups)
        only = len(groups) == 1 and folder.collection is None
        for group in groups:
            snapshot = self._tabular_snapshot(*self._tabular_path(folder, group, only), group)
            if snapshot is not None:
                yield snapshot
        if folder.parent is not None:
            folder.parent.tabular_below = folder.parent.tabular_below or has_tabular or folder.tabular_below
        if not has_tabular and not folder.tabular_below:  # a binary-only subtree is one collection
            merged = folder.collection or FileCollection()
            for key, child in folder.binary_children:
                merged.absorb(child, key.rsplit("/", 1)[-1])
            if folder.parent is not None:
                if merged.files:
                    folder.parent.binary_children.append((folder.key, merged))
            elif merged.files:  # the source root itself, e.g. an image folder with class subfolders
                yield from self._collection_snapshot(self.root_label, merged)
            return
        for key, child in folder.binary_children:
            yield from self._collection_snapshot(key, child)
        if folder.collection is not None and folder.collection.files:
            yield from self._collection_snapshot(folder.key or self.root_label, folder.collection)

    @staticmethod
    def _merge_partitioned(groups: list[TabularGroup]) -> list[TabularGroup]:
        partitioned = [g for g in groups if g.partitioned]
        if not partitioned:
            return groups
        main = partitioned[0]
        for other in groups:
            if other is not main:
                main.absorb(other)
        return [main]

    def _tabular_path(self, folder: _Folder, group: TabularGroup, only: bool) -> tuple[str, dict[str, Any]]:
        """The dataset path, and the `location` that finds its files again (see `connectors.objects.locate`)."""
        by_folder = group.partitioned or (only and (group.files > 1 or looks_like_part(group.first_stem)))
        location = location_of(folder.key, group, by_folder)
        if by_folder:
            return folder.key or self.root_label, location
        if group.files == 1:
            return join(folder.key, group.first_stem), location
        return join(folder.key, group_label(group.stem_prefix, group.first_stem)), location

    def _unique(self, path: str, suffix: str) -> str:
        candidate = path
        if candidate in self.emitted:
            candidate = f"{path}.{suffix}"
        number = 2
        while candidate in self.emitted:
            candidate, number = f"{path}~{number}", number + 1
        self.emitted.add(candidate)
        return candidate

    def _tabular_snapshot(self, path: str, location: dict[str, Any], group: TabularGroup) -> DatasetSnapshot | None:
        path = self._unique(path, group.format_class)
        if not self.filter.accepts(path):
            return None
        if group.readable == 0:
            self.report.mark_incomplete(path, f"none of its {group.files} file(s) could be read")
            return None
        difference = group.differences()
        if difference:
            self.report.warn(path, difference)
        if len(group.partition_layouts) > 1:
            layouts = ", ".join("/".join(k) or "(none)" for k in sorted(group.partition_layouts))
            self.report.warn(path, f"files are partitioned inconsistently: {layouts}")
        columns: list[ColumnSnapshot] = []
        names: set[str] = set()
        fields = group.merged_fields() + group.partition_fields()
        for spec in fields:
            if spec.name in names:
                self.report.warn(path, f"column name '{spec.name}' occurs twice; the second is left out")
                continue
            names.add(spec.name)
            merged = group.fields.get(spec.name)
            stats = None
            if merged is not None and group.readable and merged.files < group.readable:
                stats = {"presence": round(merged.files / group.readable, 4)}
            columns.append(ColumnSnapshot(spec.name, len(columns) + 1, spec.native_type, spec.normalized_type,
                                          spec.nullable, spec.comment, spec.nested_path, stats=stats))
        properties: dict[str, Any] = {"format": _dominant(group.formats), "location": location}
        if group.partitioned:
            properties["partitioning"] = {"style": "hive", "keys": list(group.partition_keys)}
        if group.details:
            properties[group.format_class] = dict(group.details)
        stats: dict[str, Any] = {
            "files": group.files, "bytes": group.bytes, "formats": dict(sorted(group.formats.items())),
            "rows_exact": group.rows_known and group.rows_exact,
        }
        if group.unreadable:
            stats["unreadable_files"] = group.unreadable
        if group.partitioned:
            stats["partitions"] = group.partitions
            stats["partition_values"] = {
                k: (f">{len(p.values)}" if p.overflow else len(p.values) + int(p.has_null))
                for k, p in group.partition_keys.items()
            }
        if group.last_modified is not None:
            stats["last_modified"] = group.last_modified.isoformat()
        return DatasetSnapshot(path, DatasetKind.FILE_SET, tuple(columns),
                               group.rows if group.rows_known else None, None, properties, None, stats)

    def _collection_snapshot(self, path: str, collection: FileCollection) -> Iterator[DatasetSnapshot]:
        path = self._unique(path, "files")
        if not self.filter.accepts(path):
            return
        stats: dict[str, Any] = {
            "files": collection.files, "bytes": collection.bytes,
            "formats": dict(sorted(collection.formats.items())),
        }
        if collection.subfolders:
            stats["subfolders"] = dict(sorted(collection.subfolders.items()))
        if collection.dimensions or collection.unreadable_images:
            widths = [w for w, _ in collection.dimensions]
            heights = [h for _, h in collection.dimensions]
            stats["images"] = {
                "sampled": len(collection.dimensions) + collection.unreadable_images,
                "unreadable": collection.unreadable_images,
                **({"width": _spread(widths), "height": _spread(heights)} if widths else {}),
                "formats": dict(sorted(collection.image_formats.items())),
            }
        if collection.last_modified is not None:
            stats["last_modified"] = collection.last_modified.isoformat()
        properties = {"content": collection.content(), "formats": sorted(collection.formats)}
        yield DatasetSnapshot(path, DatasetKind.FILE_SET, (), collection.files, None, properties, None, stats)


def _belongs(group: TabularGroup, facts: FileFacts) -> bool:
    """A readable file joins a group sharing most of its columns; an unreadable one (no columns to compare)
    joins a group of its name family (`part-0007` among parts, `orders_03` among `orders_*`), so one corrupt part
    neither splits a dataset nor hides in an unrelated one."""
    if facts.fields is not None and group.readable:
        return overlaps(group.names(), {f.name for f in facts.fields})
    stem = facts.kind.stem  # one side has no columns to compare: go by the name family
    if looks_like_part(stem) and looks_like_part(group.first_stem):
        return True
    return bool(group_label(os.path.commonprefix([group.first_stem, stem]), ""))


def _dominant(formats: Any) -> str:
    return formats.most_common(1)[0][0] if formats else "unknown"


def _spread(values: list[int]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}
