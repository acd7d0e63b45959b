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
    """The caller. Embedded mode: the local user. The governance issue resolves tokens and sessions here."""
    return Actor.local()
