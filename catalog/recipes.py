"""Stored redaction recipes: one per published dataset, read and written by the API, the CLI and the pages.

A recipe is saved with the crawled dataset it reads from (`source`) and checked against that dataset's schema
when saved, so a typo is caught when the recipe is written, not at the next publish. The HMAC key is not checked
on save: the key lives where publishes run, and `publish` checks it before reading anything.

Saving a recipe for a dataset that has no version yet creates the published dataset (no versions, no declared
columns), so a person can review a suggestion, save it, and only then publish. Publishing with a recipe saves
it too (see `catalog.publish`); either way the recipe is audited.

Rights: reading a recipe needs `read_metadata` on the published dataset (a recipe holds rules, never data);
saving one needs `publish` on it and `read_data` on the source (checking the schema opens the source);
a suggestion needs `read_metadata` on the source (it is built from the source's PII labels).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import audit, redaction
from catalog.access import Action, Actor, Resource, require
from catalog.errors import InvalidInput, NotFound
from catalog.models import PublishedDataset, utcnow
from catalog.settings import Settings


def parse(recipe: str | Mapping[str, Any] | redaction.Recipe) -> redaction.Recipe:
    """A recipe from YAML or JSON text, or from an already parsed mapping (a `Recipe` is returned as is)."""
    if isinstance(recipe, redaction.Recipe):
        return recipe
    if isinstance(recipe, str):
        return redaction.load_recipe(recipe)
    if isinstance(recipe, Mapping):
        return redaction.parse_recipe(dict(recipe))
    raise InvalidInput("a redaction recipe must be YAML or JSON text, or a JSON object")


def recipe_view(name: str, published: PublishedDataset | None) -> dict[str, Any]:
    """What the API answers for a dataset's recipe (`recipe` None when none is stored)."""
    if published is None or published.recipe is None:
        return {"dataset": name, "recipe": None, "recipe_hash": None, "source": None, "yaml": None,
                "updated_by": None, "updated_at": None}
    parsed = redaction.parse_recipe(published.recipe)
    return {"dataset": name, "recipe": published.recipe, "recipe_hash": redaction.recipe_hash(parsed),
            "source": published.recipe_source, "yaml": to_yaml(published.recipe),
            "updated_by": published.recipe_updated_by,
            "updated_at": published.recipe_updated_at.isoformat() if published.recipe_updated_at else None}


def to_yaml(recipe: Mapping[str, Any]) -> str:
    """The recipe as people edit it: YAML in the order it was written, unicode kept."""
    return yaml.safe_dump(dict(recipe), sort_keys=False, allow_unicode=True, width=110)


def get_recipe(session: Session, actor: Actor, name: str) -> dict[str, Any]:
    require(actor, Action.READ_METADATA, Resource.dataset(name))
    return recipe_view(name, _published(session, name))


def _published(session: Session, name: str) -> PublishedDataset | None:
    return session.scalar(select(PublishedDataset).where(PublishedDataset.name == name))


def save_recipe(settings: Settings, session: Session, actor: Actor, name: str,
                recipe: str | Mapping[str, Any] | redaction.Recipe, source: str) -> dict[str, Any]:
    """Check `recipe` against `source`'s schema and store it as `name`'s recipe."""
    from catalog.export import open_export
    from catalog.publish import validate_name

    name = validate_name(name)
    require(actor, Action.PUBLISH, Resource.dataset(name))
    parsed = parse(recipe)
    source = (source or "").strip()
    if not source:
        raise InvalidInput("a recipe is saved with the crawled dataset it reads from: give `source`")
    export = open_export(settings, actor, source)
    redaction.output_schema(parsed, export.schema)  # every column exists and fits its rule
    published = _published(session, name)
    if published is None:
        published = PublishedDataset(name=name, columns=[], created_by=actor.name, created_at=utcnow())
        session.add(published)
    store(published, parsed, source, actor)
    audit.record(session, actor, "recipe.save", name, {"source": source, "recipe_hash": redaction.recipe_hash(parsed)})
    session.flush()
    return recipe_view(name, published)


def store(published: PublishedDataset, recipe: redaction.Recipe, source: str, actor: Actor) -> None:
    """Record a checked recipe on the published dataset (the canonical form, reasons included)."""
    published.recipe = recipe.as_dict()
    published.recipe_source = source
    published.recipe_updated_by = actor.name
    published.recipe_updated_at = utcnow()


def suggest(session: Session, actor: Actor, source: str) -> dict[str, Any]:
    """A recipe proposed from `source`'s columns and PII labels, for a person to review before saving."""
    from catalog.datasets import get_dataset

    try:
        dataset = get_dataset(session, actor, source)
    except NotFound:
        raise NotFound(f"dataset '{source}' does not exist") from None
    proposed = redaction.suggest_recipe(dataset["columns"])
    return {"source": source, "recipe": proposed, "yaml": to_yaml(proposed),
            "labelled": sorted(c["name"] for c in dataset["columns"] if c.get("classifications"))}
