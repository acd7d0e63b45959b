"""Request body limits of the JSON API, enforced before a body is read into memory (413, naming the limit).

Why a middleware and not checks in the routes: FastAPI reads a pydantic body whole before any route code or
dependency runs, so only something in front of the app can refuse it in time. One table (`LIMITS`) knows the
few routes that carry more than a JSON document usually does; every other /api/ route gets `JSON_BODY_BYTES`.
A declared Content-Length over the limit is answered at once, without reading a byte; a body without one
(chunked) is counted as it arrives and refused the moment it passes the limit.

Pages are bounded elsewhere: form posts by `catalog.deps._bound_page_form`, the publish page's upload by
`web.uploads` (both against the same upload limit, `CATALOG_MAX_UPLOAD_BYTES`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_BODY_BYTES = 4 * 1024 * 1024  # a suite (at most 2 MB of JSON), a batch of review decisions, a label
RUN_BODY_BYTES = 16 * 1024 * 1024  # a run may list 500 inputs with their columns and 10,000 column edges


def _upload_bytes() -> int:
    from catalog import api_versions

    return api_versions.MAX_UPLOAD_BYTES  # read per request: tests lower it, the page upload shares it


def _event_bytes() -> int:
    from catalog.openlineage import MAX_EVENT_BYTES

    return MAX_EVENT_BYTES  # as sent (gzip or not); `decode_body` bounds the inflated event separately


def _lock_bytes() -> int:
    from catalog.lineage_dvc import MAX_LOCK_BYTES

    return MAX_LOCK_BYTES


@dataclass(frozen=True)
class Limit:
    """How many bytes a route's body may have (a function: some limits are settings) and what it carries."""

    size: Callable[[], int]
    what: str


JSON_LIMIT = Limit(lambda: JSON_BODY_BYTES, "a JSON request")
LIMITS: dict[tuple[str, str], Limit] = {
    ("POST", "/api/v1/versions"): Limit(_upload_bytes, "a version upload (CATALOG_MAX_UPLOAD_BYTES)"),
    ("POST", "/api/v1/lineage"): Limit(_event_bytes, "an OpenLineage event"),
    ("POST", "/api/v1/lineage/dvc"): Limit(_lock_bytes, "a dvc.lock file"),
    ("POST", "/api/v1/runs"): Limit(lambda: RUN_BODY_BYTES, "a run"),
}


def limit_for(method: str, path: str) -> Limit | None:
    """The body limit of an API route (`JSON_LIMIT` unless `LIMITS` names it); None outside the API."""
    if not path.startswith("/api/"):
        return None
    return LIMITS.get((method.upper(), path.rstrip("/")), JSON_LIMIT)


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body passes its limit. An HTTPException, because FastAPI turns any other
    error while it reads a body into "400 There was an error parsing the body"; this one reaches the app's
    handler and becomes a JSON 413."""

    def __init__(self, size: int, what: str) -> None:
        super().__init__(413, f"the request body is larger than {size:,} bytes, the limit for {what}")


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isdigit() else None


class BodyLimitMiddleware:
    """Refuses API request bodies over their route's limit with 413 (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = limit_for(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        size = limit.size()
        declared = _declared_length(scope)
        if declared is not None and declared > size:
            await _refuse(BodyTooLarge(size, limit.what), scope, receive, send)
            return
        await self._counted(scope, receive, send, size, limit.what)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, size: int, what: str) -> None:
        """Run the app with a `receive` that counts body bytes and raises `BodyTooLarge` past `size`."""
        received, started = 0, False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > size:
                    raise BodyTooLarge(size, what)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as error:  # normally the app's handler answers; this covers code outside it
            if started:
                raise
            await _refuse(error, scope, receive, send)


async def _refuse(error: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"error": error.detail}, status_code=413, headers={"Connection": "close"})
    await response(scope, receive, send)
