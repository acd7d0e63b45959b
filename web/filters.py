"""Jinja filters for the pages: URLs of odd names, numbers, dates and small labels.

Why filters and not template logic: dataset names hold '/', spaces, quotes and unicode, so every link must be
built by one tested function; and numbers and dates should look the same on every page.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jinja2

from annotator.profile import percent

STATUS_TONES = {
    "succeeded": "ok",
    "partial": "warn",
    "interrupted": "warn",
    "running": "info",
    "failed": "bad",
}

DESCRIPTION_ORIGINS = {
    "source": "from source comment",
    "human": "written by a person",
    "ai": "AI suggestion",
}


def dataset_url(name: str) -> str:
    """The page of a dataset; '/' stays readable, everything else (spaces, '?', '#', '%') is quoted."""
    return "/datasets/" + quote(name, safe="/")


def source_url(name: str) -> str:
    return "/sources/" + quote(name, safe="")


def thousands(value: int | None) -> str:
    """Row estimates as 1,234,567; a missing estimate says so instead of pretending to be zero."""
    if value is None:
        return "unknown"
    return f"{value:,}"


def when(value: str | None) -> str:
    """An ISO timestamp from the services, shown as 'YYYY-MM-DD HH:MM UTC'."""
    if not value:
        return "never"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def short_hash(value: str | None, length: int = 12) -> str:
    return (value or "")[:length]


def prop_value(value: Any) -> str:
    """A property value as text (JSON for lists, dicts and numbers); autoescaping does the rest."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def status_tone(status: str | None) -> str:
    return STATUS_TONES.get(status or "", "neutral")


def description_origin(origin: str | None) -> str:
    """Who wrote a description: `source`, `human:<user>` or `ai:<backend>/<model>`, in words."""
    if not origin:
        return ""
    kind, _, who = origin.partition(":")
    if kind == "human" and who:
        return f"written by {who}"
    if kind == "ai" and who:
        return f"AI suggestion ({who})"
    return DESCRIPTION_ORIGINS.get(origin, f"from {origin}")


def fk_dataset(foreign_key: str | None, source: str) -> str | None:
    """The dataset a foreign key points at: `main/customers.id` in source `shop` is `shop/main/customers`."""
    if not foreign_key or "." not in foreign_key:
        return None
    return f"{source}/{foreign_key.rsplit('.', 1)[0]}"


def sample_stats(stats: dict[str, Any] | None) -> str:
    """What a sample saw of a column: how often it is present and, for mixed types, each type's share."""
    if not stats:
        return ""
    parts = []
    if isinstance(stats.get("presence"), int | float):
        parts.append(f"present in {stats['presence']:.0%}")
    types = stats.get("types")
    if isinstance(types, dict) and len(types) > 1:
        ranked = sorted(types.items(), key=lambda item: -float(item[1]))
        parts.append(", ".join(f"{name} {float(share):.0%}" for name, share in ranked))
    return " · ".join(parts)


def file_size(value: int | None) -> str:
    """Bytes as B / KiB / MiB / GiB / TiB with one decimal."""
    if value is None:
        return "unknown"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


LABEL_TONES = {"confirmed": "bad", "suggested": "warn", "rejected": "neutral"}


def label_tone(status: str | None) -> str:
    """Confirmed personal data stands out; a suggestion asks for review; a rejection is only a record."""
    return LABEL_TONES.get(status or "", "neutral")


def highlight(text: str | None, words: list[str] | None) -> list[tuple[str, bool]]:
    """`text` cut into (part, matched) pieces around the query words it contains, case-insensitively.

    The template wraps matched parts in <mark> and autoescapes every part, so no markup is built from data here.
    """
    if not text:
        return []
    wanted = sorted({w for w in (words or []) if len(w) > 1}, key=len, reverse=True)
    if not wanted:
        return [(text, False)]
    pattern = re.compile("(" + "|".join(re.escape(w) for w in wanted) + ")", re.IGNORECASE)
    return [(part, bool(pattern.fullmatch(part))) for part in pattern.split(text) if part]


def install(env: jinja2.Environment) -> None:
    """Register every filter on the pages' Jinja environment."""
    from web.columns_view import column_rows  # it formats with the filters above, so it imports this module
    from web.recipe_view import recipe_url, rule_rows

    env.filters.update({
        "dataset_url": dataset_url,
        "source_url": source_url,
        "thousands": thousands,
        "when": when,
        "short_hash": short_hash,
        "prop_value": prop_value,
        "status_tone": status_tone,
        "description_origin": description_origin,
        "fk_dataset": fk_dataset,
        "sample_stats": sample_stats,
        "file_size": file_size,
        "label_tone": label_tone,
        "percent": percent,
        "column_rows": column_rows,
        "highlight": highlight,
        "recipe_rows": rule_rows,
        "recipe_url": recipe_url,
    })
