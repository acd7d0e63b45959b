"""How object keys map to datasets: hidden files, Hive partitions, and dataset names.

- Files and folders whose name starts with `_` or `.` are bookkeeping (`_SUCCESS`, `_temporary/`, `.crc`).
- `key=value` folders are Hive partitions: `sales/orders/year=2024/month=01/part-0.parquet` belongs to the
  dataset `sales/orders`, with partition columns `year` and `month`.
- Tabular files of one folder form one dataset when they share a format and at least half of all their columns;
  it is named after the folder when it is the folder's only dataset and its files look like parts (`part-0001`,
  `data`, numbers, UUIDs) or there are several of them, and after the file otherwise (`sales/orders.csv` ->
  `sales/orders`: the extension is dropped).
- Images, audio and other binaries form a file collection per folder; a folder whose whole subtree holds only
  binaries is one collection (class subfolders like `cats/`, `dogs/` are counted, not split).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_PARTITION = re.compile(r"^([^=/]+)=(.*)$")
_PART_STEM = re.compile(
    r"^(?:(?:part|chunk|shard|segment|batch|data|file|output|run)"  # alone, or followed by a number somewhere:
    r"(?:[-_.]?[0-9][-_.0-9a-z]*|[-_.][-_.0-9a-z]*[0-9][-_.0-9a-z]*)?"  # not `partners`, `database`, `file_list`
    r"|[0-9]+(?:[-_.][0-9a-z]+)*|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}.*)$",
    re.IGNORECASE,
)
_TRAILING_NOISE = re.compile(r"[-_. 0-9]+$")
JOIN_OVERLAP = 0.5


def split_key(key: str) -> tuple[list[str], str]:
    parts = key.split("/")
    return parts[:-1], parts[-1]


def is_hidden_path(folders: list[str], name: str) -> bool:
    return any(part.startswith(("_", ".")) for part in (*folders, name))


def partition_of(segment: str) -> tuple[str, str] | None:
    match = _PARTITION.match(segment)
    if not match or not match.group(1):
        return None
    return unquote(match.group(1)), unquote(match.group(2))


def dataset_root(folders: list[str]) -> tuple[str, list[tuple[str, str]], str]:
    """(root folder key, partition key/values, partition path) for a file in `folders`."""
    cut = len(folders)
    while cut > 0 and partition_of(folders[cut - 1]) is not None:
        cut -= 1
    partition = [p for p in (partition_of(s) for s in folders[cut:]) if p is not None]
    return "/".join(folders[:cut]), partition, "/".join(folders[cut:])


def looks_like_part(stem: str) -> bool:
    return bool(_PART_STEM.match(stem))


def overlaps(a: set[str], b: set[str]) -> bool:
    """Schemas close enough to be one dataset: at least half of all their columns shared (Jaccard >= JOIN_OVERLAP)."""
    if not a and not b:
        return True
    return len(a & b) / len(a | b) >= JOIN_OVERLAP


def family_prefix(stem_prefix: str) -> str:
    """The name a family of files shares: their common stem prefix without trailing digits and separators
    (`orders_2024_01`, `orders_2024_02` -> `orders`); stable as files of the family come and go."""
    return _TRAILING_NOISE.sub("", stem_prefix)


def group_label(stem_prefix: str, first_stem: str) -> str:
    """A name for several files of one folder: their family prefix, or the first file's stem."""
    return family_prefix(stem_prefix) or first_stem


def join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name
