"""A bounded, de-duplicated view of a column's sampled values, built once and shared by every label's scorer.

Why: scoring 10,000 raw values eleven times is slow and mostly repeats work on duplicates. Counting distinct values
once, keeping the ~1,000 most frequent with their counts, and treating "", "NULL" or "n/a" as nulls keeps every
scorer cheap and lets shares be weighted by how often each value occurs.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

MAX_DISTINCT = 1000
MAX_LIST_ITEMS = 20
_SCALARS = frozenset({int, float, bool, Decimal, date, datetime})
NULL_TEXT = frozenset({"", "null", "none", "n/a", "na", "nan", "-", "--", "unknown", "?", "nil", "(null)"})


@dataclass(frozen=True)
class Sample:
    """Distinct non-null values (most frequent first) with their counts."""

    items: tuple[tuple[Any, int], ...]
    total: int
    distinct: int
    nulls: int

    @property
    def empty(self) -> bool:
        return self.total == 0


def build_sample(values: Sequence[Any]) -> Sample:
    counts: Counter[Any] = Counter()
    reps: dict[Any, Any] = {}
    nulls = 0
    for value in values:
        if type(value) is str:  # the common case, kept on a fast path: the key is the stripped text itself
            text = value.strip()
            if len(text) < 8 and text.lower() in NULL_TEXT:
                nulls += 1
            else:
                counts[text] += 1
            continue
        if value is None or _is_nan(value):
            nulls += 1
            continue
        if type(value) in _SCALARS:
            counts[(type(value), value)] += 1  # typed key: True, 1 and 1.0 stay apart
            continue
        for item in _flatten(value):
            if _is_null(item):
                nulls += 1
                continue
            key = _key(item)
            if key not in reps and not isinstance(item, str):
                reps[key] = item
            counts[key] += 1
    top = counts.most_common(MAX_DISTINCT)
    items = tuple((_value_of(key, reps), count) for key, count in top)
    return Sample(items, sum(c for _, c in items), len(counts), nulls)


def _value_of(key: Any, reps: dict[Any, Any]) -> Any:
    if isinstance(key, str):
        return key
    if key in reps:
        return reps[key]
    return key[1]


def _flatten(value: Any) -> Iterator[Any]:
    """Array elements count as values (a document's `emails[]`); a pair of numbers stays whole (a coordinate)."""
    if isinstance(value, list | tuple):
        if len(value) == 2 and all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in value):
            yield tuple(value)
            return
        for element in value[:MAX_LIST_ITEMS]:
            if isinstance(element, list | tuple):
                yield tuple(element) if len(element) == 2 else None
            else:
                yield element
        return
    yield value


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return len(value) < 8 and value.strip().lower() in NULL_TEXT
    return _is_nan(value)


def _is_nan(value: Any) -> bool:
    """NaN floats and decimals are nulls (a signalling decimal NaN cannot even be hashed)."""
    if type(value) is float:
        return math.isnan(value)
    return isinstance(value, Decimal) and value.is_nan()


def _key(value: Any) -> Any:
    """A hashable key that keeps True apart from 1 and 1.0, and turns dicts into canonical JSON."""
    if isinstance(value, str):
        return value.strip()
    if type(value) in _SCALARS:
        return (type(value), value)
    if isinstance(value, dict | list):
        try:
            return ("json", json.dumps(value, sort_keys=True, default=str))
        except (TypeError, ValueError, RecursionError):  # mixed key types, circular or unprintable content
            return ("object", id(value))
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return ("other", type(value).__name__, value)
