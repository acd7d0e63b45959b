"""Redaction recipes as the pages show them: one row per rule, and the recipe links of a dataset page.

Why a module of its own: the recipe page, the version page ("how it was derived") and the dataset page all show
recipes, and a rule's options must read the same on each. Column names and `why` texts come from crawled sources
and from AI suggestions: these functions only build plain strings, the templates escape them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, can

CLEAN_SUFFIX = "_clean"  # the published space a suggestion from source `shop` lands in: `shop_clean`
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _option_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def rule_rows(recipe: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """The recipe's named columns in the recipe's order: column, rule, its options as `name: value` text, why."""
    columns = (recipe or {}).get("columns") or {}
    rows = []
    for column, spec in columns.items():
        spec = spec if isinstance(spec, Mapping) else {"rule": spec}
        options = "; ".join(f"{name}: {_option_text(value)}" for name, value in spec.items()
                            if name not in ("rule", "why"))
        rows.append({"column": str(column), "rule": str(spec.get("rule", "")), "options": options,
                     "why": str(spec.get("why") or "")})
    return rows


def recipe_url(dataset: str, **extra: str) -> str:
    return "/recipes?" + urlencode({"dataset": dataset, **extra})


def clean_target(source: str, path: str) -> str:
    """Where a redacted copy of crawled dataset `path` in `source` is suggested to go: `<source>_clean/<leaf>`,
    with characters a published name cannot hold replaced (the person may pick another name on the page)."""
    leaf = _UNSAFE.sub("_", path.rsplit("/", 1)[-1]).lstrip("_.-").rstrip(".")[:100] or "dataset"
    if leaf.endswith(".lock"):
        leaf = leaf[:-5] or "dataset"
    space = _UNSAFE.sub("_", source).lstrip("_.-")[:64 - len(CLEAN_SUFFIX)] or "published"
    return f"{space}{CLEAN_SUFFIX}/{leaf}"


def dataset_links(session: Session, actor: Actor, dataset: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset page's recipe links: the stored recipe of a published dataset, or for a crawled table with
    personal-data labels a suggestion page for a redacted copy (offered to whoever may publish that copy)."""
    from catalog import recipes

    name = str(dataset["name"])
    if dataset.get("versions"):
        stored = recipes.get_recipe(session, actor, name)  # the caller already read this dataset's metadata
        return {"stored": stored if stored["recipe"] is not None else None, "suggest": None}
    suggest = None
    if dataset.get("classifications") and dataset.get("kind") in ("table", "view"):
        target = clean_target(str(dataset["source"]), str(dataset["path"]))
        if can(actor, Action.PUBLISH, Resource.dataset(target)):
            suggest = {"target": target, "url": recipe_url(target, suggest=name)}
    return {"stored": None, "suggest": suggest}
