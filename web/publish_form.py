"""The publishing page's form: what the publisher typed, turned into the arguments of `catalog.publish.publish`.

Kept apart from the routes so the parsing rules (one `column: justification` per line, parents separated by
spaces or commas, exactly one data source) are plain functions, and so the page can show the same form again,
filled in as the publisher left it, when a publish is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, can, visible_datasets
from catalog.errors import InvalidInput, PermissionDenied
from catalog.models import Dataset, DatasetVersion, PublishedDataset
from web.uploads import FIELD_BYTES, StoredFile

if TYPE_CHECKING:  # catalog.publish loads pyarrow's dataset layer and pandas: imported when a form is posted
    from catalog.publish import PublishOptions

MAX_PARENTS = 50
MAX_CHOICES = 500  # names offered in each datalist; the inputs take any name
FIELD_LENGTHS = {"dataset": 1000, "from_dataset": 1000, "message": 2000, "parents": 5000, "allow_pii": 20000,
                 "allow_schema_change": 2000, "base": 20, "base_of": 1000, "recipe": FIELD_BYTES}


@dataclass(frozen=True)
class PublishForm:
    """The form's text inputs as posted (the file is never kept: a browser cannot be handed one back)."""

    dataset: str = ""
    from_dataset: str = ""
    message: str = ""
    parents: str = ""
    allow_pii: str = ""
    allow_schema_change: str = ""
    base: str = ""  # the latest version of `base_of` when the form was shown: a publish that lands first conflicts
    base_of: str = ""
    recipe: str = ""  # a redaction recipe (YAML or JSON) for a crawled source; empty: the stored one, if any

    @classmethod
    def from_fields(cls, fields: Iterable[tuple[str, str]]) -> PublishForm:
        """The known fields of a post (the first value of each), cut to their input's length."""
        found: dict[str, str] = {}
        for name, value in fields:
            if name in FIELD_LENGTHS and name not in found:
                found[name] = value[:FIELD_LENGTHS[name]]
        return cls(**found)

    def values(self) -> dict[str, str]:
        return asdict(self)

    def options(self) -> PublishOptions:
        """Message, parents, PII allowances, schema-change justification and base; `InvalidInput` names the
        field that is wrong."""
        from catalog import recipes
        from catalog.publish import PublishOptions

        return PublishOptions(message=self.message.strip() or None, parents=parse_parents(self.parents),
                              allow_pii=parse_allowances(self.allow_pii),
                              allow_schema_change=self.allow_schema_change.strip() or None, base=self._base(),
                              recipe=recipes.parse(self.recipe) if self.recipe.strip() else None)

    def source(self, file: StoredFile | None) -> dict[str, Any]:
        """`path=` or `dataset=` for `publish`: exactly one of an uploaded file and a crawled dataset."""
        crawled = self.from_dataset.strip()
        if file is not None and crawled:
            raise InvalidInput("give either a file or a crawled dataset to publish from, not both")
        if file is None and not crawled:
            raise InvalidInput("choose a file to upload or name a crawled dataset to publish from")
        return {"path": file.path} if file is not None else {"dataset": crawled}

    def _base(self) -> int | None:
        """The version the form was shown on top of, when it is still the dataset being published."""
        if not self.base or self.base_of.strip() != self.dataset.strip():
            return None
        if not self.base.isdigit():
            raise InvalidInput("base must be a version number: reload the publishing page")
        return int(self.base)


def parse_parents(text: str) -> tuple[str, ...]:
    """`name@v2` references separated by spaces, commas or new lines (names hold neither)."""
    refs = tuple(dict.fromkeys(r for r in re.split(r"[\s,]+", text) if r))
    if len(refs) > MAX_PARENTS:
        raise InvalidInput(f"derived from: at most {MAX_PARENTS} parent versions")
    return refs


def parse_allowances(text: str) -> dict[str, str]:
    """One `column: justification` per line (`column=justification`, as on the command line, works too)."""
    from catalog.publish import parse_allowance

    allowed: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        column, sep, reason = line.partition(":")
        if not sep or "=" in column:
            column, sep, reason = line.partition("=")
        if not sep:
            raise InvalidInput(f"allowed PII, line {number}: write 'column: justification'")
        column, reason = parse_allowance(f"{column}={reason}", f"allowed PII, line {number}")
        if column in allowed:
            raise InvalidInput(f"allowed PII: column '{column[:100]}' is listed twice")
        allowed[column] = reason
    return allowed


def may_publish_somewhere(actor: Actor) -> bool:
    """Publishers (catalog-wide), admins, and anyone with a publish grant or ownership of some dataset."""
    if can(actor, Action.PUBLISH, Resource.catalog()):
        return True
    return any(can(actor, Action.PUBLISH, Resource.dataset(rule.target)) for rule in actor.grants)


def require_publisher(actor: Actor) -> None:
    if not may_publish_somewhere(actor):
        raise PermissionDenied(f"{actor.name} may not publish datasets: publishing needs the publisher role, "
                               "ownership of a dataset or a publish grant")


def choices(session: Session, actor: Actor) -> dict[str, list[str]]:
    """Names for the datalists: published datasets the actor may publish to, and crawled datasets whose data the
    actor may read (publishing from one reads it in full)."""
    published = [name for name in session.scalars(select(PublishedDataset.name).order_by(PublishedDataset.name))
                 if can(actor, Action.PUBLISH, Resource.dataset(name))][:MAX_CHOICES]
    crawled = list(session.scalars(
        select(Dataset.name).where(Dataset.deleted_at.is_(None), Dataset.kind.in_(("table", "view")),
                                   visible_datasets(actor, Action.READ_DATA))
        .order_by(Dataset.name).limit(MAX_CHOICES)))
    return {"published": published, "crawled": crawled}


def stored_recipe(session: Session, actor: Actor, name: str) -> dict[str, str] | None:
    """The target's stored recipe, named for the form's hint (the source it reads), when the actor may see it."""
    name = name.strip()
    if not name or not can(actor, Action.READ_METADATA, Resource.dataset(name)):
        return None
    source = session.scalar(select(PublishedDataset.recipe_source)
                            .where(PublishedDataset.name == name))
    return None if source is None else {"dataset": name, "source": source}


def latest_number(session: Session, name: str) -> int | None:
    """The latest version number of a published dataset (None when it has none yet)."""
    return session.scalar(select(func.max(DatasetVersion.number))
                          .join(PublishedDataset, PublishedDataset.id == DatasetVersion.published_id)
                          .where(PublishedDataset.name == name.strip()))
