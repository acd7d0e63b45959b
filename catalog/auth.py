"""Authentication for server mode: password hashes, API tokens, and turning a user into an `Actor`.

Passwords are hashed with scrypt (standard library; memory-hard, per-password salt) and compared in constant
time. API tokens are 256 random bits shown once; only their SHA-256 is stored (a token is already high-entropy,
so a fast hash is enough and lets every request look it up by index). A token stops working when it expires, is
revoked, or its user is disabled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Actor, GrantRule
from catalog.errors import InvalidInput
from catalog.models import ApiToken, DatasetOwner, Grant, Group, GroupMember, User, utcnow

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 12
TOKEN_PREFIX = "cat_"
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches; False for anything malformed (never an exception that tells why)."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt((password or "").encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def user_for_token(session: Session, raw: str) -> User | None:
    """The active user holding this token, or None (unknown, expired, revoked, disabled user)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(raw)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = session.get(User, token.user_id)
    if user is None or user.disabled:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now
    return user


def actor_for(session: Session, user: User) -> Actor:
    """The governed actor of `user`: roles of the user and of their groups; live grants to either; and an
    implied `own` rule on every dataset that lists the user or one of their groups as owner."""
    groups = list(session.scalars(select(Group).join(GroupMember, GroupMember.group_id == Group.id)
                                  .where(GroupMember.user_id == user.id)))
    names = {g.name for g in groups}
    roles = set(user.roles or []) | {r for g in groups for r in g.roles or []}
    now = utcnow()
    rows = session.scalars(select(Grant).where(
        Grant.revoked_at.is_(None),
        ((Grant.principal_kind == "user") & (Grant.principal == user.name))
        | ((Grant.principal_kind == "group") & Grant.principal.in_(names or {""}))))
    rules = [GrantRule(g.target, g.permission, g.expires_at, g.id) for g in rows
             if g.expires_at is None or g.expires_at > now]
    if "owner" in roles:
        from catalog.models import Dataset

        owned = session.scalars(select(Dataset.name).join(DatasetOwner, DatasetOwner.dataset_id == Dataset.id)
                                .where(DatasetOwner.owner.in_(names | {user.name})))
        rules += [GrantRule(name, "own") for name in owned]
    return Actor(name=user.name, groups=frozenset(names), roles=frozenset(roles), governed=True,
                 grants=tuple(rules))
