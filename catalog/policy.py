"""The server-mode access rules: roles give a baseline, grants add permissions on datasets or name prefixes.

Roles (a user's own and those of their groups):
- viewer: discover every dataset (names, that it exists);
- analyst: also read metadata (columns, descriptions, profiles without sampled values, lineage);
- publisher: also publish versions and record lineage (runs, models);
- owner: also manage, read data and read PII on the datasets they are listed as owner of (`catalog owner add`);
- steward: governance reviewer: read metadata, review who has access, decide access requests, revoke grants;
- admin: everything.

Data itself (`read_data`, `read_pii`) comes only from grants (or ownership, or admin): a role never opens the
data of every dataset. Permissions imply weaker ones: manage ⊇ read_pii ⊇ read_data ⊇ read_metadata ⊇ discover,
and publish ⊇ read_metadata. Expired grants are ignored here even if loaded before they expired.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from catalog.access import Action, Actor, GrantRule, Resource
from catalog.models import Dataset, utcnow

ROLES = ("viewer", "analyst", "publisher", "owner", "steward", "admin")
PERMISSIONS = ("discover", "read_metadata", "read_data", "read_pii", "publish", "manage")
IMPLIES: dict[str, set[str]] = {
    "discover": {"discover"},
    "read_metadata": {"discover", "read_metadata"},
    "read_data": {"discover", "read_metadata", "read_data"},
    "read_pii": {"discover", "read_metadata", "read_data", "read_pii"},
    "publish": {"discover", "read_metadata", "publish"},
    "manage": {"discover", "read_metadata", "read_data", "read_pii", "manage", "publish"},
    "own": {"discover", "read_metadata", "read_data", "read_pii", "manage", "publish"},
}
# What each role allows on every dataset, and on the catalog as a whole.
ROLE_DATASET: dict[str, set[str]] = {
    "viewer": {"discover"}, "analyst": {"discover", "read_metadata"},
    "publisher": {"discover", "read_metadata"}, "owner": {"discover", "read_metadata"},
    "steward": {"discover", "read_metadata"},
}
ROLE_CATALOG: dict[str, set[str]] = {
    "viewer": {"discover"}, "analyst": {"discover", "read_metadata"},
    "publisher": {"discover", "read_metadata", "publish", "record_lineage"},
    "owner": {"discover", "read_metadata"}, "steward": {"discover", "read_metadata", "review"},
}


def allows(actor: Actor, action: Action, resource: Resource) -> bool:
    if "admin" in actor.roles:
        return True
    wanted = action.value
    if resource.kind == "dataset":
        if any(wanted in ROLE_DATASET.get(role, set()) for role in actor.roles):
            return True
        if wanted == "publish" and _catalog_allows(actor, "publish"):
            return True  # publishers may publish new datasets; grants narrow nothing here
        return any(wanted in IMPLIES.get(rule.permission, set()) and covers(rule, resource.name)
                   for rule in _live(actor.grants))
    if resource.kind == "model":
        return _catalog_allows(actor, "record_lineage" if wanted == "record_lineage" else wanted)
    return _catalog_allows(actor, wanted)


def _catalog_allows(actor: Actor, wanted: str) -> bool:
    """Catalog-wide actions by role. Listing (`discover` on the catalog) is open to every signed-in user: which
    rows they see is the dataset filter's business, so a user with only a grant still finds that dataset."""
    return wanted == "discover" or any(wanted in ROLE_CATALOG.get(role, set()) for role in actor.roles)


def _live(rules: tuple[GrantRule, ...]) -> list[GrantRule]:
    now = utcnow()
    return [r for r in rules if r.expires_at is None or r.expires_at > now]


def covers(rule: GrantRule, name: str) -> bool:
    if rule.target == "*":
        return True
    if rule.target.endswith("/"):
        return name.startswith(rule.target)
    return name == rule.target


def dataset_filter(actor: Actor, action: Action) -> ColumnElement[bool]:
    """The SQL side of `allows` for datasets: a role that covers the action opens every row, else the grants'
    names and prefixes do (prefixes matched with LIKE, its wildcards escaped)."""
    if "admin" in actor.roles or any(action.value in ROLE_DATASET.get(r, set()) for r in actor.roles):
        return true()
    clauses: list[ColumnElement[bool]] = []
    for rule in _live(actor.grants):
        if action.value not in IMPLIES.get(rule.permission, set()):
            continue
        if rule.target == "*":
            return true()
        clauses.append(Dataset.name.startswith(rule.target, autoescape=True) if rule.target.endswith("/")
                       else Dataset.name == rule.target)
    return or_(*clauses) if clauses else false()
