"""Dataset properties of a collection or view: indexes, view definition, capped / time-series options.

Properties are stored as JSON and are part of the facts hash, so everything here is made JSON-safe (MongoDB
Extended JSON, relaxed: a date in a view pipeline becomes `{"$date": "..."}`) and put in a stable order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bson import json_util
from bson.json_util import RELAXED_JSON_OPTIONS


def json_safe(value: Any) -> Any:
    """Plain JSON values for any BSON value (ObjectIds, dates, regexes, Decimal128, ...)."""
    return json.loads(json_util.dumps(value, json_options=RELAXED_JSON_OPTIONS))


def _direction(value: Any) -> int | str:
    """1 / -1 for ordered keys (servers may report 1.0 or Int64), the name for special ones (`text`, `hashed`,
    `2dsphere`)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    return str(value)


def describe_index(spec: Mapping[str, Any]) -> dict[str, Any]:
    """One `listIndexes` entry as `{name, keys: [[field, direction], ...], unique, sparse[, ttl_seconds, ...]}`.

    Keys are a list of pairs, not an object: the order of a compound index matters and JSON objects (JSONB in
    a PostgreSQL store) do not keep it.
    """
    key = spec.get("key") or {}
    pairs = key.items() if isinstance(key, Mapping) else key
    index: dict[str, Any] = {
        "name": str(spec.get("name", "")),
        "keys": [[str(field), _direction(direction)] for field, direction in pairs],
        "unique": bool(spec.get("unique", False)),
        "sparse": bool(spec.get("sparse", False)),
    }
    if spec.get("expireAfterSeconds") is not None:
        index["ttl_seconds"] = _direction(spec["expireAfterSeconds"])
    if spec.get("partialFilterExpression") is not None:
        index["partial_filter"] = json_safe(spec["partialFilterExpression"])
    if spec.get("hidden"):
        index["hidden"] = True
    return index


def describe_indexes(specs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """All indexes, `_id_` first and the rest by name (servers list them in creation order)."""
    indexes = [describe_index(spec) for spec in specs]
    return sorted(indexes, key=lambda i: (i["name"] != "_id_", i["name"]))


def collection_properties(info: Mapping[str, Any]) -> dict[str, Any]:
    """What a `listCollections` entry says beyond the name: view definition, capped size, time series, rules."""
    options = info.get("options") or {}
    properties: dict[str, Any] = {}
    if info.get("type") == "view":
        properties["viewOn"] = str(options.get("viewOn", ""))
        properties["pipeline"] = json_safe(list(options.get("pipeline") or []))
    if options.get("capped"):
        properties["capped"] = True
        for option, name in (("size", "max_bytes"), ("max", "max_documents")):
            if options.get(option):
                properties[name] = json_safe(options[option])
    if info.get("type") == "timeseries" or options.get("timeseries"):
        properties["timeseries"] = json_safe(options.get("timeseries") or {})
    if options.get("validator"):
        properties["validator"] = json_safe(options["validator"])
    return properties
