"""FastAPI dependencies shared by the JSON API and the pages: settings, a session, the acting principal."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Actor
from catalog.db import session_scope
from catalog.models import User
from catalog.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; committed when the handler returns without error. Use it as `SESSION`."""
    with session_scope(request.app.state.settings) as session:
        yield session


# Why scope="function": by default FastAPI ends a `yield` dependency after the response has been sent, so the
# commit would run after a 200 was already on the wire; a commit that then failed (the store restarting, a
# conflict) would report success for a change that was never stored, and the error could no longer become a
# 503. With "function" the commit runs when the handler returns, before any byte of the response.
SESSION = Depends(get_session, scope="function")


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
    proxied = _proxy_user(request, settings)
    if proxied is not None:
        with session_scope(settings) as session:
            user = session.scalar(select(User).where(User.name == proxied.strip().lower()))
            if user is None or user.disabled:
                raise Unauthenticated(f"the single sign-on user '{proxied[:100]}' has no active account here")
            request.state.signed_in = user.name
            return actor_for(session, user)
    from catalog.web_auth import COOKIE, session_user

    cookie = request.cookies.get(COOKIE)
    # A browser session opens pages and API reads; API writes need a token, so no form or script on another
    # site can ride the cookie into one (the page forms carry CSRF tokens instead).
    api_write = request.url.path.startswith("/api/") and request.method not in ("GET", "HEAD")
    if cookie and not api_write:
        with session_scope(settings) as session:
            found = session_user(session, cookie)
            if found is not None:
                request.state.csrf_token = found[1].csrf_token  # for the forms of the page being rendered
                request.state.signed_in = found[0].name
                return actor_for(session, found[0])
    raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>' (an admin creates one with "
                          "'catalog token create USER'), or sign in at /login")


PROXY_SECRET_HEADER = "x-catalog-proxy-secret"


def _proxy_user(request: Request, settings: Settings) -> str | None:
    """The user an SSO proxy vouches for: the configured header, believed only when the request also carries
    the proxy's shared secret (a client reaching the catalog directly cannot forge both)."""
    import hmac

    if not settings.trusted_header or not settings.trusted_proxy_secret:
        return None
    name = request.headers.get(settings.trusted_header)
    given = request.headers.get(PROXY_SECRET_HEADER, "")
    if not name or not hmac.compare_digest(given.encode(), settings.trusted_proxy_secret.encode()):
        return None
    return name


PAGE_FORM_BYTES = 256 * 1024  # the largest page form (a description, a suite's JSON) is far smaller


def _bound_page_form(request: Request) -> None:
    """Page forms are small url-encoded posts; only routes that stream uploads (`streams_uploads`, the publish
    page) take multipart bodies. Checked before anything parses the body, since Starlette would otherwise spool
    a multipart file of any size to the temporary folder, or hold a url-encoded body of any size in memory."""
    from catalog.errors import InvalidInput, TooLarge

    if getattr(request, "streams_uploads", False):
        return
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise InvalidInput("this page takes a plain form post, not a file upload")
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise InvalidInput("a form post needs a Content-Length header")
    if int(length) > PAGE_FORM_BYTES:
        raise TooLarge(f"a page form is limited to {PAGE_FORM_BYTES // 1024} KiB")


async def csrf_guard(request: Request) -> None:
    """Form posts of a signed-in browser must carry that session's CSRF token (field `csrf_token`), on top of
    the same-origin check of each route. Bearer-token callers carry no ambient credentials and need none.
    Every page post is also bounded in size first (`_bound_page_form`)."""
    from catalog.errors import PermissionDenied
    from catalog.web_auth import COOKIE, csrf_matches, session_user

    if request.method == "POST":
        _bound_page_form(request)
    settings: Settings = request.app.state.settings
    if request.method != "POST" or settings.mode != "server" or request.headers.get("authorization"):
        return
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return  # get_actor refuses the request: nobody is signed in
    with session_scope(settings) as session:
        found = session_user(session, cookie)
        expected = found[1].csrf_token if found else None
    if expected is None:
        return
    form = await request.form()
    if not csrf_matches(expected, form.get("csrf_token")):  # type: ignore[arg-type]
        raise PermissionDenied("this form is stale or did not come from this catalog: reload the page and try again")
