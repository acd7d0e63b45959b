"""Web login for server mode: password check, browser sessions, and their CSRF tokens.

The session cookie carries 256 random bits; the store keeps only their SHA-256, so a copy of the database does
not let anyone sign in. Every login makes a new session (a value planted in a browser before login is never
promoted: no session fixation) and each session has its own CSRF token that every form post must echo. A failed
login takes as long for an unknown name as for a wrong password, and says the same thing for both.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import audit
from catalog.auth import hash_password, verify_password
from catalog.models import User, WebSession, utcnow

COOKIE = "catalog_session"
SESSION_HOURS = float(os.environ.get("CATALOG_SESSION_HOURS", "12"))


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the name is unknown, so that answer takes as long as a wrong password."""
    return hash_password("not a real password, only spends the same time")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def login(session: Session, name: str, password: str, remote: str | None) -> tuple[str, WebSession] | None:
    """A new session for a correct name and password: (cookie value, session); None when either is wrong
    (the failure is audited in this transaction, so the caller commits it rather than raising)."""
    user = session.scalar(select(User).where(User.name == (name or "").strip().lower()))
    valid = verify_password(password, user.password_hash if user and user.password_hash else _dummy_hash())
    if user is None or user.disabled or not user.password_hash or not valid:
        audit.record(session, (name or "?")[:200], "login.failed", None, {}, remote)
        return None
    value = secrets.token_urlsafe(32)
    web = WebSession(session_hash=_hash(value), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                     expires_at=utcnow() + timedelta(hours=SESSION_HOURS), remote=(remote or None) and remote[:100])
    session.add(web)
    user.last_login_at = utcnow()
    audit.record(session, user.name, "login", None, {}, remote)
    session.flush()
    return value, web


def session_user(session: Session, value: str | None) -> tuple[User, WebSession] | None:
    """The user and session of a cookie value, or None (unknown, expired, signed out, user disabled)."""
    if not value or len(value) > 200:
        return None
    web = session.scalar(select(WebSession).where(WebSession.session_hash == _hash(value)))
    if web is None or web.revoked_at is not None or web.expires_at <= utcnow():
        return None
    user = session.get(User, web.user_id)
    if user is None or user.disabled:
        return None
    return user, web


def logout(session: Session, value: str | None) -> None:
    found = session_user(session, value)
    if found is not None:
        user, web = found
        web.revoked_at = utcnow()
        audit.record(session, user.name, "logout", None, {})


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
