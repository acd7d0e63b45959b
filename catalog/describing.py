"""Writing descriptions during `annotate`: what a backend sees, when it is asked, and what happens when it fails.

- What it sees (`table_brief`): the source kind, dataset path and comment, every column's name, types, keys, PII
  labels and profile facts. Values come from the stored (already masked and scrubbed) profile only; for a remote
  backend even those are left out for any column suspected of personal data.
- When it is asked: a column's signature hashes what its text depends on (name, types, comment, keys, labels,
  the stable profile facts, the table, backend, model and prompt version). A column whose stored signature is
  unchanged is `cached`; a column a person decided is `kept`; only the rest goes to the backend.
- Failure: any backend error falls back to the `rules` backend for that dataset, and the fallback (with the reason)
  is stored with each text it affected.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotator.describe.base import PROMPT_VERSION, Backend, ColumnBrief, Description, TableBrief
from annotator.describe.registry import get_backend
from catalog.descriptions import TABLE, Written
from catalog.errors import InvalidInput

FEW_DISTINCT = 20  # top values are part of a column's facts (and signature) only for code-like columns


@dataclass
class DescribeResult:
    written: list[Written] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"new": 0, "cached": 0, "kept": 0, "fallback": 0})
    error: str | None = None


def backend_for(name: str) -> Backend:
    """The configured backend; options come from the environment (`CATALOG_<BACKEND>_<OPTION>`), secrets by
    reference only (e.g. `CATALOG_OPENAI_API_KEY_ENV` names the variable holding the key)."""
    prefix = f"CATALOG_{name.upper()}_"
    options = {key[len(prefix):].lower(): _option_value(value) for key, value in os.environ.items()
               if key.startswith(prefix)}
    try:
        return get_backend(name, **options)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"description backend '{name}': {exc}") from None


def _option_value(text: str) -> int | float | str:
    """Environment values are text; numeric options (timeouts, retries) become numbers."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def column_brief(column: Any, profile: Mapping[str, Any] | None, labels: Sequence[str], remote: bool) -> ColumnBrief:
    """One column as a backend may see it. `column` has name, normalized_type, native_type, comment, keys."""
    profile = profile or {}
    hide_values = remote and (bool(labels) or bool(profile.get("masked")))
    few = (profile.get("distinct_estimate") or FEW_DISTINCT + 1) <= FEW_DISTINCT
    top = tuple(t["value"] for t in profile.get("top_values", [])) if few and not hide_values else ()
    return ColumnBrief(
        name=column.name, normalized_type=column.normalized_type, native_type=column.native_type,
        comment=column.comment, primary_key=column.primary_key, foreign_key=column.foreign_key,
        labels=tuple(labels), null_share=profile.get("null_share"), distinct=profile.get("distinct_estimate"),
        top_values=top, examples=() if hide_values else tuple(profile.get("examples", ())[:5]),
        minimum=None if hide_values or "min" not in profile else str(profile["min"]),
        maximum=None if hide_values or "max" not in profile else str(profile["max"]),
    )


def _stable_facts(brief: ColumnBrief) -> dict[str, Any]:
    """What a text depends on, without what a new random sample shifts (examples, exact shares, ranges)."""
    return {
        "name": brief.name, "type": brief.normalized_type, "native": brief.native_type, "comment": brief.comment,
        "pk": brief.primary_key, "fk": brief.foreign_key, "labels": sorted(brief.labels),
        "empty": None if brief.null_share is None else round(brief.null_share, 1),
        "codes": sorted(brief.top_values),
    }


def signature(table: TableBrief, facts: dict[str, Any], backend: Backend) -> str:
    document = {"table": table.dataset, "kind": table.kind, "facts": facts, "backend": backend.name,
                "model": backend.model, "prompt": PROMPT_VERSION}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def describe_dataset(backend: Backend, table: TableBrief, stored: Mapping[str, str | None]) -> DescribeResult:
    """Texts for the columns (and the dataset) that need one; see the module docstring for the rules."""
    result = DescribeResult()
    signatures = {c.name: signature(table, _stable_facts(c), backend) for c in table.columns}
    table_facts = {"comment": table.comment, "columns": [[c.name, c.normalized_type] for c in table.columns]}
    signatures[TABLE] = signature(table, table_facts, backend)
    todo = []
    for name, sig in signatures.items():
        if name in stored and stored[name] is None:
            result.counts["kept"] += 1
        elif stored.get(name) == sig:
            result.counts["cached"] += 1
        else:
            todo.append(name)
    if not todo:
        return result
    used, texts, fallback = _generate(backend, table, [n for n in todo if n != TABLE], TABLE in todo)
    source = f"ai:{used.name}/{used.model}"
    for name in todo:
        if name in texts:
            text = texts[name]
            result.written.append(Written(name, text.text, round(text.confidence, 3), source, PROMPT_VERSION,
                                          signatures[name], fallback))
            result.counts["fallback" if fallback else "new"] += 1
    return result


def _generate(backend: Backend, table: TableBrief, columns: list[str], with_table: bool
              ) -> tuple[Backend, dict[str, Description], str | None]:
    """Ask the backend; on any failure ask `rules` instead and say why."""
    try:
        return backend, _ask(backend, table, columns, with_table), None
    except Exception as exc:  # noqa: BLE001 - any backend failure means: fall back, and record it
        if backend.name == "rules":
            raise
        rules = get_backend("rules")
        reason = f"{backend.name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
        return rules, _ask(rules, table, columns, with_table), reason


def _ask(backend: Backend, table: TableBrief, columns: list[str], with_table: bool) -> dict[str, Description]:
    texts = dict(backend.describe_columns(table, columns)) if columns else {}
    missing = [c for c in columns if c not in texts]
    if missing:
        raise ValueError(f"no text for {len(missing)} column(s), e.g. {missing[0]!r}")
    if with_table:
        by_column = {c.name: texts[c.name].text if c.name in texts else (c.comment or "") for c in table.columns}
        texts[TABLE] = backend.describe_table(table, by_column)
    return texts
