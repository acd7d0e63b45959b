"""Map native SQL type names to a small normalised vocabulary shared by every connector.

The normalised type drives profiling, PII validators and search facets later, so it must be stable across
dialects: `varchar(255)`, `TEXT` and `character varying` are all `string`.
"""

from __future__ import annotations

import re
from functools import lru_cache

NORMALIZED_TYPES = (
    "boolean", "integer", "decimal", "float", "string", "date", "time", "timestamp", "interval",
    "binary", "json", "uuid", "array", "geometry", "struct", "other",
)

_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), normalized)
    for pattern, normalized in (
        (r"\[\]$|^array\b|^_", "array"),
        (r"^bool|^bit\(1\)|^tinyint\(1\)", "boolean"),
        (r"^timestamp|^datetime|^smalldatetime", "timestamp"),
        (r"^date$", "date"),
        (r"^time\b", "time"),
        (r"^interval", "interval"),
        (r"^(uuid|uniqueidentifier)$", "uuid"),
        (r"^jsonb?$", "json"),
        (r"^(geometry|geography|point|polygon|linestring|multi\w+)\b", "geometry"),
        (r"^(numeric|decimal|money|smallmoney|number)\b", "decimal"),
        (r"^(real|float|double|binary_float|binary_double)\b", "float"),
        (r"int|serial|^year\b|^bit\b", "integer"),
        (r"char|text|clob|string|^enum\b|^set\(|^name$|^citext$|^xml$|^inet$|^cidr$|^macaddr", "string"),
        (r"blob|^bytea$|binary|^raw\b|^image$", "binary"),
        (r"^(floa|doub|real)", "float"),
    )
)


@lru_cache(maxsize=4096)
def normalize_type(native: str) -> str:
    """Return one of `NORMALIZED_TYPES` for a native type name (case and modifiers ignored)."""
    text = " ".join(native.strip().lower().split())
    if not text:
        return "other"
    for pattern, normalized in _RULES:
        if pattern.search(text):
            return normalized
    return "other"
