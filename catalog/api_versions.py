"""JSON API for published versions: list, resolve, download bytes, publish, diff, quality suite.

Dataset names travel as the `dataset` query parameter (they hold slashes, and `/api/v1/datasets/{name:path}`
already owns that path space). Bytes are served with their content hash in `X-Content-Sha256` and an immutable
cache header: a version never changes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from catalog import versions
from catalog.access import Actor
from catalog.deps import SESSION, get_actor
from catalog.errors import InvalidInput, TooLarge

router = APIRouter(tags=["versions"])
NameQuery = Query(..., max_length=1000, description="the published dataset's name, e.g. team/churn")
MAX_UPLOAD_BYTES = int(os.environ.get("CATALOG_MAX_UPLOAD_BYTES", str(64 * 1024**3)))


class _VersionFile(FileResponse):
    chunk_size = 4 * 1024 * 1024  # 64 KiB chunks (Starlette's default) cap a gigabyte download at ~300 MB/s


@router.get("/api/v1/versions")
def api_versions(dataset: str = NameQuery, limit: int = Query(versions.PAGE, ge=1, le=versions.MAX_PAGE),
                 before: int | None = Query(None, ge=1, description="continue the list below this version number "
                                            "(the previous page's `next_before`)"),
                 session: Session = SESSION, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """A page of the dataset's versions, newest first, with `total` and `next_before` (null on the last page)."""
    return versions.list_versions(session, actor, dataset, limit=limit, before=before)


@router.get("/api/v1/versions/resolve")
def api_resolve(dataset: str = NameQuery, version: str = Query("latest", max_length=80),
                session: Session = SESSION, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """One version with its checks in full: `latest`, `v3` or a hash prefix."""
    return versions.describe_version(session, actor, dataset, version)


PARQUET_RESPONSE = {200: {"description": "the version's Parquet file", "content": {
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/api/v1/versions/data", response_class=FileResponse, responses=PARQUET_RESPONSE)
def api_data(request: Request, dataset: str = NameQuery, version: str = Query("latest", max_length=80),
             session: Session = SESSION, actor: Actor = Depends(get_actor)) -> FileResponse:
    """The version's Parquet bytes (needs the right to read the data)."""
    found, path = versions.fetch_version(request.app.state.settings, session, actor, dataset, version,
                                         request.client.host if request.client else None)
    leaf = dataset.rsplit("/", 1)[-1]
    return _VersionFile(path, media_type="application/vnd.apache.parquet",
                        filename=f"{leaf}-v{found.number}.parquet",
                        headers={"X-Content-Sha256": found.content_hash, "ETag": f'"{found.content_hash}"',
                                 "Cache-Control": "private, max-age=31536000, immutable"})


@router.get("/api/v1/versions/diff")
def api_diff(request: Request, dataset: str = NameQuery, old: str = Query(..., max_length=80),
             new: str = Query("latest", max_length=80), session: Session = SESSION,
             actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Schema changes, row count change and drift per column between two versions."""
    return versions.diff_versions(request.app.state.settings, session, actor, dataset, old, new)


UPLOAD_BODY = {"requestBody": {"required": True, "description": "the version's bytes", "content": {
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
    "text/csv": {"schema": {"type": "string"}},
    "application/x-ndjson": {"schema": {"type": "string"}}}}}


@router.post("/api/v1/versions", openapi_extra=UPLOAD_BODY)
async def api_publish(
    request: Request,
    dataset: str = NameQuery,
    message: str | None = Query(None, max_length=2000),
    parents: list[str] = Query([], max_length=50),
    allow_pii: list[str] = Query([], description="column=justification, once per allowed column"),
    allow_schema_change: str | None = Query(None, max_length=2000),
    base: int | None = Query(None, ge=0, description="the version this one follows (conflict if it moved on)"),
    actor: Actor = Depends(get_actor),
) -> dict[str, Any]:
    """Publish the request body (Parquet, or CSV / JSON lines by Content-Type) as the next version."""
    from starlette.concurrency import run_in_threadpool

    from catalog.publish import PublishOptions, parse_allowance, publish
    from catalog.publish_input import staging_name
    from catalog.version_repo import VersionRepo

    settings = request.app.state.settings
    allowed = dict(parse_allowance(item) for item in allow_pii)
    options = PublishOptions(message=message, parents=tuple(parents), allow_pii=allowed,
                             allow_schema_change=allow_schema_change, base=base)
    repo = VersionRepo(settings)
    await run_in_threadpool(repo.ensure)
    upload = repo.staging_dir() / staging_name("upload-", _suffix(request))
    try:
        await _receive(request, upload)
        return await run_in_threadpool(publish, settings, actor, dataset, path=upload, options=options,
                                       origin="upload")
    finally:
        upload.unlink(missing_ok=True)


def _suffix(request: Request) -> str:
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    return {"text/csv": ".csv", "application/x-ndjson": ".jsonl", "application/jsonl": ".jsonl",
            "application/json": ".json"}.get(kind, ".parquet")


async def _receive(request: Request, target: Path) -> None:
    """Stream the body to disk (never whole in memory), bounded by CATALOG_MAX_UPLOAD_BYTES (also checked in
    front of the app by `catalog.body_limits`; this check holds wherever the router is mounted)."""
    size = 0
    with open(target, "wb") as writer:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise TooLarge(f"upload is larger than {MAX_UPLOAD_BYTES:,} bytes (CATALOG_MAX_UPLOAD_BYTES)")
            writer.write(chunk)
    if size == 0:
        raise InvalidInput("the request body is empty: send the version's bytes (Parquet, CSV or JSON lines)")


@router.get("/api/v1/suites")
def api_suite(dataset: str = NameQuery, session: Session = SESSION,
              actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """The dataset's Great Expectations suite (JSON) and who made it."""
    return versions.get_suite(session, actor, dataset)


@router.put("/api/v1/suites")
def api_set_suite(dataset: str = NameQuery, suite: dict[str, Any] = Body(...),
                  session: Session = SESSION, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Replace the suite; later publishes keep a person's suite as it is."""
    return versions.set_suite(session, actor, dataset, suite)


@router.post("/api/v1/suites/reset")
def api_reset_suite(request: Request, dataset: str = NameQuery, session: Session = SESSION,
                    actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Back to the default suite generated from the latest version."""
    return versions.reset_suite(request.app.state.settings, session, actor, dataset)
