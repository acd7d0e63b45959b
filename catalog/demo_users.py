"""The demo's people: one user per role, for trying server mode (`CATALOG_MODE=server catalog serve`).

Passwords are new random ones at every `catalog demo` (stored hashed like any other) and printed once by the
command, as the demo asks; nothing else ever shows them. The analyst gets a grant on the demo's published feature
table, so the access review and the data fetch rules have something to show.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from catalog.access import Actor
from catalog.db import session_scope
from catalog.models import Grant, User
from catalog.principals import add_grant, add_user, set_user
from catalog.settings import Settings

DEMO_USERS = (("analyst", "analyst"), ("publisher", "publisher"), ("reviewer", "steward"), ("admin", "admin"))


def build_demo_users(settings: Settings, actor: Actor, features: str) -> list[dict[str, Any]]:
    """Create (or reset the passwords of) the demo users; returns name, role and password of each."""
    users = []
    with session_scope(settings) as session:
        for name, role in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            if session.scalar(select(User.id).where(User.name == name)) is None:
                add_user(session, actor, name, [role], password=password, display_name=f"Demo {role}")
            else:
                set_user(session, actor, name, password=password)
            users.append({"name": name, "role": role, "password": password})
        granted = session.scalar(select(Grant.id).where(Grant.principal == "analyst", Grant.target == features,
                                                        Grant.revoked_at.is_(None)))
        if granted is None:
            add_grant(session, actor, "analyst", features, "read_data", days=90,
                      reason="demo: train the order value model")
    return users
