"""Finding a tabular dataset's files again, long after the crawl, from one small stored property.

The crawl never keeps a dataset's file list (a dataset may have 100,000 files), and a dataset path does not say
where its files are (the source root is named after its folder, a clash adds a suffix). So each tabular file
set carries a `location` property saying which folder to list and which of its files belong, by the same
grouping rules the crawl applied (`connectors.objects.layout`):

- `{"folder": "sales/orders", "partitioned": true}`: every tabular file in the folder and in its Hive partition
  folders (`year=2024/month=01/`), any format;
- `{"folder": "logs", "format": "csv"}`: every CSV/TSV file directly in the folder (the folder's only dataset);
- `{"folder": "raw", "format": "csv", "file": "orders.csv"}`: that one file;
- `{"folder": "raw", "format": "json", "stem_prefix": "events"}`: the folder's JSON files whose names start with
  the family prefix. Files of one format whose names share no prefix and whose schemas differ (two datasets the
  crawl told apart by their columns) cannot be told apart by name: the prefix is then "" and a sample may take
  files of the sibling; its columns then simply come out missing (None).

The property is part of the dataset's facts (it is in `properties`); it only changes when the dataset's layout
does, never as files of the dataset come and go.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from connectors.objects.aggregates import TabularGroup
from connectors.objects.formats import Family, FileKind, classify, format_class
from connectors.objects.layout import family_prefix, is_hidden_path, partition_of, split_key

T = TypeVar("T")


def location_of(folder: str, group: TabularGroup, by_folder: bool) -> dict[str, Any]:
    if group.partitioned:
        return {"folder": folder, "partitioned": True}
    location: dict[str, Any] = {"folder": folder, "format": group.format_class}
    if by_folder:
        return location
    if group.files == 1:
        location["file"] = group.first_name
    else:
        location["stem_prefix"] = family_prefix(group.stem_prefix)
    return location


def member(location: Mapping[str, Any], key: str) -> tuple[FileKind, list[tuple[str, str]]] | None:
    """(kind, partition key/values) when the object `key` is one of the dataset's files, else None."""
    folder = str(location.get("folder", ""))
    prefix = f"{folder}/" if folder else ""
    if not key.startswith(prefix):
        return None
    folders, name = split_key(key[len(prefix):])
    if is_hidden_path(folders, name):
        return None
    kind = classify(name)
    if kind.family is not Family.TABULAR:
        return None
    if location.get("partitioned"):
        partition = [partition_of(segment) for segment in folders]
        return (kind, [p for p in partition if p is not None]) if None not in partition else None
    if folders or format_class(kind.format) != location.get("format"):
        return None
    if "file" in location and name != location["file"]:
        return None
    if not kind.stem.startswith(str(location.get("stem_prefix", ""))):
        return None
    return kind, []


def spread(items: Iterable[T], count: int) -> tuple[list[T], int]:
    """Up to `count` items evenly spaced along `infos`, and how many there were, holding at most 2 x count.

    Items are kept at every `stride`-th position; when 2 x count are held, every other one is dropped and the
    stride doubles, so what is held stays evenly spaced over everything seen so far.
    """
    kept: list[T] = []
    stride, seen = 1, 0
    for item in items:
        if seen % stride == 0:
            kept.append(item)
            if len(kept) >= 2 * count:
                kept, stride = kept[::2], stride * 2
        seen += 1
    if len(kept) <= count:
        return kept, seen
    step = len(kept) / count
    return [kept[int(i * step)] for i in range(count)], seen
