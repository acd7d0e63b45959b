r"""Infer a collection's schema from sampled documents: a pure function, unit-tested without a server.

Every distinct path becomes one column:

- a subdocument's keys are joined with dots: `specs.dims.h`, its `nested_path` is the parent path (`specs.dims`);
- an array is a column of type `array` and its elements are the column `path[]` (`tags[]`), whose own keys
  continue the path (`items[].sku`, nested_path `items[]`); arrays of arrays give `matrix[][]`;
- key characters that would read as structure are escaped with a backslash, so a literal key can never collide
  with nesting: `.` -> `\.`, `[` -> `\[`, `]` -> `\]`, `\` -> `\\` (the key `a.b` is the column `a\.b`, while
  `{"a": {"b": ..}}` is `a.b`); the empty key, legal in BSON, is written `\e`. Everything else (`$`, quotes,
  HTML, unicode) is kept as is. Escaping is injective, so column names are unique within a dataset.

Per column, `native_type` is the sorted `|`-join of the BSON types seen (see `connectors.mongo.types`) and
`stats` holds what the sample observed without being schema: `presence`, the share of sampled documents in
which the path holds at least one value (a null counts: the key is there), and `types`, the share of each BSON
type among the values seen at the path (array elements each count), rounded to 4 places. A column is nullable
when a null was seen or when the path is missing somewhere it could have been: from some document, or from some
subdocument holding its siblings.

The column order depends only on the set of paths, never on the order in which a random sample returned the
documents (otherwise re-sampling unchanged data would change the schema hash): `_id` first, then a depth-first
walk with siblings sorted by name. When there are more than `max_fields` paths, the ones present in the most
documents are kept (ties by name); a child is never present in more documents than its parent, so no column
loses its parent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bson import DBRef

from connectors.base import ColumnSnapshot
from connectors.mongo.types import ARRAY, NULL, OBJECT, bson_type, native_type, normalized_type

ELEMENTS = "[]"
EMPTY_KEY = "\\e"
MAX_NAME_LENGTH = 1000  # the store's limit on column names: longer paths are skipped and counted
ARRAY_ELEMENTS_SAMPLED = 100  # elements read per array: a sample of documents, not of a million-element array
_ESCAPES = str.maketrans({"\\": "\\\\", ".": "\\.", "[": "\\[", "]": "\\]"})


def escape_key(key: str) -> str:
    """The path segment for one document key (see the module docstring)."""
    return key.translate(_ESCAPES) if key else EMPTY_KEY


@dataclass(slots=True)
class _Path:
    path: str
    parent: str | None  # None for top-level keys
    is_key: bool  # a key of a (sub)document, as opposed to the `[]` elements of an array
    types: Counter[str] = field(default_factory=Counter)
    values: int = 0
    documents: int = 0
    last_document: int = -1


@dataclass(frozen=True)
class Inference:
    columns: tuple[ColumnSnapshot, ...]
    documents: int
    paths_found: int  # distinct paths seen, a lower bound when `tracking_limited`
    tracking_limited: bool = False  # stopped recording new paths (pathological key explosion)
    too_long: int = 0  # paths skipped because their name would exceed MAX_NAME_LENGTH

    @property
    def capped(self) -> bool:
        return self.tracking_limited or self.paths_found > len(self.columns)


def infer_schema(documents: Iterable[Mapping[str, Any]], max_fields: int = 500,
                 track_limit: int | None = None) -> Inference:
    """Columns for the paths seen in `documents`, at most `max_fields` of them.

    At most `track_limit` distinct paths (default: 20 x max_fields) are recorded, which bounds memory when keys
    are data (a map keyed by user id); beyond it new paths are ignored and the inference says so.
    """
    limit = track_limit if track_limit is not None else max(20 * max_fields, 1000)
    paths: dict[str, _Path] = {}
    too_long: set[str] = set()
    limited = False
    count = 0
    for index, document in enumerate(documents):
        count += 1
        stack: list[tuple[Any, str, str | None, bool]] = [
            (value, escape_key(key), None, True) for key, value in document.items()
        ]
        while stack:
            value, path, parent, is_key = stack.pop()
            entry = paths.get(path)
            if entry is None:
                if len(path) > MAX_NAME_LENGTH:
                    if len(too_long) < limit:
                        too_long.add(path)
                    continue
                if len(paths) >= limit:
                    limited = True
                    continue
                entry = paths[path] = _Path(path, parent, is_key)
            kind = bson_type(value)
            entry.types[kind] += 1
            entry.values += 1
            if entry.last_document != index:
                entry.documents += 1
                entry.last_document = index
            if kind == OBJECT:
                items = value.as_doc().items() if isinstance(value, DBRef) else value.items()
                stack.extend((v, f"{path}.{escape_key(k)}", path, True) for k, v in items)
            elif kind == ARRAY:
                element = path + ELEMENTS
                stack.extend((v, element, path, False) for v in value[:ARRAY_ELEMENTS_SAMPLED])
    kept = sorted(paths.values(), key=lambda p: (-p.documents, p.path))[:max(0, max_fields)]
    columns = tuple(_column(p, ordinal, paths, count) for ordinal, p in enumerate(_tree_order(kept), start=1))
    return Inference(columns, count, len(paths), limited, len(too_long))


def _tree_order(kept: list[_Path]) -> list[_Path]:
    children: dict[str | None, list[_Path]] = {}
    for p in kept:
        children.setdefault(p.parent, []).append(p)
    for siblings in children.values():
        siblings.sort(key=lambda p: (p.path != "_id", p.path))
    ordered: list[_Path] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        p = stack.pop()
        ordered.append(p)
        stack.extend(reversed(children.get(p.path, [])))
    return ordered


def _column(p: _Path, ordinal: int, paths: Mapping[str, _Path], documents: int) -> ColumnSnapshot:
    slots = paths[p.parent].types[OBJECT] if p.parent is not None and p.is_key else documents
    missing_somewhere = p.documents < documents or (p.is_key and p.values < slots)
    return ColumnSnapshot(
        name=p.path,
        ordinal=ordinal,
        native_type=native_type(p.types),
        normalized_type=normalized_type(p.types),
        nullable=NULL in p.types or missing_somewhere,
        nested_path=p.parent,
        is_primary_key=p.path == "_id",
        stats={
            "presence": round(p.documents / documents, 4),
            "types": {t: round(n / p.values, 4) for t, n in sorted(p.types.items())},
        },
    )
