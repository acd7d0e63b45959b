r"""Documents into the catalog's column values: the inverse of `connectors.mongo.infer`'s paths.

A sampled document must land in exactly the columns the crawl named, so the walk follows the same rules:
subdocument keys are joined with dots after `escape_key` (`specs.dims.h`, the literal key `a.b` is `a\.b`),
array elements continue under `path[]` (`tags[]`, `items[].sku`, `matrix[][]`), at most
`ARRAY_ELEMENTS_SAMPLED` elements per array as in the crawl.

Values are collected per *row scope*: a document, or one element of an array. Each column gets exactly one
value per occurrence of its scope, None when its key is missing there: so `name` and `specs.dims.h` have one
value per document, `tags[]` one per element of `tags`, and `items[].sku` one per element of `items` (None for
an element object without `sku`). Columns that hold other columns (`specs`, `items`, `tags` when `tags[]` is a
column) get no values: theirs are their children's, and a whole subdocument per row is a large, useless value.

The same walk serves JSON files (keys escaped like MongoDB's) and nested Parquet / Arrow columns (struct field
names not escaped): the caller says how keys become path segments and which column each column's parent is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bson import DBRef

from connectors.mongo.infer import ARRAY_ELEMENTS_SAMPLED, ELEMENTS, escape_key


def parent_of(name: str) -> str | None:
    r"""The parent path of an escaped column name (`items[].sku` -> `items[]`, `tags[]` -> `tags`, `a\.b` ->
    None), reading backslash escapes so that a literal dot in a key is never taken for nesting."""
    if name.endswith(ELEMENTS):
        return name[: -len(ELEMENTS)]
    last_dot, index = -1, 0
    while index < len(name):
        char = name[index]
        if char == "\\":
            index += 2
            continue
        if char == ".":
            last_dot = index
        index += 1
    return name[:last_dot] if last_dot > 0 else None


def document_parents(columns: Iterable[str]) -> dict[str, str | None]:
    return {name: parent_of(name) for name in columns}


def _scope_of(name: str, parents: Mapping[str, str | None]) -> str:
    """The innermost array-element path at or above `name` ("" for the document itself)."""
    path: str | None = name
    while path is not None:
        if path.endswith(ELEMENTS):
            return path
        path = parents.get(path, parent_of(path))
    return ""


class Flattener:
    """Collects column values from records, one `add` per record (see the module docstring)."""

    def __init__(self, columns: Iterable[str], parents: Mapping[str, str | None],
                 escape: Callable[[str], str] = escape_key, clean: Callable[[Any], Any] = lambda v: v) -> None:
        self.columns = list(columns)
        self.escape = escape
        self.clean = clean
        self.values: dict[str, list[Any]] = {name: [] for name in self.columns}
        # Every path above a column: the walk descends only into these.
        self.ancestors: set[str] = set()
        for name in self.columns:
            parent = parents.get(name, parent_of(name))
            while parent is not None and parent not in self.ancestors:
                self.ancestors.add(parent)
                parent = parents.get(parent, parent_of(parent))
        self.leaves = {name for name in self.columns if name not in self.ancestors}
        self.scoped: dict[str, list[str]] = {}
        for name in self.leaves:
            self.scoped.setdefault(_scope_of(name, parents), []).append(name)

    def add(self, record: Mapping[str, Any]) -> None:
        self._scope(record, "")

    def _scope(self, value: Any, scope: str) -> None:
        found: dict[str, Any] = {}
        self._visit(value, scope, scope, found)
        for name in self.scoped.get(scope, ()):
            self.values[name].append(self.clean(found.get(name)))

    def _visit(self, value: Any, path: str, scope: str, found: dict[str, Any]) -> None:
        if path in self.leaves and path != "":
            if path.endswith(ELEMENTS) and path != scope:  # an array's element path: a scope of its own
                self._scope(value, path)
            else:
                found[path] = value
            return
        if path != "" and path not in self.ancestors:
            return
        if isinstance(value, DBRef):  # stored as the subdocument {$ref, $id, $db}, inferred as one
            value = value.as_doc()
        if isinstance(value, Mapping):
            for key, child in value.items():
                segment = self.escape(str(key))
                self._visit(child, f"{path}.{segment}" if path else segment, scope, found)
        elif isinstance(value, list | tuple) and path != "":
            element = path + ELEMENTS
            if element in self.leaves or element in self.ancestors:
                for item in value[:ARRAY_ELEMENTS_SAMPLED]:
                    self._scope(item, element)
