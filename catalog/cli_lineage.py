"""CLI commands for lineage: `lineage show|impact|import-dvc`, `models`, `model`, `runs`, `watch`.

Registered on the main `catalog` app when `catalog.cli` is imported; each command is one library call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from catalog.cli import JsonFlag, _actor, _settings, app, emit_json, fail, handles_errors

lineage_app = typer.Typer(no_args_is_help=True, help="Lineage: graphs, impact, and import from DVC projects.")
app.add_typer(lineage_app, name="lineage")

Version = Annotated[str | None, typer.Option("--version", "-v", help="A version: v3, or a content hash prefix.")]
Column = Annotated[str | None, typer.Option("--column", "-c", help="One column of the dataset.")]


@lineage_app.command("show")
@handles_errors
def lineage_show(
    dataset: Annotated[str | None, typer.Argument(help="A dataset (published or crawled).")] = None,
    version: Version = None,
    column: Column = None,
    model: Annotated[str | None, typer.Option(help="A model instead of a dataset.")] = None,
    model_version: Annotated[str | None, typer.Option(help="The model's version (default: latest).")] = None,
    run: Annotated[str | None, typer.Option(help="A run id instead of a dataset.")] = None,
    direction: Annotated[str, typer.Option(help="up, down or both.")] = "both",
    depth: Annotated[int, typer.Option(help="Steps to walk (1-20).")] = 6,
    as_json: JsonFlag = False,
) -> None:
    """Upstream and downstream of a dataset version, a column, a model or a run."""
    from catalog.db import session_scope
    from catalog.lineage_graph import Focus, graph

    focus = Focus(dataset=dataset, version=version, column=column, model=model, model_version=model_version,
                  run=run)
    with session_scope(_settings()) as session:
        result = graph(session, _actor(), focus, direction, depth)
    if as_json:
        emit_json(result)
        return
    labels = {n["id"]: n["label"] for n in result["nodes"]}
    typer.echo(f"{len(result['nodes'])} nodes, {len(result['edges'])} edges"
               + (" (cut at the depth or size limit)" if result["truncated"] else ""))
    for edge in result["edges"]:
        typer.echo(f"  {labels[edge['source']]}  --{edge['label']}-->  {labels[edge['target']]}")


@lineage_app.command("impact")
@handles_errors
def lineage_impact(
    dataset: Annotated[str | None, typer.Argument(help="A dataset (published or crawled).")] = None,
    version: Version = None,
    column: Column = None,
    label: Annotated[str | None, typer.Option(help="A classification label, e.g. pii.email (or a prefix: pii).")]
    = None,
    as_json: JsonFlag = False,
) -> None:
    """Which models were trained on a version, a dataset, a column, or any data carrying a label."""
    from catalog.db import session_scope
    from catalog.lineage_graph import impact

    with session_scope(_settings()) as session:
        result = impact(session, _actor(), dataset, version, column, label)
    if as_json:
        emit_json(result)
        return
    if not result["models"]:
        typer.echo("no model was trained on it")
    for model in result["models"]:
        how = "directly" if model["direct"] else "through derived data"
        typer.echo(f"{model['name']} {model['version']}  [{model['drift_status']}]  {how}; trained on "
                   f"{', '.join(model['trained_on']) or '-'}")


@lineage_app.command("import-dvc")
@handles_errors
def lineage_import_dvc(
    project: Annotated[Path, typer.Argument(help="A DVC project folder (or its dvc.lock).")],
    model: Annotated[list[str] | None, typer.Option(
        "--model", help="OUT_PATH=MODEL_NAME: this stage output is a model (repeatable).")] = None,
    name: Annotated[str | None, typer.Option(help="The project's name in the catalog (default: folder name).")]
    = None,
    as_json: JsonFlag = False,
) -> None:
    """Record each stage of dvc.lock as a run; dependencies are matched to published versions by md5."""
    from catalog.api_lineage import parse_model_option
    from catalog.db import session_scope
    from catalog.lineage_dvc import import_lock, read_lock

    folder = project.expanduser().resolve()
    text = read_lock(folder)
    label = name or (folder.name if folder.is_dir() else folder.parent.name)
    models = dict(parse_model_option(item) for item in model or [])
    with session_scope(_settings()) as session:
        result = import_lock(session, _actor(), text, label, models)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"{result['stages']} stage(s) of {label}; {result['versions_matched']} published version(s) matched")
    for run in result["runs"]:
        reads = ", ".join(_ref_text(i) for i in run["inputs"]) or "-"
        made = ", ".join(f"{m['name']} {m['version']}" for m in run["models"])
        typer.echo(f"  {run['job']}: read {reads}" + (f"; models {made}" if made else ""))


def _ref_text(ref: dict[str, Any]) -> str:
    if ref.get("version"):
        return f"{ref['dataset']}@{ref['version']}"
    return f"{ref['dataset']} ({ref['kind']})"


@app.command("models")
@handles_errors
def models_command(
    name: Annotated[str | None, typer.Option(help="Only versions of this model.")] = None,
    status: Annotated[str | None, typer.Option(
        help="unchecked, no_retrain_needed or retrain_recommended.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Models with their drift status."""
    from catalog.db import session_scope
    from catalog.lineage import list_models

    with session_scope(_settings()) as session:
        result = list_models(session, _actor(), name, status)
    if as_json:
        emit_json(result)
        return
    if not result["models"]:
        typer.echo("no models recorded yet (client.log_run, OpenLineage events, or lineage import-dvc)")
    for model in result["models"]:
        typer.echo(f"{model['name']} {model['version']}  {model['framework'] or '-'}  [{model['drift_status']}]")


@app.command("model")
@handles_errors
def model_command(
    name: str,
    version: Annotated[str | None, typer.Option(help="Default: the latest recorded.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """One model: the run that trained it, the exact versions it read, its drift verdict."""
    from catalog.db import session_scope
    from catalog.lineage import find_model, model_view

    with session_scope(_settings()) as session:
        result = model_view(session, _actor(), find_model(session, _actor(), name, version), detail=True)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"{result['name']} {result['version']} ({result['framework'] or 'framework not given'})")
    typer.echo(f"  status: {result['drift_status']}")
    if result["drift"]:
        typer.echo(f"  {result['drift']['summary']}")
    if result["run"]:
        typer.echo(f"  trained by run {result['run']['run_id']} of {result['run']['job']} "
                   f"({result['run']['state']})")
        for ref in result["run"]["inputs"]:
            typer.echo(f"    read {_ref_text(ref)}" + (f" sha256 {ref['content_hash'][:12]}"
                                                      if ref.get("content_hash") else ""))
    for key, value in result["metrics"].items():
        typer.echo(f"  {key} = {value}")


@app.command("runs")
@handles_errors
def runs_command(
    job: Annotated[str | None, typer.Option(help="Only runs of this job.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Recent runs and what they read."""
    from catalog.db import session_scope
    from catalog.lineage import list_runs

    with session_scope(_settings()) as session:
        result = list_runs(session, _actor(), job, limit)
    if as_json:
        emit_json(result)
        return
    for run in result["runs"]:
        reads = ", ".join(_ref_text(i) for i in run["inputs"]) or "-"
        typer.echo(f"{run['run_id']}  {run['job']}  [{run['state']}]  read {reads}")


@app.command()
@handles_errors
def watch(
    thresholds: Annotated[str | None, typer.Option(
        help="psi=0.25,js=0.21,nulls=0.1 (any subset; default CATALOG_DRIFT_THRESHOLDS, else these).")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    force: Annotated[bool, typer.Option(help="Check even models whose inputs did not change.")] = False,
    reprofile_after: Annotated[float, typer.Option(
        help="Minutes after which a crawled input is sampled again before the check (0: always).")] = 60.0,
    exit_code: Annotated[bool, typer.Option(
        help="Exit with code 3 when this watch marked a model retrain recommended.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Compare each model's training data with its data now; mark retrain recommended / no retrain needed.
    Safe from cron: one watch at a time, and unchanged models are skipped."""
    from catalog.drift_measures import Thresholds
    from catalog.drift_watch import RETRAIN
    from catalog.drift_watch import watch as run_watch

    if reprofile_after < 0:
        fail("--reprofile-after must be 0 or more minutes")
    result = run_watch(_settings(), _actor(), Thresholds.parse(thresholds) if thresholds else None, model=model,
                       force=force, reprofile_after_s=reprofile_after * 60)
    if as_json:
        emit_json(result)
    elif result["status"] == "busy":
        typer.echo(result["message"], err=True)
    else:
        typer.echo(f"{result['models']} model(s): {len(result['checked'])} checked, "
                   f"{result['skipped_unchanged']} unchanged since their last check, {len(result['failed'])} failed")
        for item in result["checked"]:
            typer.echo(f"  {item['model']} {item['version']}: {item['summary']}")
        for item in result["failed"]:
            typer.echo(f"  model #{item['model_id']}: check failed: {item['error']}", err=True)
    if result.get("failed"):
        fail(f"{len(result['failed'])} model check(s) failed")
    if exit_code and any(i["status"] == RETRAIN for i in result.get("checked", [])):
        raise typer.Exit(3)
