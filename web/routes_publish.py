"""The publishing page: upload a file (or name a crawled dataset) and publish it as a dataset's next version.

The same `catalog.publish.publish` as the CLI, the API and the client, with the same checks and the same upload
limit as `POST /api/v1/versions`. The router's routes are `UploadRoute`s: the file streams into the staging area
under the catalog's home while it arrives, and is deleted when the request ends, whatever the outcome. A refused
publish shows the form again, filled in as it was sent (except the file), with the report of why: the PII found
per column, the failed expectations by name, the schema change. Names, messages and file names are hostile input:
the templates escape them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, can
from catalog.deps import SESSION, get_actor
from catalog.errors import CatalogError, Conflict, InvalidInput, NotFound, PermissionDenied, PublishRejected
from web import publish_form
from web.publish_form import PublishForm
from web.routes import _page, require_same_origin
from web.uploads import Upload, UploadRequest, UploadRoute, upload_limit

router = APIRouter(include_in_schema=False, route_class=UploadRoute)
# What a refused publish answers: a rejected check 422, a publish that landed first 409, the rest bad input.
REFUSALS: tuple[tuple[type[CatalogError], int], ...] = (
    (PublishRejected, 422), (Conflict, 409), (PermissionDenied, 403), (NotFound, 400), (InvalidInput, 400))


@router.get("/publish")
def publish_page(request: Request, dataset: str = Query("", max_length=1000),
                 session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """The empty form; `dataset` preselects the target (links from a dataset's versions say which)."""
    publish_form.require_publisher(actor)
    known = bool(dataset.strip()) and can(actor, Action.READ_METADATA, Resource.dataset(dataset.strip()))
    latest = publish_form.latest_number(session, dataset) if known else None  # its versions are metadata
    form = PublishForm(dataset=dataset, base=str(latest or 0) if known else "", base_of=dataset if known else "")
    return _form_page(request, session, actor, form)


async def received_upload(request: Request, actor: Actor = Depends(get_actor)) -> Upload:
    """The posted form, read after the origin and the right to publish are checked. (A signed-in browser's post
    in server mode is read first by the CSRF guard, through the same bounded `form()`: it parses once.)"""
    require_same_origin(request)
    publish_form.require_publisher(actor)
    posted = await request.form()
    upload = request.upload if isinstance(request, UploadRequest) else None
    if upload is None:  # not multipart (a form without a file input): only text fields
        upload = Upload(limit=upload_limit(), fields=[(k, v) for k, v in posted.multi_items() if isinstance(v, str)])
    return upload


@router.post("/publish")
def publish_submit(request: Request, upload: Upload = Depends(received_upload),
                   session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """Publish, then 303 to the version's page (also when the bytes equal the latest version's: "unchanged");
    a refusal shows the form again with the reason and the matching status."""
    from catalog.publish import publish

    form = PublishForm.from_fields(upload.fields)
    if upload.too_large:
        return _form_page(request, session, actor, form, status=413, sent_file=True,
                          error=f"The file is larger than the upload limit of {upload.limit:,} bytes "
                                "(CATALOG_MAX_UPLOAD_BYTES): nothing was published. Publish it with the CLI or "
                                "the Python client from where the file is, or ask an admin to raise the limit.")
    file = upload.file
    origin = f"upload {file.filename}" if file is not None else None
    try:
        result = publish(request.app.state.settings, actor, form.dataset, options=form.options(), origin=origin,
                         **form.source(file))
    except CatalogError as refused:
        status = next((code for kind, code in REFUSALS if isinstance(refused, kind)), None)
        if status is None:
            raise
        if isinstance(refused, Conflict):
            form = _rebased(session, form)
        report = refused.report if isinstance(refused, PublishRejected) else None
        return _form_page(request, session, actor, form, status=status, error=str(refused), report=report,
                          sent_file=file is not None)
    return RedirectResponse(version_url(result), status_code=303)


def version_url(result: dict[str, Any]) -> str:
    """The version page, with a notice of what happened (published, published but the catalog's dataset page
    is not refreshed yet, or unchanged)."""
    notice = result["status"]
    if notice == "published" and (result.get("catalog") or {}).get("crawl") == "failed":
        notice = "published-stale"
    version = result["version"]
    return "/versions?" + urlencode({"dataset": version["dataset"], "version": version["version"], "notice": notice})


def _rebased(session: Session, form: PublishForm) -> PublishForm:
    """After a conflict the form follows the version that landed first (the message names it)."""
    from dataclasses import replace

    latest = publish_form.latest_number(session, form.dataset)
    return replace(form, base=str(latest or 0), base_of=form.dataset)


def _form_page(request: Request, session: Session, actor: Actor, form: PublishForm, status: int = 200,
               error: str | None = None, report: dict[str, Any] | None = None, sent_file: bool = False) -> Response:
    from catalog.publish import MAX_MESSAGE, MAX_SEGMENTS
    from catalog.publish_gates import MIN_JUSTIFICATION
    from catalog.publish_input import FORMATS

    gates = {g.get("gate"): g for g in (report or {}).get("gates", [])}
    return _page(request, "publish.html", "publish", status=status, form=form.values(),
                 choices=publish_form.choices(session, actor), formats=sorted(FORMATS), limit=upload_limit(),
                 max_segments=MAX_SEGMENTS, max_message=MAX_MESSAGE, min_justification=MIN_JUSTIFICATION,
                 code=status, error=error, report=report, gates=gates, sent_file=sent_file,
                 stored_recipe=publish_form.stored_recipe(session, actor, form.dataset))
