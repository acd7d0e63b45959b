"""The access review: who can reach a dataset (or what one person can reach), how, and what looks risky.

Why a separate view from `grant list`: access comes from three places (grants to a person or their groups,
roles that give a baseline on every dataset, and ownership), and a reviewer must see all three side by side,
with group grants expanded to the people they reach. Flags point at grants worth a second look:

- `pii_broad`: the grant opens data (read_data or more) to a group or through a prefix or `*`, and data it
  covers has a standing personal-data label (`pii.*`, not rejected);
- `unused`: granted more than N days ago (default 90) and not used in the last N days (or never);
- `no_expiry`: the grant never expires.

Reviewers (stewards, admins) only; revoking reuses `catalog.principals.revoke_grant` (audited there).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, require
from catalog.errors import InvalidInput, NotFound
from catalog.models import (
    AccessRequest,
    Classification,
    Dataset,
    DatasetOwner,
    Grant,
    Group,
    GroupMember,
    PublishedDataset,
    User,
    utcnow,
)
from catalog.policy import IMPLIES, PERMISSIONS, ROLE_CATALOG, ROLE_DATASET
from catalog.principals import find_user, grant_view, revoke_grant

UNUSED_DAYS = 90
FLAGS = ("pii_broad", "unused", "no_expiry")
CSV_FIELDS = ("subject", "user", "how", "via", "permission", "target", "grant_id", "granted_by", "granted_at",
              "expires_at", "last_used_at", "request_id", "flags", "reason")
RECENT_REQUESTS = 50
NO_OWNER_ROLE = "none (listed as owner without the owner role)"


@dataclass
class People:
    """Every user and group with memberships, loaded once per review (a catalog has hundreds, not millions)."""

    users: dict[str, User] = field(default_factory=dict)
    group_roles: dict[str, list[str]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # group -> user names
    groups_of: dict[str, list[str]] = field(default_factory=dict)  # user -> group names

    @classmethod
    def load(cls, session: Session) -> People:
        people = cls(users={u.name: u for u in session.scalars(select(User).order_by(User.name))})
        groups = {g.id: g for g in session.scalars(select(Group).order_by(Group.name))}
        people.group_roles = {g.name: list(g.roles or []) for g in groups.values()}
        people.members = {g.name: [] for g in groups.values()}
        rows = session.execute(select(GroupMember.group_id, User.name).join(User, User.id == GroupMember.user_id)
                               .order_by(User.name))
        for group_id, user in rows:
            people.members[groups[group_id].name].append(user)
            people.groups_of.setdefault(user, []).append(groups[group_id].name)
        return people

    def roles(self, user: str) -> list[tuple[str, str | None]]:
        """(role, group it comes through or None for the user's own) for one user."""
        found = self.users.get(user)
        own = [(r, None) for r in (found.roles or [])] if found else []
        return own + [(r, g) for g in self.groups_of.get(user, []) for r in self.group_roles.get(g, [])]

    def member_views(self, group: str) -> list[dict[str, Any]]:
        return [{"user": u, "disabled": bool(self.users[u].disabled)} for u in self.members.get(group, [])]


def _ordered(permissions: Iterable[str]) -> list[str]:
    chosen = set(permissions)
    return [p for p in (*PERMISSIONS, "review", "record_lineage", "admin") if p in chosen]


def _check_days(unused_days: int) -> timedelta:
    if not 1 <= unused_days <= 3660:
        raise InvalidInput("unused_days must be between 1 and 3660")
    return timedelta(days=unused_days)


def _covers(target: str, name: str) -> bool:
    """Whether a grant target covers a dataset name: `catalog.policy.covers`, the rule `can()` applies."""
    from catalog.access import GrantRule
    from catalog.policy import covers

    return covers(GrantRule(target, ""), name)


class _Pii:
    """Answers "does data under this target carry a standing personal-data label?", once per target."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[str, bool] = {}

    def under(self, target: str) -> bool:
        if target not in self.known:
            query = (select(Classification.id).join(Dataset, Dataset.id == Classification.dataset_id)
                     .where(Classification.label.startswith("pii."), Classification.status != "rejected",
                            Dataset.deleted_at.is_(None)))
            if target.endswith("/"):
                query = query.where(Dataset.name.startswith(target, autoescape=True))
            elif target != "*":
                query = query.where(Dataset.name == target)
            self.known[target] = self.session.scalar(query.limit(1)) is not None
        return self.known[target]


def flags_of(grant: Grant, pii: bool, unused_after: timedelta) -> list[str]:
    """The review flags of one active grant; `pii` says whether data it covers has a personal-data label."""
    now = utcnow()
    flags = []
    broad = grant.principal_kind == "group" or grant.target == "*" or grant.target.endswith("/")
    if pii and broad and "read_data" in IMPLIES.get(grant.permission, set()):
        flags.append("pii_broad")
    stale = grant.last_used_at is None or grant.last_used_at < now - unused_after
    if stale and grant.granted_at < now - unused_after:
        flags.append("unused")
    if grant.expires_at is None:
        flags.append("no_expiry")
    return flags


def _grant_entry(grant: Grant, people: People, flags: list[str], via: str | None = None) -> dict[str, Any]:
    members = people.member_views(grant.principal) if grant.principal_kind == "group" else None
    return {**grant_view(grant), "request_id": grant.request_id, "members": members, "via": via, "flags": flags}


def _active(query: Any) -> Any:
    return query.where(Grant.revoked_at.is_(None), or_(Grant.expires_at.is_(None), Grant.expires_at > utcnow()))


def review_dataset(session: Session, actor: Actor, name: str, unused_days: int = UNUSED_DAYS) -> dict[str, Any]:
    """Everyone who can reach dataset `name`: active grants covering it, owners, and role baselines."""
    require(actor, Action.REVIEW, Resource.catalog())
    unused_after = _check_days(unused_days)
    name = (name or "").strip()
    dataset = session.scalar(select(Dataset).where(Dataset.name == name, Dataset.deleted_at.is_(None)))
    if dataset is None and session.scalar(select(PublishedDataset.id).where(PublishedDataset.name == name)) is None:
        raise NotFound(f"dataset '{name}' does not exist")
    people = People.load(session)
    pii = _Pii(session).under(name)
    candidates = session.scalars(_active(select(Grant)).where(
        or_(Grant.target == name, Grant.target == "*", Grant.target.endswith("/"))).order_by(Grant.id))
    grants = [_grant_entry(g, people, flags_of(g, pii, unused_after)) for g in candidates if _covers(g.target, name)]
    owners = _owners(session, people, dataset.id) if dataset is not None else []
    return {"dataset": name, "pii": pii, "unused_days": unused_days, "grants": grants, "owners": owners,
            "roles": _role_access(people)}


def _owners(session: Session, people: People, dataset_id: int) -> list[dict[str, Any]]:
    """Owners listed on the dataset, expanded to people; ownership opens the data only with the owner role."""
    entries = []
    for owner in session.scalars(select(DatasetOwner.owner).where(DatasetOwner.dataset_id == dataset_id)
                                 .order_by(DatasetOwner.owner)):
        reached = [(owner, None)] if owner in people.users else []
        reached += [(u, owner) for u in people.members.get(owner, [])]
        for user, via in reached:
            effective = any(role == "owner" for role, _ in people.roles(user)) and not people.users[user].disabled
            entries.append({"owner": owner, "user": user, "via": via, "effective": effective,
                            "permissions": _ordered(IMPLIES["own"]) if effective else []})
        if not reached:
            entries.append({"owner": owner, "user": None, "via": None, "effective": False, "permissions": []})
    return entries


def _role_access(people: People) -> list[dict[str, Any]]:
    """Enabled users whose roles (own or a group's) give a baseline on every dataset."""
    entries = []
    for name, user in people.users.items():
        if user.disabled:
            continue
        roles = people.roles(name)
        if any(role == "admin" for role, _ in roles):
            permissions = _ordered(IMPLIES["manage"])
        else:
            permissions = _ordered(p for role, _ in roles for p in ROLE_DATASET.get(role, set()))
        if permissions:
            entries.append({"user": name, "permissions": permissions,
                            "via": [f"group {g}: {r}" if g else r for r, g in roles]})
    return entries


def review_person(session: Session, actor: Actor, user: str, unused_days: int = UNUSED_DAYS) -> dict[str, Any]:
    """What one person can reach: their roles (own and through groups), grants, owned datasets, requests."""
    require(actor, Action.REVIEW, Resource.catalog())
    unused_after = _check_days(unused_days)
    found = find_user(session, user)
    people = People.load(session)
    groups = people.groups_of.get(found.name, [])
    roles = people.roles(found.name)
    pii = _Pii(session)
    rows = session.scalars(_active(select(Grant)).where(
        ((Grant.principal_kind == "user") & (Grant.principal == found.name))
        | ((Grant.principal_kind == "group") & Grant.principal.in_(groups or [""]))).order_by(Grant.id))
    grants = [_grant_entry(g, people, flags_of(g, pii.under(g.target), unused_after),
                           via=g.principal if g.principal_kind == "group" else None) for g in rows]
    is_admin = any(role == "admin" for role, _ in roles)
    baseline = _ordered(IMPLIES["manage"]) if is_admin else _ordered(
        p for role, _ in roles for p in ROLE_DATASET.get(role, set()))
    catalog_wide = ["admin"] if is_admin else _ordered(p for role, _ in roles for p in ROLE_CATALOG.get(role, set()))
    owned = session.execute(select(Dataset.name, DatasetOwner.owner)
                            .join(DatasetOwner, DatasetOwner.dataset_id == Dataset.id)
                            .where(DatasetOwner.owner.in_([found.name, *groups]), Dataset.deleted_at.is_(None))
                            .order_by(Dataset.name)).all()
    has_owner_role = any(role == "owner" for role, _ in roles)
    requests = session.scalars(select(AccessRequest).where(AccessRequest.requester == found.name)
                               .order_by(AccessRequest.id.desc()).limit(RECENT_REQUESTS))
    return {"user": found.name, "display_name": found.display_name, "disabled": found.disabled,
            "groups": groups, "roles": [{"role": r, "via": g} for r, g in roles], "baseline": baseline,
            "catalog": catalog_wide, "unused_days": unused_days, "grants": grants,
            "owned": [{"dataset": d, "via": o if o != found.name else None,
                       "effective": has_owner_role and not found.disabled} for d, o in owned],
            "requests": [{"id": r.id, "target": r.target, "permission": r.permission, "status": r.status,
                          "days": r.days, "decided_by": r.decided_by, "grant_id": r.grant_id,
                          "created_at": r.created_at.isoformat()} for r in requests]}


def revoke(session: Session, actor: Actor, grant_id: int) -> dict[str, Any]:
    """Revoke one grant from the review (stewards any, owners on their datasets; audited by principals)."""
    if not 0 < grant_id < 2**31:
        raise NotFound(f"grant {grant_id} does not exist")
    return revoke_grant(session, actor, grant_id)


# -- CSV ---------------------------------------------------------------------------------------------------------

def access_rows(review: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per person and way of access (a group grant gives a row per member)."""
    subject = review.get("dataset") or review.get("user")
    rows: list[dict[str, Any]] = []

    def grant_row(grant: dict[str, Any], user: str, via: str | None) -> dict[str, Any]:
        return {"subject": subject, "user": user, "how": "grant", "via": via, "permission": grant["permission"],
                "target": grant["target"], "grant_id": grant["id"], "granted_by": grant["granted_by"],
                "granted_at": grant["granted_at"], "expires_at": grant["expires_at"],
                "last_used_at": grant["last_used_at"], "request_id": grant["request_id"],
                "flags": " ".join(grant["flags"]), "reason": grant["reason"]}

    for grant in review["grants"]:
        if grant["principal_kind"] == "user":
            rows.append(grant_row(grant, grant["principal"], None))
        else:
            for member in grant["members"] or [{"user": ""}]:
                rows.append(grant_row(grant, member["user"], f"group {grant['principal']}"))
    if "dataset" in review:
        for owner in review["owners"]:
            rows.append({"subject": subject, "user": owner["user"] or "", "how": "owner",
                         "via": f"group {owner['via']}" if owner["via"] else None,
                         "permission": " ".join(owner["permissions"]) or NO_OWNER_ROLE,
                         "target": subject})
        for role in review["roles"]:
            rows.append({"subject": subject, "user": role["user"], "how": "role", "via": "; ".join(role["via"]),
                         "permission": " ".join(role["permissions"]), "target": "*"})
    else:
        if review["baseline"]:
            rows.append({"subject": subject, "user": subject, "how": "role",
                         "via": "; ".join(f"group {r['via']}: {r['role']}" if r["via"] else r["role"]
                                          for r in review["roles"]),
                         "permission": " ".join(review["baseline"]), "target": "*"})
        for owned in review["owned"]:
            rows.append({"subject": subject, "user": subject, "how": "owner",
                         "via": f"group {owned['via']}" if owned["via"] else None,
                         "permission": " ".join(_ordered(IMPLIES["own"])) if owned["effective"] else NO_OWNER_ROLE,
                         "target": owned["dataset"]})
    return rows


def as_csv(review: dict[str, Any]) -> str:
    """The review as CSV (`CSV_FIELDS`); cells a spreadsheet would run as a formula get a leading quote."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for row in access_rows(review):
        writer.writerow([_cell(row.get(name)) for name in CSV_FIELDS])
    return out.getvalue()


def _cell(value: Any) -> Any:
    """Dataset, user and group names come from people and crawls: never let one start a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
