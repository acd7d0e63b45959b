"""BSON type names for decoded values, and how a set of them maps onto the shared normalised vocabulary.

Native types are MongoDB's own `$type` aliases (`int`, `long`, `double`, `objectId`, `date`, ...), so what the
catalog shows is what a MongoDB user would type into a `$type` query. A field seen with several types gets the
names joined with `|` in sorted order (`int|string`): sorted, not by frequency, so that a re-sample with slightly
different shares yields the same native type and the schema hash stays put.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from bson import Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.binary import Binary
from bson.datetime_ms import DatetimeMS

NULL = "null"
OBJECT = "object"
ARRAY = "array"

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

# Checked in order: bool before int (bool is an int), Int64 before int, Code before str (Code is a str).
_BY_CLASS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "bool"),
    (Int64, "long"),
    (float, "double"),
    (Code, "javascript"),
    (str, "string"),
    (ObjectId, "objectId"),
    ((datetime.datetime, DatetimeMS), "date"),
    ((bytes, Binary, uuid.UUID), "binData"),
    (Decimal128, "decimal"),
    (Timestamp, "timestamp"),
    ((Regex, re.Pattern), "regex"),
    (MinKey, "minKey"),
    (MaxKey, "maxKey"),
)

# BSON type -> normalised type. ObjectId is an opaque 12-byte identifier that every tool shows and exchanges as
# 24 hex characters, so it is a `string` (it is not an RFC 4122 `uuid`, and `binary` would hide it from the
# profilers and search facets that treat identifiers as text). BSON's internal `timestamp` is a time too.
_NORMALIZED = {
    "double": "float", "int": "integer", "long": "integer", "decimal": "decimal",
    "string": "string", "objectId": "string", "regex": "string", "javascript": "string", "symbol": "string",
    "bool": "boolean", "date": "timestamp", "timestamp": "timestamp", "binData": "binary",
    OBJECT: "struct", ARRAY: "array",
}
_NUMERIC = {"int", "long", "double", "decimal"}


def bson_type(value: Any) -> str:
    """The `$type` alias of a value decoded by PyMongo (decoded with `DATETIME_AUTO`, so out-of-range dates
    arrive as `DatetimeMS` instead of failing the whole batch)."""
    if value is None:
        return NULL  # BSON `undefined` decodes to None as well
    if isinstance(value, Mapping):  # DBRef is not a Mapping: handled below
        return OBJECT
    if isinstance(value, list | tuple):
        return ARRAY
    if isinstance(value, DBRef):
        return OBJECT  # a DBRef is stored as a plain subdocument {$ref, $id, $db}
    if isinstance(value, int) and not isinstance(value, bool | Int64):
        return "int" if _INT32_MIN <= value <= _INT32_MAX else "long"
    for classes, name in _BY_CLASS:
        if isinstance(value, classes):
            return name
    return type(value).__name__


def native_type(types: Iterable[str]) -> str:
    """`int|string`: the type names in sorted order, independent of how often each was seen."""
    return "|".join(sorted(set(types))) or NULL


def normalized_type(types: Iterable[str]) -> str:
    """One `NORMALIZED_TYPES` value for the types a field was seen with; nulls do not count (they make the
    field nullable instead). Numbers widen (`int|long` -> integer, `int|double` -> float, with a decimal ->
    decimal); types that agree once normalised (`date|timestamp`) keep it; anything else is `other`."""
    seen = set(types) - {NULL}
    if seen and seen <= _NUMERIC:
        if "decimal" in seen:
            return "decimal"
        return "float" if "double" in seen else "integer"
    normalized = {_NORMALIZED.get(t, "other") for t in seen}
    return normalized.pop() if len(normalized) == 1 else "other"
