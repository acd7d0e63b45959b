"""The server-rendered pages: thin routes over the same service functions as the JSON API.

Why the same services: the pages and `/api/v1` then always show the same facts under the same access rules.
Every page is plain HTML (no JavaScript, nothing from a CDN). Crawled names and comments are hostile input, so
templates rely on Jinja's autoescaping and never mark database text as safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from catalog import datasets, sources
from catalog.access import Actor
from catalog.deps import get_actor, get_session
from web import filters
from web.listing import PER_PAGE, DatasetFilters, pagination

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
RECENT = 10
ERROR_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found"}

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
filters.install(templates.env)
templates.env.globals["dataset_kinds"] = datasets.DATASET_KINDS

router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, nav: str | None, status: int = 200, **context: Any) -> Response:
    """Render one page; `nav` marks the current item of the navigation bar."""
    return templates.TemplateResponse(request, name, {"nav": nav, **context}, status_code=status)


def render_error(request: Request, status: int, message: str) -> Response:
    """An HTML error page with the given status; the message names the problem (never a traceback)."""
    title = ERROR_TITLES.get(status, "Something went wrong")
    return _page(request, "error.html", None, status=status, code=status, title=title, message=message)


@router.get("/")
def home(request: Request, session: Session = Depends(get_session),
         actor: Actor = Depends(get_actor)) -> Response:
    """Counts, a search box, what changed lately and how each source's last crawl went."""
    all_sources = sources.list_sources(session, actor)
    listing = datasets.list_datasets(session, actor, limit=RECENT, order="recent")
    return _page(request, "home.html", "home", sources=all_sources, recent=listing["datasets"],
                 dataset_count=listing["total"], source_count=len(all_sources))


@router.get("/datasets")
def dataset_list(request: Request, q: str | None = None, source: str | None = None, kind: str | None = None,
                 include_deleted: str | None = None, page: str | None = None,
                 session: Session = Depends(get_session), actor: Actor = Depends(get_actor)) -> Response:
    """The filterable list; bad parameters raise `InvalidInput`, which the app turns into a 400 page."""
    chosen = DatasetFilters.parse(q, source, kind, include_deleted, page)
    listing = datasets.list_datasets(session, actor, source=chosen.source, kind=chosen.kind, q=chosen.q,
                                     include_deleted=chosen.include_deleted, limit=PER_PAGE,
                                     offset=chosen.offset)
    source_names = [s["name"] for s in sources.list_sources(session, actor)]
    return _page(request, "datasets.html", "datasets", filters=chosen, datasets=listing["datasets"],
                 pager=pagination(chosen, listing["total"]), source_names=source_names)


@router.get("/datasets/{name:path}")
def dataset_page(name: str, request: Request, session: Session = Depends(get_session),
                 actor: Actor = Depends(get_actor)) -> Response:
    """One dataset: header facts, columns, schema history and properties (404 page when unknown)."""
    dataset = datasets.get_dataset(session, actor, name)
    return _page(request, "dataset.html", "datasets", dataset=dataset)


@router.get("/sources")
def source_list(request: Request, session: Session = Depends(get_session),
                actor: Actor = Depends(get_actor)) -> Response:
    return _page(request, "sources.html", "sources", sources=sources.list_sources(session, actor))


@router.get("/sources/{name}")
def source_page(name: str, request: Request, session: Session = Depends(get_session),
                actor: Actor = Depends(get_actor)) -> Response:
    """One source with its crawl history, each run's warnings and error."""
    return _page(request, "source.html", "sources", source=sources.describe_source(session, actor, name))
