"""Users, groups, API tokens and grants of a server-mode catalog (administration; every change is audited).

Only admins manage users, groups and tokens of others; anyone may list and revoke their own tokens. Grants are
given by admins, and by owners of a dataset on that dataset; stewards may revoke any grant (access review).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog import audit
from catalog.access import Action, Actor, Resource, can, require
from catalog.auth import hash_password, new_token, token_hash
from catalog.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from catalog.models import ApiToken, Grant, Group, GroupMember, User, utcnow
from catalog.policy import PERMISSIONS, ROLES

NAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,199}$")
MAX_TOKEN_DAYS = 366
TARGET_LIMIT = 1000


def _name(kind: str, value: str) -> str:
    value = (value or "").strip().lower()
    if not NAME.match(value):
        raise InvalidInput(f"{kind} name '{value}' must be lowercase letters, digits and _.@- (up to 200)")
    return value


def _roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown)}: choose from {', '.join(ROLES)}")
    return sorted(set(roles))


def add_user(session: Session, actor: Actor, name: str, roles: list[str], password: str | None = None,
             display_name: str | None = None) -> dict[str, Any]:
    require(actor, Action.ADMIN, Resource.catalog())
    user = User(name=_name("user", name), roles=_roles(roles), display_name=display_name,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"user '{user.name}' already exists") from None
    audit.record(session, actor, "user.add", user.name, {"roles": user.roles})
    return user_view(user)


def user_view(user: User) -> dict[str, Any]:
    return {"name": user.name, "display_name": user.display_name, "roles": list(user.roles or []),
            "disabled": user.disabled, "has_password": user.password_hash is not None,
            "created_at": user.created_at.isoformat() if user.created_at else None}


def find_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == (name or "").strip().lower()))
    if user is None:
        raise NotFound(f"user '{name}' does not exist")
    return user


def list_users(session: Session, actor: Actor) -> list[dict[str, Any]]:
    require(actor, Action.ADMIN, Resource.catalog())
    return [user_view(u) for u in session.scalars(select(User).order_by(User.name))]


def set_user(session: Session, actor: Actor, name: str, *, roles: list[str] | None = None,
             disabled: bool | None = None, password: str | None = None) -> dict[str, Any]:
    """Change roles, disable or enable, or set a password; a disabled user's tokens stop working at once."""
    require(actor, Action.ADMIN, Resource.catalog())
    user = find_user(session, name)
    changes: dict[str, Any] = {}
    if roles is not None:
        user.roles = changes["roles"] = _roles(roles)
    if disabled is not None:
        user.disabled = changes["disabled"] = disabled
    if password is not None:
        user.password_hash = hash_password(password)
        changes["password"] = "changed"
    audit.record(session, actor, "user.change", user.name, changes)
    return user_view(user)


def add_group(session: Session, actor: Actor, name: str, roles: list[str]) -> dict[str, Any]:
    require(actor, Action.ADMIN, Resource.catalog())
    group = Group(name=_name("group", name), roles=_roles(roles))
    session.add(group)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"group '{group.name}' already exists") from None
    audit.record(session, actor, "group.add", group.name, {"roles": group.roles})
    return {"name": group.name, "roles": group.roles, "members": []}


def set_member(session: Session, actor: Actor, group_name: str, user_name: str, member: bool) -> dict[str, Any]:
    require(actor, Action.ADMIN, Resource.catalog())
    group = session.scalar(select(Group).where(Group.name == (group_name or "").strip().lower()))
    if group is None:
        raise NotFound(f"group '{group_name}' does not exist")
    user = find_user(session, user_name)
    row = session.scalar(select(GroupMember).where(GroupMember.group_id == group.id,
                                                   GroupMember.user_id == user.id))
    if member and row is None:
        session.add(GroupMember(group_id=group.id, user_id=user.id, added_by=actor.name))
    elif not member and row is not None:
        session.delete(row)
    audit.record(session, actor, "group.member.add" if member else "group.member.remove", group.name,
                 {"user": user.name})
    session.flush()
    members = session.scalars(select(User.name).join(GroupMember, GroupMember.user_id == User.id)
                              .where(GroupMember.group_id == group.id).order_by(User.name))
    return {"name": group.name, "roles": group.roles, "members": list(members)}


# -- tokens ------------------------------------------------------------------------------------------------------

def create_token(session: Session, actor: Actor, user_name: str, days: int = 90, label: str | None = None
                 ) -> dict[str, Any]:
    """A new API token for `user_name` (yourself, or anyone for an admin). The token is in the answer once and
    never again: only its hash is stored."""
    user = find_user(session, user_name)
    if user.name != actor.name:
        require(actor, Action.ADMIN, Resource.catalog())
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"a token lives 1 to {MAX_TOKEN_DAYS} days (tokens always expire)")
    raw = new_token()
    token = ApiToken(user_id=user.id, token_hash=token_hash(raw), prefix=raw[:12], label=(label or None),
                     expires_at=utcnow() + timedelta(days=days), created_by=actor.name)
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.create", user.name, {"token": token.prefix, "days": days})
    return {**token_view(token, user.name), "token": raw}


def token_view(token: ApiToken, user_name: str) -> dict[str, Any]:
    now = utcnow()
    state = "revoked" if token.revoked_at else "expired" if token.expires_at <= now else "active"
    return {"id": token.id, "user": user_name, "prefix": token.prefix, "label": token.label, "state": state,
            "expires_at": token.expires_at.isoformat(), "created_at": token.created_at.isoformat(),
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None}


def list_tokens(session: Session, actor: Actor, user_name: str | None = None) -> list[dict[str, Any]]:
    """Tokens of one user (default: yourself); only admins see other people's."""
    name = (user_name or actor.name).strip().lower()
    if name != actor.name:
        require(actor, Action.ADMIN, Resource.catalog())
    rows = session.execute(select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
                           .where(User.name == name).order_by(ApiToken.id)).all()
    return [token_view(t, n) for t, n in rows]


def revoke_token(session: Session, actor: Actor, token_id: int) -> dict[str, Any]:
    row = session.execute(select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
                          .where(ApiToken.id == token_id)).first()
    if row is None or (row[1] != actor.name and not can(actor, Action.ADMIN, Resource.catalog())):
        raise NotFound(f"token {token_id} does not exist")  # the same answer whether absent or someone else's
    token, owner = row
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", owner, {"token": token.prefix})
    return token_view(token, owner)


# -- grants ------------------------------------------------------------------------------------------------------

def _target(target: str) -> str:
    target = (target or "").strip()
    if not target or len(target) > TARGET_LIMIT or any(ord(c) < 32 for c in target):
        raise InvalidInput("a grant's target is a dataset name, a prefix ending in '/', or '*' (all datasets)")
    return target


def add_grant(session: Session, actor: Actor, principal: str, target: str, permission: str, *,
              group: bool = False, days: int | None = None, reason: str | None = None,
              request_id: int | None = None) -> dict[str, Any]:
    """Grant `permission` on `target` to a user (or a group); admins anywhere, owners on their datasets."""
    target = _target(target)
    if permission not in PERMISSIONS:
        raise InvalidInput(f"permission '{permission}' is not one of {', '.join(PERMISSIONS)}")
    if target.endswith("/") or target == "*":
        require(actor, Action.ADMIN, Resource.catalog())
    elif not can(actor, Action.MANAGE, Resource.dataset(target)):
        raise PermissionDenied(f"{actor.name} may not grant access to dataset '{target}'")
    kind = "group" if group else "user"
    principal = _name(kind, principal)
    model = Group if group else User
    if session.scalar(select(model.id).where(model.name == principal)) is None:
        raise NotFound(f"{kind} '{principal}' does not exist")
    if days is not None and not 1 <= days <= 3660:
        raise InvalidInput("a grant lasts 1 to 3660 days (or give no expiry)")
    grant = Grant(principal_kind=kind, principal=principal, target=target, permission=permission,
                  reason=(reason or None), expires_at=utcnow() + timedelta(days=days) if days else None,
                  granted_by=actor.name, request_id=request_id)
    session.add(grant)
    session.flush()
    audit.record(session, actor, "grant.add", target, {"grant": grant.id, "principal": f"{kind}:{principal}",
                                                        "permission": permission, "days": days})
    return grant_view(grant)


def grant_view(grant: Grant) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    now = utcnow()
    state = ("revoked" if grant.revoked_at else "expired" if grant.expires_at and grant.expires_at <= now
             else "active")
    return {"id": grant.id, "principal": grant.principal, "principal_kind": grant.principal_kind,
            "target": grant.target, "permission": grant.permission, "reason": grant.reason, "state": state,
            "expires_at": iso(grant.expires_at), "granted_by": grant.granted_by, "granted_at": iso(grant.granted_at),
            "revoked_at": iso(grant.revoked_at), "revoked_by": grant.revoked_by,
            "last_used_at": iso(grant.last_used_at)}


def list_grants(session: Session, actor: Actor, principal: str | None = None, target: str | None = None,
                include_inactive: bool = False) -> list[dict[str, Any]]:
    """Grants (reviewers and admins see all; others see their own)."""
    query = select(Grant).order_by(Grant.id)
    if not can(actor, Action.REVIEW, Resource.catalog()):
        query = query.where(((Grant.principal_kind == "user") & (Grant.principal == actor.name))
                            | ((Grant.principal_kind == "group") & Grant.principal.in_(actor.groups or {""})))
    if principal:
        query = query.where(Grant.principal == principal.strip().lower())
    if target:
        query = query.where(Grant.target == target)
    views = [grant_view(g) for g in session.scalars(query)]
    return views if include_inactive else [v for v in views if v["state"] == "active"]


def revoke_grant(session: Session, actor: Actor, grant_id: int) -> dict[str, Any]:
    grant = session.get(Grant, grant_id)
    allowed = grant is not None and (can(actor, Action.REVIEW, Resource.catalog())
                                     or can(actor, Action.MANAGE, Resource.dataset(grant.target)))
    if grant is None or not allowed:
        raise NotFound(f"grant {grant_id} does not exist")
    if grant.revoked_at is None:
        grant.revoked_at, grant.revoked_by = utcnow(), actor.name
        audit.record(session, actor, "grant.revoke", grant.target, {"grant": grant.id})
    return grant_view(grant)


def touch_grants(session: Session, actor: Actor, dataset: str, permission: str) -> None:
    """Record that `actor` used their grants covering `dataset` for `permission` (the access review's "last
    used"); written at most once a minute per grant."""
    from catalog.policy import IMPLIES, covers

    ids = [r.grant_id for r in actor.grants
           if r.grant_id is not None and permission in IMPLIES.get(r.permission, set()) and covers(r, dataset)]
    if not ids:
        return
    now = utcnow()
    for grant in session.scalars(select(Grant).where(Grant.id.in_(ids))):
        if grant.last_used_at is None or now - grant.last_used_at > timedelta(minutes=1):
            grant.last_used_at = now
