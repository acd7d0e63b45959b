"""Row samples of a collection or view: `$sample` when it holds more than the limit, a plain read otherwise.

Documents become column values through `connectors.mongo.flatten`, so a sample lines up with the columns the
crawl inferred; BSON values become plain Python ones (ObjectId -> str, Decimal128 -> Decimal, ...).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from bson import Decimal128, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.datetime_ms import DatetimeMS
from pymongo.collection import Collection
from pymongo.errors import OperationFailure

from connectors.base import RowSample, SampleTarget
from connectors.mongo.flatten import Flattener, document_parents
from connectors.values import ValueCleaner


def bson_native(value: Any) -> Any:
    """Plain Python for the BSON types that are not already (Int64, Binary and Code are builtin subclasses)."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, DatetimeMS):  # a date outside Python's range: keep its milliseconds since the epoch
        try:
            return value.as_datetime()
        except (OverflowError, ValueError):
            return int(value)
    if isinstance(value, Timestamp):
        return value.as_datetime()
    if isinstance(value, Regex | re.Pattern):
        return value.pattern if isinstance(value.pattern, str) else str(value.pattern)
    if isinstance(value, uuid.UUID | MinKey | MaxKey):
        return str(value)
    return ValueCleaner.UNCHANGED


def read_documents(collection: Collection[dict[str, Any]], estimate: int | None, limit: int,
                   timeout_ms: int) -> tuple[Iterable[Mapping[str, Any]], str | None, list[str]]:
    """The documents to flatten, how they were chosen (None: read them all) and warnings."""
    if estimate is not None and estimate <= limit:
        return collection.find({}, limit=limit, max_time_ms=timeout_ms), None, []
    try:
        cursor = collection.aggregate([{"$sample": {"size": limit}}], allowDiskUse=True, maxTimeMS=timeout_ms)
        return cursor, f"$sample of {limit:,}", []
    except OperationFailure as exc:
        if "$sample" not in str(exc):
            raise
        return (collection.find({}, limit=limit, max_time_ms=timeout_ms), "first documents",
                ["the server cannot $sample: read the first documents"])


def sample_documents(target: SampleTarget, documents: Iterable[Mapping[str, Any]], method: str | None,
                     limit: int, estimate: int | None, warnings: list[str]) -> RowSample:
    cleaner = ValueCleaner(bson_native)
    flattener = Flattener(target.columns, document_parents(target.columns), clean=cleaner.clean)
    rows = 0
    for document in documents:
        if rows >= limit:
            break
        flattener.add(document)
        rows += 1
    noun = "view" if target.kind == "view" else "collection"
    if method is None or rows < limit and method.startswith("$sample"):
        method = f"whole {noun} ({rows:,} documents)"
    population = estimate if estimate is not None else (rows if rows < limit else None)
    return RowSample(flattener.values, rows, method, population, tuple(warnings + cleaner.warnings()))
