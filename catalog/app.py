"""The FastAPI app factory: JSON API under /api/v1, pages at /, static files, error mapping.

Errors from services become JSON (API) or an error page (HTML) naming what is wrong: 400 for bad input,
403 for a refused action, 404 for a missing thing, 413 for a body over its limit (`catalog.body_limits`),
503 with `Retry-After` while the metadata store is unreachable (`catalog.store_errors`).
Nothing internal (tracebacks, URLs with secrets) leaks.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog import __version__
from catalog.db import ensure_store
from catalog.errors import (
    CatalogError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PublishRejected,
    SourceUnavailable,
    TooLarge,
    Unauthenticated,
)
from catalog.settings import Settings, load_settings
from catalog.store_errors import CLIENT_MESSAGE, RETRY_AFTER_SECONDS, is_store_unavailable

log = logging.getLogger("catalog.store")

STATUS = {InvalidInput: 400, Unauthenticated: 401, PermissionDenied: 403, NotFound: 404, Conflict: 409,
          TooLarge: 413, PublishRejected: 422, SourceUnavailable: 502}


def _status_of(exc: CatalogError) -> int:
    for cls, status in STATUS.items():
        if isinstance(exc, cls):
            return status
    return 400


def _problem(error: dict[str, Any]) -> str:
    """One validation error as "field: what is wrong"; a value outside a closed set also says what was given
    (cut to 80 characters: it is the caller's own input, echoed as JSON or escaped in a page)."""
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "query")
    text = f"{where}: {error.get('msg', 'invalid')}"
    if error.get("type") == "literal_error":
        text += f" (not {str(error.get('input'))[:80]!r})"
    return text


def create_app(settings: Settings | None = None) -> FastAPI:
    from catalog.api import router as api_router
    from catalog.api_governance import router as governance_router
    from catalog.api_lineage import router as lineage_router
    from catalog.api_recipes import router as recipes_router
    from catalog.api_review import router as review_router
    from catalog.api_versions import router as versions_router
    from catalog.body_limits import BodyLimitMiddleware
    from catalog.deps import csrf_guard
    from web.routes import render_error
    from web.routes import router as page_router
    from web.routes_auth import router as auth_router
    from web.routes_governance import router as governance_pages_router
    from web.routes_lineage import router as lineage_pages_router
    from web.routes_publish import router as publish_pages_router
    from web.routes_recipes import router as recipe_pages_router
    from web.routes_review import router as review_pages_router
    from web.routes_versions import router as version_pages_router

    settings = settings or load_settings()
    ensure_store(settings)
    # No Swagger/ReDoc pages: they load their assets from a CDN. The OpenAPI document itself is served.
    app = FastAPI(title="catalog", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.add_middleware(BodyLimitMiddleware)  # API bodies over their route's limit: 413 before they are read
    app.include_router(api_router)
    app.include_router(versions_router)
    app.include_router(recipes_router)
    app.include_router(lineage_router)
    app.include_router(governance_router)
    app.include_router(review_router)
    pages = [Depends(csrf_guard)]  # every form post of a signed-in browser carries its session's token
    app.include_router(auth_router, dependencies=pages)
    app.include_router(page_router, dependencies=pages)
    app.include_router(version_pages_router, dependencies=pages)
    app.include_router(publish_pages_router, dependencies=pages)
    app.include_router(recipe_pages_router, dependencies=pages)
    app.include_router(lineage_pages_router, dependencies=pages)
    app.include_router(governance_pages_router, dependencies=pages)
    app.include_router(review_pages_router, dependencies=pages)
    static = Path(__file__).resolve().parent.parent / "web" / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")

    def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None
                       ) -> Response:
        """JSON `{"error": ...}` under /api/ and for the health check, an HTML error page everywhere else."""
        if request.url.path.startswith("/api/") or request.url.path == "/healthz":
            return JSONResponse({"error": message}, status_code=status, headers=headers)
        page = render_error(request, status, message)
        page.headers.update(headers or {})
        return page

    @app.exception_handler(CatalogError)
    async def catalog_error(request: Request, exc: CatalogError) -> Response:
        if isinstance(exc, PublishRejected) and request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc), "report": exc.report}, status_code=422)
        if isinstance(exc, Unauthenticated) and not request.url.path.startswith("/api/"):
            from urllib.parse import quote

            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?next=" + quote(wanted, safe=""), status_code=303)
        challenge = {"WWW-Authenticate": 'Bearer realm="catalog"'} if isinstance(exc, Unauthenticated) else None
        return error_response(request, _status_of(exc), str(exc), challenge)

    @app.exception_handler(DBAPIError)
    async def store_error(request: Request, exc: DBAPIError) -> Response:
        """The store is down or restarting: 503 and a retry hint, the detail only in the server log. Any other
        database error is a bug and goes on to the server-error handler (a plain 500, logged with its trace)."""
        if not is_store_unavailable(exc):
            raise exc
        from catalog.db import first_line

        # The driver's first line names host and port at most (drivers never echo the password).
        log.warning("metadata store unavailable for %s %s: %s", request.method, request.url.path, first_line(exc))
        return error_response(request, 503, CLIENT_MESSAGE, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail), exc.headers)

    from catalog.openapi_errors import document_errors

    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document with the API's real error responses (built once, then cached by FastAPI)."""
        if app.openapi_schema is None:
            document_errors(build_openapi())  # FastAPI keeps the document it built in `app.openapi_schema`
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 400, "; ".join(_problem(e) for e in exc.errors()))

    return app
