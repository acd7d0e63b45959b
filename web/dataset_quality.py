"""Quality signals read off a dataset's profile, for the Quality part of its page.

Why here and not in the profiler: they are a way of reading numbers the profile already holds (empty and
distinct counts of the sample), computed once per page in Python rather than in a 500-column template loop.
"""

from __future__ import annotations

from typing import Any

MOSTLY_EMPTY = 0.5  # share of empty values in the sample from which a column is flagged


def profile_signals(columns: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Columns that are mostly empty, and columns that hold a single value, in the profiling sample."""
    empty: list[dict[str, Any]] = []
    constant: list[dict[str, Any]] = []
    for column in columns:
        profile = column.get("profile") or {}
        count, nulls = profile.get("count") or 0, profile.get("nulls") or 0
        if not count:
            continue
        if nulls / count >= MOSTLY_EMPTY:
            empty.append({"name": column["name"], "share": nulls / count})
        if profile.get("distinct") == 1 and count - nulls > 1:
            constant.append({"name": column["name"]})
    return {"empty": empty, "constant": constant}
