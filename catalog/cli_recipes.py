"""CLI commands for redaction recipes: `catalog recipe suggest|show|set`.

The usual round: `catalog recipe suggest SOURCE > recipe.yaml`, read and edit it (every rule says why), then
`catalog publish NAME --from SOURCE --recipe recipe.yaml` (which stores it) or `catalog recipe set NAME
recipe.yaml --from SOURCE` to store it first. Later publishes from SOURCE reuse the stored recipe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from catalog.cli import JsonFlag, _actor, _settings, app, emit_json, handles_errors

recipe_app = typer.Typer(no_args_is_help=True, help="Redaction recipes: how a raw table is cleaned before publishing.")
app.add_typer(recipe_app, name="recipe")


def read_recipe_file(path: Path) -> str:
    """A recipe file's text; `InvalidInput` names the file when it cannot be read."""
    from catalog.errors import InvalidInput
    from catalog.redaction import MAX_RECIPE_CHARS

    try:
        if path.stat().st_size > MAX_RECIPE_CHARS * 4:
            raise InvalidInput(f"recipe file '{path}' is too large to be a recipe")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise InvalidInput(f"cannot read the recipe file '{path}': {reason}") from None


@recipe_app.command("suggest")
@handles_errors
def recipe_suggest(source: Annotated[str, typer.Argument(help="The crawled dataset to publish from.")],
                   as_json: JsonFlag = False) -> None:
    """Print a recipe proposed from the source's PII labels (YAML; review it before publishing)."""
    from catalog.db import session_scope
    from catalog.recipes import suggest

    with session_scope(_settings()) as session:
        result = suggest(session, _actor(), source)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"# Suggested from the PII labels of {source}; review every rule before the first publish.")
    typer.echo(result["yaml"], nl=False)


@recipe_app.command("show")
@handles_errors
def recipe_show(name: Annotated[str, typer.Argument(help="The published dataset.")], as_json: JsonFlag = False
                ) -> None:
    """The stored recipe of a published dataset (YAML), with its source and hash."""
    from catalog.db import session_scope
    from catalog.errors import NotFound
    from catalog.recipes import get_recipe

    with session_scope(_settings()) as session:
        result = get_recipe(session, _actor(), name)
    if as_json:
        emit_json(result)
        return
    if result["recipe"] is None:
        raise NotFound(f"'{name}' has no stored recipe (publish with --recipe, or `catalog recipe set`)")
    typer.echo(f"# {name}: from {result['source']}, recipe {result['recipe_hash'][:12]}, "
               f"by {result['updated_by']} at {result['updated_at']}")
    typer.echo(result["yaml"], nl=False)


@recipe_app.command("set")
@handles_errors
def recipe_set(name: Annotated[str, typer.Argument(help="The published dataset.")],
               file: Annotated[Path, typer.Argument(help="The recipe (YAML or JSON).")],
               source: Annotated[str, typer.Option("--from", help="The crawled dataset the recipe reads.")],
               as_json: JsonFlag = False) -> None:
    """Check a recipe against the source's columns and store it for the next publishes."""
    from catalog.db import session_scope
    from catalog.recipes import save_recipe

    text = read_recipe_file(file)
    settings = _settings()
    with session_scope(settings) as session:
        result = save_recipe(settings, session, _actor(), name, text, source)
    emit_json(result) if as_json else typer.echo(f"recipe of {name} set ({result['recipe_hash'][:12]}, "
                                                 f"from {source})")
