"""The server-rendered pages: thin routes over the same service functions as the JSON API.

Why the same services: the pages and `/api/v1` then always show the same facts under the same access rules.
Every page is plain HTML (no JavaScript, nothing from a CDN). Crawled names and comments are hostile input, so
templates rely on Jinja's autoescaping and never mark database text as safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from annotator.pii import LABELS
from catalog import classifications, dataset_access, datasets, descriptions, lineage_graph, sources, usage, versions
from catalog.access import Action, Actor, Resource, can
from catalog.deps import SESSION, get_actor
from catalog.errors import InvalidInput, PermissionDenied
from web import filters
from web.dataset_quality import profile_signals
from web.lineage_graph import layout
from web.listing import PER_PAGE, DatasetFilters, pagination
from web.recipe_view import dataset_links

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
RECENT = 10
GRAPH_DEPTH = 2  # the dataset page shows the neighbourhood; the lineage page walks further
GRAPH_NODES = 40
ERROR_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Changed meanwhile",
                413: "Too large", 502: "Source unavailable", 503: "Temporarily unavailable"}

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
filters.install(templates.env)
templates.env.globals["dataset_kinds"] = datasets.DATASET_KINDS
templates.env.filters["profile_signals"] = profile_signals

router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, nav: str | None, status: int = 200, **context: Any) -> Response:
    """Render one page; `nav` marks the current item of the navigation bar."""
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", None))
    context.setdefault("signed_in", getattr(request.state, "signed_in", None))
    return templates.TemplateResponse(request, name, {"nav": nav, **context}, status_code=status)


def render_error(request: Request, status: int, message: str) -> Response:
    """An HTML error page with the given status; the message names the problem (never a traceback)."""
    title = ERROR_TITLES.get(status, "Something went wrong")
    return _page(request, "error.html", None, status=status, code=status, title=title, message=message)


@router.get("/")
def home(request: Request, session: Session = SESSION,
         actor: Actor = Depends(get_actor)) -> Response:
    """Counts, a search box, what is used most, what changed lately and how each source's last crawl went."""
    all_sources = sources.list_sources(session, actor)
    listing = datasets.list_datasets(session, actor, limit=RECENT, order="recent")
    popular = usage.most_used(session, actor, limit=RECENT)
    return _page(request, "home.html", "home", sources=all_sources, recent=listing["datasets"],
                 dataset_count=listing["total"], source_count=len(all_sources), popular=popular)


@router.get("/datasets")
def dataset_list(request: Request, q: str | None = None, source: str | None = None, kind: str | None = None,
                 include_deleted: str | None = None, page: str | None = None,
                 session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """The filterable list; bad parameters raise `InvalidInput`, which the app turns into a 400 page."""
    chosen = DatasetFilters.parse(q, source, kind, include_deleted, page)
    listing = datasets.list_datasets(session, actor, source=chosen.source, kind=chosen.kind, q=chosen.q,
                                     include_deleted=chosen.include_deleted, limit=PER_PAGE,
                                     offset=chosen.offset)
    source_names = [s["name"] for s in sources.list_sources(session, actor)]
    return _page(request, "datasets.html", "datasets", filters=chosen, datasets=listing["datasets"],
                 pager=pagination(chosen, listing["total"]), source_names=source_names)


@router.get("/datasets/{name:path}")
def dataset_page(name: str, request: Request, session: Session = SESSION,
                 actor: Actor = Depends(get_actor)) -> Response:
    """One dataset: overview, columns, personal data, versions and quality, lineage, access, schema history."""
    dataset = datasets.get_dataset(session, actor, name)
    latest = versions.describe_version(session, actor, name, "latest") if dataset["versions"] else None
    return _page(request, "dataset.html", "datasets", dataset=dataset, label_names=LABELS, latest=latest,
                 can_manage=can(actor, Action.MANAGE, Resource.dataset(name)),
                 can_publish=can(actor, Action.PUBLISH, Resource.dataset(name)),
                 access=dataset_access.access_summary(session, actor, name),
                 graph=_lineage_around(session, actor, name, dataset["lineage"]),
                 recipe=dataset_links(session, actor, dataset))


def _lineage_around(session: Session, actor: Actor, name: str, nearby: dict[str, Any]) -> Any:
    """The lineage graph two steps around the dataset, drawn only when some run or version links to it."""
    if not any(nearby.get(key) for key in ("models", "derived_from", "read_by", "written_by")):
        return None
    focus = lineage_graph.Focus(dataset=name)
    found = lineage_graph.graph(session, actor, focus, "both", GRAPH_DEPTH, GRAPH_NODES)
    return layout(found["nodes"], found["edges"], focus=found["focus"][0] if found["focus"] else None)


def require_same_origin(request: Request) -> None:
    """Refuse a form post that another site's page made the browser send (cross-site request forgery).

    Browsers send `Origin` (or at least `Referer`) with form posts; a post whose origin is not this server, or
    that names none, is refused. The governance work adds per-session tokens on top of this.
    """
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        raise PermissionDenied("form posts must come from this catalog's own pages (no Origin header)")
    parsed = urlsplit(claimed)
    if parsed.netloc != request.headers.get("host") or parsed.scheme != request.url.scheme:
        raise PermissionDenied("form posts must come from this catalog's own pages")


@router.post("/labels")
def decide_label(request: Request, dataset: str = Form(max_length=1000), column: str = Form(max_length=1000),
                 label: str = Form(max_length=100), decision: str = Form(max_length=20),
                 comment: str | None = Form(None, max_length=classifications.MAX_COMMENT),
                 session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """Confirm, reject or reset a label from the dataset page, then show the page again at its labels."""
    require_same_origin(request)
    classifications.decide(session, actor, dataset, column, label, decision, comment)
    return RedirectResponse(filters.dataset_url(dataset) + "#pii", status_code=303)


@router.get("/search")
def search_page(request: Request, q: str | None = None, source: str | None = None, kind: str | None = None,
                pii: str | None = None, tag: str | None = None, owner: str | None = None,
                session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> Response:
    """Hybrid search with facets (source, kind, personal data) and the matched words highlighted."""
    from catalog.search import Filters, search

    if pii not in (None, "", "true", "false"):
        raise InvalidInput(f"pii must be true or false, not '{pii}'")
    chosen = Filters(source=source or None, kind=kind or None, pii=None if not pii else pii == "true",
                     tag=tag or None, owner=owner or None)
    query = " ".join((q or "").split())
    result = search(session, actor, request.app.state.settings, query, limit=50, filters=chosen) if query else None

    def facet_url(facet: str, value: str) -> str:
        params = {"q": query, "source": chosen.source, "kind": chosen.kind, "tag": chosen.tag, "owner": chosen.owner,
                  "pii": None if chosen.pii is None else str(chosen.pii).lower()}
        params[facet] = {"personal data": "true", "none": "false"}.get(value, value) if facet == "pii" else value
        return "/search?" + urlencode({k: v for k, v in params.items() if v})

    return _page(request, "search.html", "search", query=query, result=result, filters=chosen,
                 facet_url=facet_url)


@router.get("/sources")
def source_list(request: Request, session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> Response:
    return _page(request, "sources.html", "sources", sources=sources.list_sources(session, actor))


@router.get("/sources/{name}")
def source_page(name: str, request: Request, session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> Response:
    """One source with its crawl history, each run's warnings and error."""
    return _page(request, "source.html", "sources", source=sources.describe_source(session, actor, name))


@router.post("/descriptions")
def decide_description(request: Request, dataset: str = Form(max_length=1000),
                       column: str = Form("", max_length=1000), decision: str = Form(max_length=20),
                       text: str | None = Form(None, max_length=descriptions.MAX_TEXT),
                       session: Session = SESSION, actor: Actor = Depends(get_actor)) -> Response:
    """Accept, reject or edit one description from the dataset page."""
    require_same_origin(request)
    descriptions.decide(session, actor, dataset, column, decision, text)
    return RedirectResponse(filters.dataset_url(dataset) + "#columns-heading", status_code=303)


@router.post("/descriptions/accept-all")
def accept_all_descriptions(request: Request, dataset: str = Form(max_length=1000),
                            session: Session = SESSION, actor: Actor = Depends(get_actor)
                            ) -> Response:
    """Accept every AI suggestion of the dataset at once."""
    require_same_origin(request)
    descriptions.accept_all(session, actor, dataset)
    return RedirectResponse(filters.dataset_url(dataset) + "#columns-heading", status_code=303)
