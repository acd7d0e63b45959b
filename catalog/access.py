"""Who may do what: one `can(actor, action, resource)` that every service function asks.

Embedded single-user mode allows everything to the local user. The governance issue installs a real policy
through `set_policy` (grants, groups, roles) without touching any call site; `visible_datasets` is the SQL side
of the same rule, used by listings and search so that filtering happens in the database, not in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import ColumnElement, true

from catalog.errors import PermissionDenied


class Action(StrEnum):
    DISCOVER = "discover"
    READ_METADATA = "read_metadata"
    READ_DATA = "read_data"
    READ_PII = "read_pii"
    PUBLISH = "publish"
    RECORD_LINEAGE = "record_lineage"  # report runs and models (training jobs, OpenLineage producers)
    MANAGE = "manage"  # sources, crawls, settings of a dataset
    REVIEW = "review"  # governance: who has access, the audit log, access requests
    ADMIN = "admin"


@dataclass(frozen=True)
class GrantRule:
    """A permission on one dataset (`target` its name), on a name prefix (ending in `/`) or on all (`*`)."""

    target: str
    permission: str
    expires_at: datetime | None = None
    grant_id: int | None = None  # None: implied by owning the dataset


@dataclass(frozen=True)
class Actor:
    """The acting principal: a user (with groups and roles), or the local user of an embedded catalog.

    `governed` actors (server mode: authenticated users) are judged by `catalog.policy` from their roles and
    `grants`, loaded when the request authenticated; the others by the installed policy (embedded: allow all).
    """

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    governed: bool = False
    grants: tuple[GrantRule, ...] = ()

    @classmethod
    def local(cls) -> Actor:
        return cls(name="local", roles=frozenset({"admin"}))

    @classmethod
    def system(cls) -> Actor:
        """The catalog itself, for bookkeeping that follows an action a user was allowed to take (the crawl
        that shows a freshly published version); never for anything a user asked for directly."""
        return cls(name="catalog", roles=frozenset({"admin"}))


@dataclass(frozen=True)
class Resource:
    """What an action is about: `kind` is catalog, source, dataset or model; `name` its full name."""

    kind: str
    name: str = ""

    @classmethod
    def catalog(cls) -> Resource:
        return cls("catalog")

    @classmethod
    def source(cls, name: str) -> Resource:
        return cls("source", name)

    @classmethod
    def dataset(cls, name: str) -> Resource:
        return cls("dataset", name)

    @classmethod
    def model(cls, name: str) -> Resource:
        return cls("model", name)


class Policy(Protocol):
    def allows(self, actor: Actor, action: Action, resource: Resource) -> bool: ...

    def dataset_filter(self, actor: Actor, action: Action) -> ColumnElement[bool]: ...


class EmbeddedPolicy:
    """Single-user embedded mode: the person at the keyboard owns the catalog."""

    def allows(self, actor: Actor, action: Action, resource: Resource) -> bool:
        return True

    def dataset_filter(self, actor: Actor, action: Action) -> ColumnElement[bool]:
        return true()


_policy: Policy = EmbeddedPolicy()


def set_policy(policy: Policy) -> None:
    global _policy
    _policy = policy


def can(actor: Actor, action: Action, resource: Resource) -> bool:
    if actor.governed:
        from catalog.policy import allows

        return allows(actor, action, resource)
    return _policy.allows(actor, action, resource)


def require(actor: Actor, action: Action, resource: Resource) -> None:
    """Raise `PermissionDenied` naming the action and the resource when `can` says no."""
    if not can(actor, action, resource):
        target = f"{resource.kind} '{resource.name}'" if resource.name else resource.kind
        raise PermissionDenied(f"{actor.name} may not {action.value} {target}")


def visible_datasets(actor: Actor, action: Action = Action.DISCOVER) -> ColumnElement[bool]:
    """A WHERE clause on `Dataset` restricting rows to those the actor may see."""
    if actor.governed:
        from catalog.policy import dataset_filter

        return dataset_filter(actor, action)
    return _policy.dataset_filter(actor, action)
