"""The `catalog` command line: every command is one call into the library.

`--json` makes a command print exactly one JSON document on stdout; progress and messages go to stderr.
Errors print one line naming what is wrong and exit with code 1.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import select

from catalog.access import Actor
from catalog.errors import CatalogError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="An AI-annotated data catalog.")
source_app = typer.Typer(no_args_is_help=True, help="Register, list, test and remove sources.")
app.add_typer(source_app, name="source")
label_app = typer.Typer(no_args_is_help=True, help="Review column labels (PII): list, confirm, reject, reset.")
app.add_typer(label_app, name="label")
description_app = typer.Typer(no_args_is_help=True, help="Review descriptions: accept, reject, edit, accept-all.")
app.add_typer(description_app, name="description")
tag_app = typer.Typer(no_args_is_help=True, help="Tag datasets (search filters on tags).")
app.add_typer(tag_app, name="tag")
owner_app = typer.Typer(no_args_is_help=True, help="Name the people or teams who own a dataset.")
app.add_typer(owner_app, name="owner")

F = TypeVar("F", bound=Callable[..., Any])
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def handles_errors(func: F) -> F:
    """Turn catalog and connector errors, and an unreachable metadata store, into one line on stderr and exit
    code 1 (any other database error is a bug and keeps its traceback)."""
    from sqlalchemy.exc import DBAPIError

    from catalog.db import first_line
    from catalog.store_errors import is_store_unavailable
    from connectors.base import ConnectorError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (CatalogError, ConnectorError) as exc:
            fail(str(exc))
        except DBAPIError as exc:
            if not is_store_unavailable(exc):
                raise
            fail(f"the metadata store is unavailable ({first_line(exc)}); nothing was changed, try again")

    return wrapper  # type: ignore[return-value]


def _settings() -> Any:
    from catalog.db import ensure_store
    from catalog.settings import load_settings

    settings = load_settings()
    ensure_store(settings)
    return settings


def _actor() -> Actor:
    """Who the command acts as. Embedded: the local user. Server mode: the user of `CATALOG_TOKEN`, under the
    same `can()` as the API; only while no admin exists yet does the operator act as the local administrator
    (to create the first one: `catalog user add root --role admin`)."""
    import os

    from catalog.auth import actor_for, user_for_token
    from catalog.db import session_scope
    from catalog.errors import Unauthenticated
    from catalog.models import User

    settings = _settings()
    if settings.mode != "server":
        return Actor.local()
    token = os.environ.get("CATALOG_TOKEN", "").strip()
    with session_scope(settings) as session:
        if token:
            user = user_for_token(session, token)
            if user is None:
                raise Unauthenticated("CATALOG_TOKEN is unknown, expired or revoked")
            return actor_for(session, user)
        if not any("admin" in (roles or []) for roles in session.scalars(select(User.roles))):
            typer.echo("server mode without an admin yet: acting as the local operator to set one up", err=True)
            return Actor.local()
    raise Unauthenticated("server mode: set CATALOG_TOKEN to act as a user (an admin creates one with "
                          "'catalog token create USER')")


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")


@app.command()
@handles_errors
def init(as_json: JsonFlag = False) -> None:
    """Create or upgrade the metadata store (idempotent)."""
    from catalog.db import migrate
    from catalog.secrets import redact_url
    from catalog.settings import load_settings

    settings = load_settings()
    migrate(settings)
    result = {"home": str(settings.home), "database": redact_url(settings.database_url), "ready": True}
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"catalog ready at {result['database']}")


def _parse_options(items: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--option '{item}' must look like KEY=VALUE")
        options[key.strip()] = value
    return options


@source_app.command("add")
@handles_errors
def source_add(
    name: str,
    url: str,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="KEY=VALUE, repeatable.")] = None,
    check: Annotated[bool, typer.Option(help="Connect once to check the source.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Register a source: any SQLAlchemy URL (sqlite:///, postgresql://, mysql://, ...)."""
    from catalog.db import session_scope
    from catalog.sources import add_source, test_source

    settings = _settings()
    with session_scope(settings) as session:
        summary = add_source(session, _actor(), name, url, _parse_options(option or []))
        if check:
            test_source(session, _actor(), name)
    if as_json:
        emit_json(summary)
    else:
        typer.echo(f"source '{name}' added ({summary['kind']}: {summary['url']})")


@source_app.command("list")
@handles_errors
def source_list(as_json: JsonFlag = False) -> None:
    """List sources with their last crawl."""
    from catalog.db import session_scope
    from catalog.render import sources_table
    from catalog.sources import list_sources

    with session_scope(_settings()) as session:
        result = list_sources(session, _actor())
    if as_json:
        emit_json({"sources": result})
    else:
        sources_table(result)


@source_app.command("test")
@handles_errors
def source_test(name: str) -> None:
    """Connect to a source once and report whether it answers."""
    from catalog.db import session_scope
    from catalog.sources import test_source

    with session_scope(_settings()) as session:
        test_source(session, _actor(), name)
    typer.echo(f"source '{name}' is reachable")


@source_app.command("remove")
@handles_errors
def source_remove(name: str, yes: Annotated[bool, typer.Option("--yes", help="Also remove its datasets.")] = False
                  ) -> None:
    """Remove a source and everything crawled from it."""
    from catalog.db import session_scope
    from catalog.sources import remove_source

    with session_scope(_settings()) as session:
        result = remove_source(session, _actor(), name, force=yes)
    typer.echo(f"source '{name}' removed ({result['datasets_removed']} datasets)")


@app.command()
@handles_errors
def crawl(names: Annotated[list[str] | None, typer.Argument(help="Sources (default: all).")] = None,
          as_json: JsonFlag = False) -> None:
    """Crawl sources: new, changed, unchanged and deleted datasets, and warnings."""
    from catalog.crawl import crawl_sources
    from catalog.render import crawl_progress, crawl_summary

    settings = _settings()
    with crawl_progress() as progress:
        results = crawl_sources(settings, _actor(), names or None, progress)
    if as_json:
        emit_json({"crawls": results})
    else:
        crawl_summary(results)
    _exit_if_any_failed(results)


def _exit_if_any_failed(crawls: list[dict[str, Any]]) -> None:
    """One error line per failed source and exit code 1, after the summary was printed."""
    failed = [r for r in crawls if r["status"] == "failed"]
    for result in failed:
        typer.echo(f"error: {result['error']}", err=True)
    if failed:
        raise typer.Exit(1)


@app.command()
@handles_errors
def annotate(
    names: Annotated[list[str] | None, typer.Argument(help="Sources (default: all).")] = None,
    dataset: Annotated[list[str] | None, typer.Option("--dataset", "-d", help="Only this dataset; repeatable.")
                       ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Redo datasets that did not change.")] = False,
    sample_rows: Annotated[int | None, typer.Option(min=1, help="Rows sampled per dataset.")] = None,
    backend: Annotated[str | None, typer.Option(help="Description backend: rules, local, openai or none.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Profile bounded samples, classify personal data and describe columns, in what changed since the last run."""
    from catalog.annotate import annotate as run_annotate
    from catalog.render import annotate_summary, crawl_progress

    settings = _settings()
    with crawl_progress() as progress:
        result = run_annotate(settings, _actor(), sources=names or (), datasets=dataset or (),
                              everything=everything, sample_rows=sample_rows, backend=backend,
                              progress=progress)
    if as_json:
        emit_json(result)
    else:
        annotate_summary(result)


@app.command()
@handles_errors
def refresh(names: Annotated[list[str] | None, typer.Argument(help="Sources (default: all).")] = None,
            as_json: JsonFlag = False) -> None:
    """Crawl, annotate what the crawl changed (labels re-evaluated, decisions kept), then index for search."""
    from catalog.annotate import annotate as run_annotate
    from catalog.crawl import crawl_sources
    from catalog.render import annotate_summary, crawl_progress, crawl_summary, index_summary
    from catalog.search import build_index

    settings = _settings()
    with crawl_progress() as progress:
        crawls = crawl_sources(settings, _actor(), names or None, progress)
        crawled = [r["source"] for r in crawls if r["status"] != "failed"]
        annotated = run_annotate(settings, _actor(), sources=crawled, progress=progress) if crawled else None
        indexed = build_index(settings, _actor(), progress)
    if as_json:
        emit_json({"crawls": crawls, "annotate": annotated, "index": indexed})
    else:
        crawl_summary(crawls)
        if annotated:
            annotate_summary(annotated)
        index_summary(indexed)
    _exit_if_any_failed(crawls)


@app.command()
@handles_errors
def index(as_json: JsonFlag = False) -> None:
    """Embed and index what changed since the last run (keyword and vector indexes under CATALOG_HOME)."""
    from catalog.render import crawl_progress, index_summary
    from catalog.search import build_index

    settings = _settings()
    with crawl_progress() as progress:
        result = build_index(settings, _actor(), progress)
    if as_json:
        emit_json(result)
    else:
        index_summary(result)


def _yes_no(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("yes", "true", "1"):
        return True
    if value.lower() in ("no", "false", "0"):
        return False
    fail(f"--{name} must be yes or no, not '{value}'")
    return None


@app.command()
@handles_errors
def search(
    query: str,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Results to show.")] = 10,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only datasets of this kind (table, view, ...).")] = None,
    pii: Annotated[str | None, typer.Option(help="yes: only personal data; no: only without.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only datasets with this tag.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only datasets this person or team owns.")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, keyword or vector.")] = "hybrid",
    as_json: JsonFlag = False,
) -> None:
    """Hybrid search over datasets and columns."""
    from catalog.db import session_scope
    from catalog.render import search_results
    from catalog.search import Filters
    from catalog.search import search as run_search

    settings = _settings()
    filters = Filters(source=source, kind=kind, pii=_yes_no(pii, "pii"), tag=tag, owner=owner)
    with session_scope(settings) as session:
        result = run_search(session, _actor(), settings, query, limit=limit, mode=mode, filters=filters)
    if as_json:
        emit_json(result)
    else:
        search_results(result)


@label_app.command("list")
@handles_errors
def label_list(
    status: Annotated[str, typer.Option(help="suggested, confirmed, rejected or all.")] = "suggested",
    label: Annotated[str | None, typer.Option(help="Only this label, e.g. pii.email.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    limit: int = 200,
    as_json: JsonFlag = False,
) -> None:
    """Labels to review across the catalog (open suggestions by default), strongest first."""
    from catalog.classifications import review_queue
    from catalog.db import session_scope
    from catalog.render import labels_table

    with session_scope(_settings()) as session:
        result = review_queue(session, _actor(), status=None if status == "all" else status, label=label,
                              source=source, limit=limit)
    if as_json:
        emit_json(result)
    else:
        labels_table(result["labels"])


def _decide(decision: str, dataset: str, column: str, label: str, comment: str | None, as_json: bool) -> None:
    from catalog.classifications import decide
    from catalog.db import session_scope

    with session_scope(_settings()) as session:
        result = decide(session, _actor(), dataset, column, label, decision, comment)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"{dataset} {column}: {label} is {result['status'] or 'gone (no longer suggested)'}")


CommentOption = Annotated[str | None, typer.Option(help="Why (kept with the decision).")]


@label_app.command("confirm")
@handles_errors
def label_confirm(dataset: str, column: str, label: str, comment: CommentOption = None,
                  as_json: JsonFlag = False) -> None:
    """Confirm a label on a column (adds it when the classifier did not suggest it)."""
    _decide("confirm", dataset, column, label, comment, as_json)


@label_app.command("reject")
@handles_errors
def label_reject(dataset: str, column: str, label: str, comment: CommentOption = None,
                 as_json: JsonFlag = False) -> None:
    """Reject a label on a column: re-evaluation will not bring it back."""
    _decide("reject", dataset, column, label, comment, as_json)


@label_app.command("reset")
@handles_errors
def label_reset(dataset: str, column: str, label: str, as_json: JsonFlag = False) -> None:
    """Undo a decision: the label is the classifier's suggestion again (or goes, if it no longer suggests it)."""
    _decide("reset", dataset, column, label, None, as_json)


def _describe_decision(decision: str, dataset: str, column: str | None, text: str | None, as_json: bool) -> None:
    from catalog.db import session_scope
    from catalog.descriptions import TABLE, decide

    with session_scope(_settings()) as session:
        result = decide(session, _actor(), dataset, column or TABLE, decision, text)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"{dataset} {column or '(dataset)'}: {result['status']} ({result['source']})")


ColumnArgument = Annotated[str | None, typer.Argument(help="Column (default: the dataset itself).")]


@description_app.command("accept")
@handles_errors
def description_accept(dataset: str, column: ColumnArgument = None, as_json: JsonFlag = False) -> None:
    """Accept the AI's description of a column or of the dataset."""
    _describe_decision("accept", dataset, column, None, as_json)


@description_app.command("reject")
@handles_errors
def description_reject(dataset: str, column: ColumnArgument = None, as_json: JsonFlag = False) -> None:
    """Reject the AI's description: it is no longer shown, and only a changed column brings a new one."""
    _describe_decision("reject", dataset, column, None, as_json)


@description_app.command("edit")
@handles_errors
def description_edit(dataset: str, column: ColumnArgument = None,
                     text: Annotated[str, typer.Option(help="The description.")] = "",
                     as_json: JsonFlag = False) -> None:
    """Write a description (it wins over every other text and the annotator never overwrites it)."""
    _describe_decision("edit", dataset, column, text, as_json)


@description_app.command("accept-all")
@handles_errors
def description_accept_all(dataset: str, as_json: JsonFlag = False) -> None:
    """Accept every suggested AI description of a dataset and its columns."""
    from catalog.db import session_scope
    from catalog.descriptions import accept_all

    with session_scope(_settings()) as session:
        result = accept_all(session, _actor(), dataset)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"{dataset}: {result['accepted']} descriptions accepted")


def _steward(what: str, action: str, dataset: str, value: str, as_json: bool) -> None:
    from catalog.db import session_scope
    from catalog.stewardship import change

    with session_scope(_settings()) as session:
        result = change(session, _actor(), dataset, what, value, action)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"{dataset}: tags {', '.join(result['tags']) or '-'}; owners {', '.join(result['owners']) or '-'}")


@tag_app.command("add")
@handles_errors
def tag_add(dataset: str, tag: str, as_json: JsonFlag = False) -> None:
    """Add a tag to a dataset."""
    _steward("tag", "add", dataset, tag, as_json)


@tag_app.command("remove")
@handles_errors
def tag_remove(dataset: str, tag: str, as_json: JsonFlag = False) -> None:
    """Remove a tag from a dataset."""
    _steward("tag", "remove", dataset, tag, as_json)


@owner_app.command("add")
@handles_errors
def owner_add(dataset: str, owner: str, as_json: JsonFlag = False) -> None:
    """Add an owner (a person or a team) to a dataset."""
    _steward("owner", "add", dataset, owner, as_json)


@owner_app.command("remove")
@handles_errors
def owner_remove(dataset: str, owner: str, as_json: JsonFlag = False) -> None:
    """Remove an owner from a dataset."""
    _steward("owner", "remove", dataset, owner, as_json)


@app.command()
@handles_errors
def datasets(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    kind: Annotated[str | None, typer.Option(help="table, view, collection or file_set.")] = None,
    q: Annotated[str | None, typer.Option("--filter", help="Substring of name or comment.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted datasets.")] = False,
    limit: int = 100,
    as_json: JsonFlag = False,
) -> None:
    """List datasets."""
    from catalog.datasets import list_datasets
    from catalog.db import session_scope
    from catalog.render import datasets_table

    with session_scope(_settings()) as session:
        result = list_datasets(session, _actor(), source=source, kind=kind, q=q, include_deleted=deleted,
                               limit=limit)
    if as_json:
        emit_json(result)
    else:
        datasets_table(result)


@app.command()
@handles_errors
def show(dataset: str, as_json: JsonFlag = False) -> None:
    """One dataset: columns, descriptions, keys and schema history."""
    from catalog.datasets import get_dataset
    from catalog.db import session_scope
    from catalog.render import dataset_view

    with session_scope(_settings()) as session:
        result = get_dataset(session, _actor(), dataset)
    if as_json:
        emit_json(result)
    else:
        dataset_view(result)


@app.command()
@handles_errors
def serve(host: str = "127.0.0.1", port: int = 8000,
          allow_remote: Annotated[bool, typer.Option(help="Serve an embedded catalog beyond this machine.")] = False,
          workers: Annotated[int, typer.Option(help="Worker processes (each with its own copy of the app).")] = 1,
          ) -> None:
    """Serve the web UI and the JSON API."""
    from catalog.serve import run_server

    run_server(_settings(), host, port, allow_remote, workers)


@app.command()
@handles_errors
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    serve_ui: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the UI when built.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Build a catalog from bundled sample sources and serve it."""
    from catalog.demo import running_demo
    from catalog.render import annotate_summary, crawl_progress, crawl_summary, index_summary
    from catalog.serve import run_server

    settings = _settings()
    with ExitStack() as services:  # the demo's document server lives as long as this command
        with crawl_progress() as progress:
            results = services.enter_context(running_demo(settings, _actor(), progress))
        if as_json:
            emit_json({**results, "url": f"http://{host}:{port}/"})
        else:
            crawl_summary(results["crawls"])
            annotate_summary(results["annotate"])
            for item in results["lineage"].get("checked", []):
                typer.echo(f"lineage: model {item['model']} {item['version']}: {item['summary']}")
            index_summary(results["index"])
            typer.echo("demo users for server mode (CATALOG_MODE=server; new passwords at every demo run):")
            for user in results["users"]:
                typer.echo(f"  {user['name']:<10} role {user['role']:<10} password {user['password']}")
        if serve_ui:
            run_server(settings, host, port, allow_remote=False)


# Version commands (publish, versions, version, download, suite) live in their own module; importing it here,
# after everything it uses is defined, registers them on `app`.
from catalog import cli_governance, cli_lineage, cli_recipes, cli_versions  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. A usage mistake (unknown command or option, missing argument, bad value) prints one line naming
    the command and the problem, and exits 2; Click's default is a usage block and a framed box, which scripts and
    people scanning logs read worse. `--help` and a bare group (which shows its help) behave as usual."""
    from typer.main import get_command

    try:  # typer >= 0.2x carries its own copy of click
        from typer._click import exceptions as usage
    except ImportError:  # pragma: no cover - older typer uses click itself
        from click import exceptions as usage  # type: ignore[no-redef]

    command = get_command(app)
    try:
        code = command.main(args=sys.argv[1:] if argv is None else argv, prog_name="catalog", standalone_mode=False)
    except usage.NoArgsIsHelpError as shown:
        typer.echo(shown.ctx.get_help() if shown.ctx else shown.format_message())
        raise SystemExit(0) from None
    except usage.UsageError as mistake:
        where = mistake.ctx.command_path if mistake.ctx else "catalog"
        typer.echo(f"error: {where}: {mistake.format_message()} (see '{where} --help')", err=True)
        raise SystemExit(2) from None
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        raise SystemExit(1) from None
    if isinstance(code, int):  # without standalone mode, click returns the code of typer.Exit instead of exiting
        raise SystemExit(code)


if __name__ == "__main__":
    main()
