"""Content hashes of crawled facts and diffs between schema versions.

The schema hash covers what makes the schema (names, order, types, nullability, keys); the facts hash also
covers comments, kind and properties. A comment edit is a change but not a new schema version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from connectors.base import DatasetSnapshot


def _digest(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def schema_columns(snapshot: DatasetSnapshot) -> list[dict[str, Any]]:
    return [c.schema_facts() for c in snapshot.columns]


def schema_hash(snapshot: DatasetSnapshot) -> str:
    """Hash of the schema facts as compact JSON arrays (in `SCHEMA_FACTS` order): cheap enough to run on
    every dataset of every re-crawl, and stable across Python versions."""
    return _digest([c.schema_values() for c in snapshot.columns])


def facts_hash(snapshot: DatasetSnapshot, schema_digest: str) -> str:
    return _digest([schema_digest, snapshot.kind.value, snapshot.comment, [c.comment for c in snapshot.columns],
                    dict(snapshot.properties)])


def diff_schemas(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Columns added, removed, retyped (native type changed) and otherwise changed (nullability, keys)."""
    before = {c["name"]: c for c in old}
    after = {c["name"]: c for c in new}
    retyped, changed = [], []
    for name in after.keys() & before.keys():
        was, now = before[name], after[name]
        if was["native_type"] != now["native_type"]:
            retyped.append({"name": name, "from": was["native_type"], "to": now["native_type"]})
        altered = sorted(k for k in ("nullable", "primary_key", "foreign_key", "nested_path")
                         if was.get(k) != now.get(k))
        if altered:
            changed.append({"name": name, "fields": altered})
    order = {c["name"]: i for i, c in enumerate(new)}
    return {
        "added": [c["name"] for c in new if c["name"] not in before],
        "removed": [c["name"] for c in old if c["name"] not in after],
        "retyped": sorted(retyped, key=lambda r: order[r["name"]]),
        "changed": sorted(changed, key=lambda r: order[r["name"]]),
    }
