"""FastAPI dependencies shared by the JSON API and the pages: settings, a session, the acting principal."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from catalog.access import Actor
from catalog.db import session_scope
from catalog.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; committed when the handler returns without error."""
    with session_scope(request.app.state.settings) as session:
        yield session


def get_actor(request: Request) -> Actor:
    """The caller. Embedded mode: the local user. Server mode: the user of the bearer token, with their roles
    and grants loaded now (a revoked grant or token stops working at the next request); no valid credentials is
    a 401, never an anonymous pass."""
    from catalog.auth import actor_for, user_for_token
    from catalog.errors import Unauthenticated

    settings: Settings = request.app.state.settings
    if settings.mode != "server":
        return Actor.local()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        with session_scope(settings) as session:
            user = user_for_token(session, credentials.strip())
            if user is None:
                raise Unauthenticated("the bearer token is unknown, expired or revoked")
            return actor_for(session, user)
    raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>' (an admin creates one with "
                          "'catalog token create USER')")
