"""Tags and owners of datasets: human metadata that crawls never touch, and that search filters on.

Tags are short lowercase words (`finance`, `gold`, `pii:reviewed`); owners are people or teams (`alice`,
`team-finance`). Both are sets: adding twice changes nothing, removing what is not there is a clear 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from catalog import audit
from catalog.access import Action, Actor, Resource, require, visible_datasets
from catalog.errors import InvalidInput, NotFound
from catalog.models import Dataset, DatasetOwner, DatasetTag
from catalog.search_dirty import mark_dirty

_TAG = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,99}$")
_OWNER = re.compile(r"^[\w][\w.@+ -]{0,199}$")
KINDS = {"tag": (DatasetTag, "tag", _TAG), "owner": (DatasetOwner, "owner", _OWNER)}
ACTIONS = ("add", "remove")


def change(session: Session, actor: Actor, dataset_name: str, what: str, value: str, action: str
           ) -> dict[str, Any]:
    """Add or remove one tag or owner of a dataset; returns the dataset's tags and owners afterwards."""
    require(actor, Action.MANAGE, Resource.dataset(dataset_name))
    if what not in KINDS:
        raise InvalidInput(f"'{what}' is not one of {', '.join(KINDS)}")
    if action not in ACTIONS:
        raise InvalidInput(f"action '{action}' is not one of {', '.join(ACTIONS)}")
    model, field, shape = KINDS[what]
    value = " ".join((value or "").split())
    value = value.lower() if what == "tag" else value
    if not shape.match(value):
        rule = "lowercase letters, digits and _.:- (up to 100)" if what == "tag" else "a name of up to 200 characters"
        raise InvalidInput(f"{what} '{value}' must be {rule}")
    dataset = session.scalar(select(Dataset).where(Dataset.name == dataset_name, visible_datasets(actor)))
    if dataset is None:
        raise NotFound(f"dataset '{dataset_name}' does not exist")
    column = getattr(model, field)
    existing = session.scalar(select(model.id).where(model.dataset_id == dataset.id, column == value))
    if action == "add" and existing is None:
        session.add(model(dataset_id=dataset.id, **{field: value}, added_by=actor.name))
    elif action == "remove":
        if existing is None:
            raise NotFound(f"dataset '{dataset_name}' has no {what} '{value}'")
        session.execute(delete(model).where(model.id == existing))
    mark_dirty(session, dataset.id)
    audit.record(session, actor, f"{what}.{action}", dataset_name, {what: value})
    session.flush()
    return {"dataset": dataset_name, **stewardship_of(session, [dataset.id]).get(dataset.id, _empty())}


def _empty() -> dict[str, list[str]]:
    return {"tags": [], "owners": []}


def stewardship_of(session: Session, dataset_ids: Iterable[int]) -> dict[int, dict[str, list[str]]]:
    """Tags and owners of several datasets at once, sorted."""
    ids = list(dataset_ids)
    found: dict[int, dict[str, list[str]]] = {}
    if not ids:
        return found
    for dataset_id, tag in session.execute(select(DatasetTag.dataset_id, DatasetTag.tag)
                                           .where(DatasetTag.dataset_id.in_(ids)).order_by(DatasetTag.tag)):
        found.setdefault(dataset_id, _empty())["tags"].append(tag)
    for dataset_id, owner in session.execute(select(DatasetOwner.dataset_id, DatasetOwner.owner)
                                             .where(DatasetOwner.dataset_id.in_(ids))
                                             .order_by(DatasetOwner.owner)):
        found.setdefault(dataset_id, _empty())["owners"].append(owner)
    return found
