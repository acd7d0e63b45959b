"""Sampled values as plain, bounded Python values, whatever driver or file format they came from.

The profiler and the PII classifier downstream should not need to know psycopg's `Range`, PyMySQL's bytes for
BIT columns, BSON's `ObjectId` or Arrow's map tuples, and one 50 MB text cell must not blow up a sample of
10,000 rows. So every connector passes each value through a `ValueCleaner`: subclasses of the builtin types
become the builtin type (BSON `Int64` -> int, `Binary` -> bytes, `Code` -> str), memoryviews become bytes,
tuples become lists, strings and bytes are cut at `MAX_VALUE_LENGTH`, containers are cut at `MAX_ITEMS`
elements, and any other object (a UUID, an IP address, a range) becomes its `str()`.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Mapping
from typing import Any

MAX_VALUE_LENGTH = 4096  # characters of a string, bytes of a binary value
MAX_ITEMS = 100  # elements of a list or entries of a mapping kept inside one value
MAX_DEPTH = 16

# Kept as they are (exact types, not subclasses: `bool` is checked before `int` for the same reason).
_PLAIN = (type(None), bool, int, float, decimal.Decimal, datetime.datetime, datetime.date, datetime.time,
          datetime.timedelta)


class ValueCleaner:
    """Turns driver values into plain ones and counts what it had to cut, for one warning per sample.

    `convert` handles source-specific types first (BSON's ObjectId, Decimal128, ...); it returns the
    `UNCHANGED` marker for values it does not know.
    """

    UNCHANGED = object()

    def __init__(self, convert: Callable[[Any], Any] | None = None) -> None:
        self.convert = convert
        self.cut_text = 0
        self.cut_items = 0

    def clean(self, value: Any, depth: int = 0) -> Any:
        if type(value) in _PLAIN:
            return value
        if self.convert is not None:
            converted = self.convert(value)
            if converted is not self.UNCHANGED:
                value = converted
                if type(value) in _PLAIN:
                    return value
        if isinstance(value, str):
            return self._cut(str(value))
        if isinstance(value, bytes | bytearray | memoryview):
            return self._cut(bytes(value))
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, datetime.date | datetime.time | datetime.timedelta | decimal.Decimal):
            return value
        if isinstance(value, Mapping):
            return self._mapping(value, depth)
        if isinstance(value, list | tuple | set | frozenset):
            return self._sequence(list(value), depth)
        return self._cut(str(value))

    def _cut(self, value: Any) -> Any:
        if len(value) > MAX_VALUE_LENGTH:
            self.cut_text += 1
            return value[:MAX_VALUE_LENGTH]
        return value

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any] | str:
        if depth >= MAX_DEPTH:
            return self._cut(str(value))
        items = list(value.items())
        if len(items) > MAX_ITEMS:
            self.cut_items += 1
            items = items[:MAX_ITEMS]
        return {str(k): self.clean(v, depth + 1) for k, v in items}

    def _sequence(self, value: list[Any], depth: int) -> list[Any] | str:
        if depth >= MAX_DEPTH:
            return self._cut(str(value))
        if len(value) > MAX_ITEMS:
            self.cut_items += 1
            value = value[:MAX_ITEMS]
        return [self.clean(v, depth + 1) for v in value]

    def warnings(self) -> list[str]:
        said = []
        if self.cut_text:
            said.append(f"{self.cut_text} value(s) longer than {MAX_VALUE_LENGTH:,} characters or bytes were cut")
        if self.cut_items:
            said.append(f"{self.cut_items} list or object value(s) with more than {MAX_ITEMS} elements were cut")
        return said
