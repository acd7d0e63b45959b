"""Sign in and out of a server-mode catalog.

`/login` is the only page anyone may open unsigned. A successful login sets a fresh HttpOnly, SameSite=Lax
cookie (Secure over HTTPS) and goes back to the page that asked for it; `next` is followed only when it is a
path on this site, so the login page cannot be used to send people elsewhere.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from catalog.access import Actor
from catalog.db import session_scope
from catalog.deps import get_actor
from catalog.web_auth import COOKIE, SESSION_HOURS, login, logout
from web.routes import _page, require_same_origin

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A same-site path to return to, or `/`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or any(ord(c) < 32 for c in target):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the conventional name
    if request.app.state.settings.mode != "server":
        return RedirectResponse("/", status_code=303)  # embedded: the local user is always signed in
    return _page(request, "login.html", None, next_path=safe_next(next), failed=False)


@router.post("/login")
def login_submit(request: Request, name: str = Form(max_length=200), password: str = Form(max_length=1000),
                 next: str = Form("/", max_length=2000)) -> Response:  # noqa: A002
    """Check the password and start a new session; a wrong name or password shows the form again (401)."""
    require_same_origin(request)
    settings = request.app.state.settings
    if settings.mode != "server":
        return RedirectResponse("/", status_code=303)
    remote = request.client.host if request.client else None
    with session_scope(settings) as session:
        started = login(session, name, password, remote)
    if started is None:
        return _page(request, "login.html", None, status=401, next_path=safe_next(next), failed=True,
                     login_name=name)
    value = started[0]
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, value, max_age=int(SESSION_HOURS * 3600), httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout")
def logout_submit(request: Request, actor: Actor = Depends(get_actor)) -> Response:
    require_same_origin(request)
    with session_scope(request.app.state.settings) as session:
        logout(session, request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
