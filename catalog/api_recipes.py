"""JSON API for redaction recipes and for publishing a crawled dataset through one.

- `GET /api/v1/recipes?dataset=` the published dataset's stored recipe (JSON and YAML) and its source;
- `PUT /api/v1/recipes?dataset=` save one: `{"source": "<crawled dataset>", "recipe": {...} | "<YAML or JSON>"}`,
  checked against the source's schema first;
- `GET /api/v1/recipes/suggest?source=` a recipe proposed from the source's PII labels, to review;
- `POST /api/v1/versions/from-dataset?dataset=` publish the next version from a crawled dataset, through the
  recipe in the body or else the stored one: `{"source", "recipe"?, "message"?, "parents"?, "allow_pii"?,
  "allow_schema_change"?, "base"?}`. A refusal by the checks is a 422 with every gate's report, as for uploads.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalog import recipes
from catalog.access import Actor
from catalog.deps import SESSION, get_actor

router = APIRouter(tags=["recipes"])
NameQuery = Query(..., max_length=1000, description="the published dataset's name, e.g. team/customers_clean")
SourceField = Field(..., min_length=1, max_length=1000, description="the crawled dataset the recipe reads")
RecipeField = Field(description="the recipe: a JSON object, or its YAML or JSON text (see catalog.redaction)")
MAX_RECIPE_TEXT = 1_000_000


class RecipeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = SourceField
    recipe: dict[str, Any] | str = RecipeField


class PublishFromBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = SourceField
    recipe: dict[str, Any] | str | None = Field(None, description="a recipe for this publish (saved with the "
                                                                  "dataset when it lands); default: the stored one")
    message: str | None = Field(None, max_length=2000)
    parents: list[str] = Field(default_factory=list, max_length=50)
    allow_pii: dict[str, str] = Field(default_factory=dict, max_length=1000,
                                      description="column -> justification")
    allow_schema_change: str | None = Field(None, max_length=2000)
    base: int | None = Field(None, ge=0)


def _recipe(value: dict[str, Any] | str) -> Any:
    from catalog.errors import InvalidInput

    if isinstance(value, str) and len(value) > MAX_RECIPE_TEXT:
        raise InvalidInput(f"the recipe text is longer than {MAX_RECIPE_TEXT:,} characters")
    return recipes.parse(value)


@router.get("/api/v1/recipes")
def api_recipe(dataset: str = NameQuery, session: Session = SESSION,
               actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """The stored redaction recipe of a published dataset (`recipe` null when it has none)."""
    return recipes.get_recipe(session, actor, dataset)


@router.put("/api/v1/recipes")
def api_save_recipe(request: Request, body: RecipeBody, dataset: str = NameQuery,
                    session: Session = SESSION, actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Check a recipe against its source's schema and store it with the published dataset."""
    return recipes.save_recipe(request.app.state.settings, session, actor, dataset, _recipe(body.recipe),
                               body.source)


@router.get("/api/v1/recipes/suggest")
def api_suggest_recipe(source: str = Query(..., max_length=1000, description="a crawled dataset"),
                       session: Session = SESSION, actor: Actor = Depends(get_actor)
                       ) -> dict[str, Any]:
    """A recipe proposed from the source's columns and PII labels (every rule says why), for review."""
    return recipes.suggest(session, actor, source)


@router.post("/api/v1/versions/from-dataset")
async def api_publish_from(request: Request, body: PublishFromBody, dataset: str = NameQuery,
                           actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    """Publish the next version of `dataset` from a crawled dataset, through a redaction recipe."""
    from starlette.concurrency import run_in_threadpool

    from catalog.publish import PublishOptions, publish

    allowed = {column.strip(): why.strip() for column, why in body.allow_pii.items()}  # checked by the PII gate
    options = PublishOptions(message=body.message, parents=tuple(body.parents), allow_pii=allowed,
                             allow_schema_change=body.allow_schema_change, base=body.base,
                             recipe=_recipe(body.recipe) if body.recipe is not None else None)
    return await run_in_threadpool(publish, request.app.state.settings, actor, dataset, dataset=body.source,
                                   options=options)
