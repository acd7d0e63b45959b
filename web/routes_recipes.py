"""The recipe page: a published dataset's stored redaction recipe, its rules, and an editor for publishers.

Thin routes over `catalog.recipes`, which checks the rights (reading needs `read_metadata` on the published
dataset, saving `publish` on it and `read_data` on the source, a suggestion `read_metadata` on the source). The
editor takes the recipe as YAML (or JSON), the way the CLI and the API do, so a suggestion can be reviewed and
edited in place; a recipe that does not parse or does not fit the source's columns shows the form again with the
person's text and the problem. Column names and reasons come from crawled sources and AI suggestions: escaped.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog import recipes
from catalog.access import Action, Actor, Resource, can
from catalog.deps import PAGE_FORM_BYTES, SESSION, get_actor
from catalog.errors import CatalogError, InvalidInput, NotFound, PermissionDenied
from web import publish_form
from web.recipe_view import recipe_url
from web.routes import _page, require_same_origin

router = APIRouter(include_in_schema=False)
NAME = Query(..., max_length=1000, description="the published dataset's name, e.g. shop_clean/customers")
NOTICES = ("saved",)
# A refused save shows the form again with this status; a refusal by the target's rights is the plain 403 page.
REFUSALS: tuple[tuple[type[CatalogError], int], ...] = ((PermissionDenied, 403), (NotFound, 400), (InvalidInput, 400))


@router.get("/recipes")
def recipe_page(request: Request, dataset: str = NAME, suggest: str = Query("", max_length=1000),
                notice: str | None = Query(None, max_length=20), session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> Response:
    """The stored recipe; with `suggest=SOURCE` the editor holds a recipe proposed from SOURCE's PII labels."""
    stored = recipes.get_recipe(session, actor, dataset)
    suggestion = recipes.suggest(session, actor, suggest.strip()) if suggest.strip() else None
    if suggestion is not None:
        text, source = suggestion["yaml"], suggestion["source"]
    else:
        text, source = stored["yaml"] or "", stored["source"] or ""
    return _recipe_page(request, session, actor, stored, text, source, suggestion=suggestion,
                        notice=notice if notice in NOTICES else None)


@router.post("/recipes")
def save_recipe(request: Request, dataset: str = Form(max_length=1000), source: str = Form("", max_length=1000),
                recipe: str = Form("", max_length=PAGE_FORM_BYTES), session: Session = SESSION,
                actor: Actor = Depends(get_actor)) -> Response:
    """Check the recipe against the source's schema and store it, then 303 back to the page; a refusal shows the
    editor again with what was typed."""
    require_same_origin(request)
    try:
        recipes.save_recipe(request.app.state.settings, session, actor, dataset, recipe, source)
    except CatalogError as refused:
        status = next((code for kind, code in REFUSALS if isinstance(refused, kind)), None)
        if status is None or (status == 403 and not can(actor, Action.PUBLISH, Resource.dataset(dataset))):
            raise
        session.rollback()
        stored = recipes.get_recipe(session, actor, dataset)
        return _recipe_page(request, session, actor, stored, recipe, source, status=status, error=str(refused))
    return RedirectResponse(recipe_url(dataset.strip(), notice="saved"), status_code=303)


def _recipe_page(request: Request, session: Session, actor: Actor, stored: dict[str, Any], text: str, source: str,
                 status: int = 200, **context: Any) -> Response:
    name = stored["dataset"]
    may_publish = can(actor, Action.PUBLISH, Resource.dataset(name))
    choices = publish_form.choices(session, actor)["crawled"] if may_publish else []
    return _page(request, "recipe.html", "datasets", status=status, stored=stored, recipe_text=text, source=source,
                 can_publish=may_publish, crawled=choices, code=status,
                 has_versions=publish_form.latest_number(session, name) is not None, **context)
