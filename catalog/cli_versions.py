"""CLI commands for published versions: publish, versions, version show/diff, download, suite show/set/reset.

Registered on the main `catalog` app when `catalog.cli` is imported; each command is one library call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from catalog.cli import JsonFlag, _actor, _settings, app, emit_json, fail, handles_errors

version_app = typer.Typer(no_args_is_help=True, help="Look at one published version, or compare two.")
app.add_typer(version_app, name="version")
suite_app = typer.Typer(no_args_is_help=True, help="The Great Expectations suite each new version must pass.")
app.add_typer(suite_app, name="suite")


@app.command()
@handles_errors
def publish(
    name: Annotated[str, typer.Argument(help="Published dataset name: <space>/<name>, e.g. team/churn.")],
    source: Annotated[str, typer.Option("--from", help="A file or folder (Parquet, CSV, TSV, JSON lines, Arrow), "
                                                       "or a catalog dataset name.")],
    message: Annotated[str | None, typer.Option("--message", "-m", help="What changed and why.")] = None,
    parent: Annotated[list[str] | None, typer.Option("--parent", help="Derived from NAME@vN (repeatable).")] = None,
    allow_pii: Annotated[list[str] | None, typer.Option(
        "--allow-pii", help="COLUMN=JUSTIFICATION: keep a personal-data column on purpose (recorded).")] = None,
    allow_schema_change: Annotated[str | None, typer.Option(
        help="Justification for removing or retyping declared columns.")] = None,
    base: Annotated[int | None, typer.Option(help="Fail with a conflict unless the latest version is this one.")]
    = None,
    recipe: Annotated[Path | None, typer.Option(
        help="A redaction recipe (YAML or JSON) applied to a catalog dataset before the checks; stored with the "
             "dataset for later publishes. Without it, the stored recipe applies.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check and publish a new immutable version (Parquet + DVC, tagged NAME@vN)."""
    from catalog.cli_recipes import read_recipe_file
    from catalog.errors import PublishRejected
    from catalog.publish import PublishOptions, parse_allowance
    from catalog.publish import publish as publish_version
    from catalog.recipes import parse

    settings = _settings()
    allowed = dict(parse_allowance(item, "--allow-pii") for item in allow_pii or [])
    options = PublishOptions(message=message, parents=tuple(parent or ()), allow_pii=allowed,
                             allow_schema_change=allow_schema_change, base=base,
                             recipe=parse(read_recipe_file(recipe)) if recipe is not None else None)
    path = Path(source).expanduser()
    try:
        if path.exists():
            result = publish_version(settings, _actor(), name, path=path, options=options)
        else:
            result = publish_version(settings, _actor(), name, dataset=source, options=options)
    except PublishRejected as exc:
        if as_json:
            emit_json({"status": "rejected", "error": str(exc), "report": exc.report})
        else:
            _print_gates(exc.report)
        fail(str(exc))
        return
    if as_json:
        emit_json(result)
        return
    version = result["version"]
    verb = "published" if result["status"] == "published" else "unchanged: same bytes as"
    typer.echo(f"{verb} {name} {version['version']} ({version['rows']:,} rows, {version['size']:,} bytes, "
               f"sha256 {version['content_hash'][:12]}), tag {version['tag']}")
    _print_gates(result["report"])


def _print_gates(report: dict[str, Any]) -> None:
    for gate in report.get("gates", []):
        mark = "ok  " if gate["passed"] else "FAIL"
        typer.echo(f"  {mark} {gate['gate']}: {gate.get('message') or _gate_note(gate)}", err=not gate["passed"])


def _gate_note(gate: dict[str, Any]) -> str:
    if gate["gate"] == "pii":
        allowed = [f"{f['column']} ({f['label']})" for f in gate.get("findings", []) if f.get("allowed")]
        rows = gate.get("sample_rows", 0)
        return f"allowed: {', '.join(allowed)}" if allowed else f"no personal data in {rows:,} sampled rows"
    if gate["gate"] == "quality" and not gate.get("skipped"):
        stats = (gate.get("report") or {}).get("statistics") or {}
        done = f"{stats.get('successful', 0)}/{stats.get('evaluated', 0)}"
        return f"{done} expectations on {gate['validated_rows']:,} rows"
    if gate["gate"] == "schema" and gate.get("added"):
        return f"adds {', '.join(c['name'] for c in gate['added'])}"
    return "passed"


@app.command()
@handles_errors
def versions(name: str,
             limit: Annotated[int, typer.Option(min=1, max=1000, help="Versions per page.")] = 100,
             before: Annotated[int | None, typer.Option(min=1, help="Start below this version number (the "
                                                         "previous page's last line says which).")] = None,
             as_json: JsonFlag = False) -> None:
    """Published versions of a dataset, newest first, a page at a time."""
    from catalog.db import session_scope
    from catalog.versions import list_versions

    with session_scope(_settings()) as session:
        result = list_versions(session, _actor(), name, limit=limit, before=before)
    if as_json:
        emit_json(result)
        return
    for v in result["versions"]:
        typer.echo(f"{v['version']:>5}  {v['created_at'][:19]}  {v['publisher']:<12} {v['rows']:>12,} rows  "
                   f"{v['content_hash'][:12]}  {v['message'] or ''}")
    if result["next_before"] is not None:
        typer.echo(f"({len(result['versions'])} of {result['total']:,} shown; next page: "
                   f"catalog versions {name} --before {result['next_before']})")


@version_app.command("show")
@handles_errors
def version_show(name: str, version: Annotated[str, typer.Argument(help="latest, vN or a hash prefix.")] = "latest",
                 as_json: JsonFlag = False) -> None:
    """One version with its checks."""
    from catalog.db import session_scope
    from catalog.versions import describe_version

    with session_scope(_settings()) as session:
        result = describe_version(session, _actor(), name, version)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"{name} {result['version']}  tag {result['tag']}  by {result['publisher']} at {result['created_at']}")
    typer.echo(f"  sha256 {result['content_hash']}  md5 {result['md5']}  {result['size']:,} bytes  "
               f"{result['rows']:,} rows  from {result['origin']}")
    if result["parents"]:
        typer.echo(f"  derived from {', '.join(result['parents'])}")
    for column in result["schema"]:
        typer.echo(f"  - {column['name']}: {column['type']}")


@version_app.command("diff")
@handles_errors
def version_diff(name: str, old: str, new: Annotated[str, typer.Argument()] = "latest",
                 as_json: JsonFlag = False) -> None:
    """Schema changes, row count change and drift per column between two versions."""
    from catalog.db import session_scope
    from catalog.versions import diff_versions

    settings = _settings()
    with session_scope(settings) as session:
        result = diff_versions(settings, session, _actor(), name, old, new)
    if as_json:
        emit_json(result)
        return
    schema, rows = result["schema"], result["rows"]
    typer.echo(f"{name} {result['old']} -> {result['new']}: rows {rows['old']:,} -> {rows['new']:,}")
    for key in ("added", "removed", "type_changed"):
        for column in schema.get(key, []):
            typer.echo(f"  {key}: {column['name']}")
    for drift in result.get("drift", []):
        if drift.get("level") not in (None, "none"):
            typer.echo(f"  drift {drift['level']}: {drift['column']} ({drift['method']})")


@app.command()
@handles_errors
def download(name: str, dest: Annotated[Path, typer.Argument(help="A folder or a file path.")] = Path("."),
             version: Annotated[str, typer.Option(help="latest, vN or a hash prefix.")] = "latest",
             as_json: JsonFlag = False) -> None:
    """Write a version's Parquet file (hash-verified) to DEST."""
    from catalog.client import Client, ClientError

    settings = _settings()
    try:
        with Client(str(settings.home)) as client:
            written = client.download(name, version, dest)
    except ClientError as exc:
        fail(str(exc))
        return
    if as_json:
        emit_json({"dataset": name, "version": version, "path": str(written)})
    else:
        typer.echo(str(written))


@suite_app.command("show")
@handles_errors
def suite_show(name: str, as_json: JsonFlag = False) -> None:
    """The suite as JSON (always JSON: it is meant to be edited and set back)."""
    from catalog.db import session_scope
    from catalog.versions import get_suite

    with session_scope(_settings()) as session:
        result = get_suite(session, _actor(), name)
    emit_json(result if as_json else (result["suite"] or {}))


@suite_app.command("set")
@handles_errors
def suite_set(name: str, file: Annotated[Path, typer.Argument(help="A JSON file holding the suite.")],
              as_json: JsonFlag = False) -> None:
    """Replace the suite with a person's (kept as is by later publishes)."""
    from catalog.db import session_scope
    from catalog.errors import InvalidInput
    from catalog.versions import set_suite

    try:
        suite = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the suite from '{file}': {exc}") from None
    with session_scope(_settings()) as session:
        result = set_suite(session, _actor(), name, suite)
    emit_json(result) if as_json else typer.echo(f"suite of {name} set ({len(result['suite']['expectations'])} "
                                                 "expectations)")


@suite_app.command("reset")
@handles_errors
def suite_reset(name: str, as_json: JsonFlag = False) -> None:
    """Back to the default suite generated from the latest version."""
    from catalog.db import session_scope
    from catalog.versions import reset_suite

    settings = _settings()
    with session_scope(settings) as session:
        result = reset_suite(settings, session, _actor(), name)
    emit_json(result) if as_json else typer.echo(f"suite of {name} reset ({result['origin']})")
