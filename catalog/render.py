"""Terminal rendering for the CLI (rich). Crawled text is wrapped in `Text`, never parsed as markup."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from annotator.profile import summary_line

# Piped output is not a terminal: rich would assume 80 columns and truncate the tables.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def _t(value: Any) -> Text:
    return Text("" if value is None else str(value))


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


@contextmanager
def crawl_progress() -> Iterator[Callable[[str, int], None] | None]:
    """A progress display on stderr while datasets are read and stored (silent when not a terminal)."""
    if not sys.stderr.isatty():
        yield None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}"),
                  TimeElapsedColumn(), console=err_console, transient=True) as progress:
        labels = {"read": "reading datasets", "stored": "storing datasets", "annotated": "annotating datasets",
                  "indexed": "indexing documents"}
        tasks: dict[str, Any] = {}

        def advance(phase: str, n: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(labels.get(phase, phase), total=None)
            progress.advance(tasks[phase], n)

        yield advance


def crawl_summary(results: list[dict[str, Any]]) -> None:
    table = Table(title="crawl")
    for name in ("source", "status", "new", "changed", "unchanged", "deleted", "restored", "warnings", "seconds"):
        table.add_column(name)
    for r in results:
        table.add_row(_t(r["source"]), _t(r["status"]), _t(r["new"]), _t(r["changed"]), _t(r["unchanged"]),
                      _t(r["deleted"]), _t(r["restored"]), _t(len(r["warnings"])), _t(r["seconds"]))
    console.print(table)
    for r in results:
        for w in r["warnings"][:50]:
            err_console.print(Text(f"warning: {r['source']}: {w['dataset'] or ''}: {w['message']}"))
        if len(r["warnings"]) > 50:
            err_console.print(Text(f"... and {len(r['warnings']) - 50} more warnings (catalog source list --json)"))


def annotate_summary(result: dict[str, Any]) -> None:
    table = Table(title=f"annotate ({result['datasets']} datasets, {result['seconds']} s)")
    for name in ("dataset", "status", "rows", "method", "labels suggested", "seconds"):
        table.add_column(name)
    for r in result["results"]:
        table.add_row(_t(r["dataset"]), _t(r["status"]), _t(_count(r["rows"])), _t(r["method"] or r["error"]),
                      _t(", ".join(r["suggested"])), _t(r["seconds"]))
    console.print(table)
    labels, texts = result["labels"], result["descriptions"]
    console.print(Text(f"profiled {result['profiled']}, unsupported {result['unsupported']}, failed "
                       f"{result['failed']}; labels added {labels['added']}, updated {labels['updated']}, "
                       f"dropped {labels['dropped']}; descriptions new {texts['new']}, cached {texts['cached']}, "
                       f"kept (decided by a person) {texts['kept']}, fallback {texts['fallback']}, failed "
                       f"{texts['failed']} ({result['descriptions_per_second'] or 0} per second)"))
    for r in result["results"]:
        for warning in r["warnings"]:
            err_console.print(Text(f"warning: {r['dataset']}: {warning}"))
        if r["description_error"]:
            err_console.print(Text(f"warning: {r['dataset']}: {r['description_error']}"))


def index_summary(result: dict[str, Any]) -> None:
    console.print(Text(f"indexed {result['indexed']} documents ({result['embedded']} embedded, {result['cached']} "
                       f"from the vector cache), removed {result['removed']}; {result['documents']} in the index, "
                       f"{result['seconds']} s"))


def search_results(result: dict[str, Any]) -> None:
    table = Table(title=f"search: {result['query']}")
    for name in ("#", "dataset", "column", "description", "why"):
        table.add_column(name)
    for rank, r in enumerate(result["results"], 1):
        table.add_row(_t(rank), _t(r["dataset"]), _t(r["column"] or ""), _t(r["description"] or ""),
                      _t("; ".join(r["why"])))
    console.print(table)
    if not result["results"]:
        console.print(Text("nothing matched (has `catalog index` run since the last crawl?)"))


def labels_table(labels: list[dict[str, Any]]) -> None:
    table = Table(title=f"labels ({len(labels)})")
    for name in ("dataset", "column", "label", "status", "confidence", "decided by"):
        table.add_column(name)
    for v in labels:
        confidence = "" if v["confidence"] is None else f"{v['confidence']:.2f}"
        table.add_row(_t(v["dataset"]), _t(v["column"]), _t(v["label"]), _t(v["status"]), _t(confidence),
                      _t(v["decided_by"]))
    console.print(table)


def sources_table(sources: list[dict[str, Any]]) -> None:
    table = Table(title="sources")
    for name in ("name", "kind", "url", "datasets", "last crawl", "status"):
        table.add_column(name)
    for s in sources:
        run = s["last_crawl"] or {}
        table.add_row(_t(s["name"]), _t(s["kind"]), _t(s["url"]), _t(s["datasets"]),
                      _t(run.get("started_at", "never")), _t(run.get("status", "")))
    console.print(table)


def datasets_table(result: dict[str, Any]) -> None:
    table = Table(title=f"datasets ({result['total']})")
    for name in ("name", "kind", "columns", "rows", "description"):
        table.add_column(name)
    for d in result["datasets"]:
        name = d["name"] + (" (deleted)" if d["deleted"] else "")
        table.add_row(_t(name), _t(d["kind"]), _t(d["columns"]), _t(_count(d["row_estimate"])),
                      _t(d["description"]))
    console.print(table)


def dataset_view(d: dict[str, Any]) -> None:
    console.print(Text(f"{d['name']}  ({d['kind']}{', deleted' if d['deleted'] else ''})", style="bold"))
    if d["description"]:
        console.print(Text(d["description"]))
    console.print(Text(f"rows (estimate): {_count(d['row_estimate']) or 'unknown'}   "
                       f"last changed: {d['last_changed']}"))
    table = Table()
    for name in ("#", "column", "type", "null", "key", "labels", "profile", "description"):
        table.add_column(name)
    for c in d["columns"]:
        key = "PK" if c["primary_key"] else ""
        if c["foreign_key"]:
            key = (key + " FK→" + c["foreign_key"]).strip()
        labels = ", ".join(f"{v['label']} ({v['status']})" for v in c["labels"] if v["status"] != "rejected")
        table.add_row(_t(c["ordinal"]), _t(c["name"]), _t(c["type"]), _t("yes" if c["nullable"] else "no"),
                      _t(key), _t(labels), _t(summary_line(c["profile"])), _t(c["description"]))
    if d["columns"]:
        console.print(table)
    profile = d.get("profile")
    if profile:
        console.print(Text(f"profile: {profile['status']}, {_count(profile['rows_sampled'])} rows sampled "
                           f"({profile['method'] or profile['error'] or ''}) at {profile['profiled_at']}"))
    for label, facts in (("properties", d.get("properties")), ("observed", d.get("stats"))):
        if facts:
            console.print(Text(f"{label}: " + json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str)))
    for v in d["schema_versions"]:
        diff = v["diff"]
        parts = [f"{k}: {', '.join(x if isinstance(x, str) else x['name'] for x in diff[k])}"
                 for k in ("added", "removed", "retyped", "changed") if diff.get(k)]
        console.print(Text(f"schema v{v['version']}  {v['created_at']}  {v['columns']} columns  "
                           + ("; ".join(parts) if parts else "first seen")))
    lineage = d.get("lineage") or {}
    for model in lineage.get("models", []):
        console.print(Text(f"trained model {model['name']} {model['version']} on {model['trained_on'] or 'it'}  "
                           f"[{model['drift_status'].replace('_', ' ')}]"))
    for parent in lineage.get("derived_from", []):
        console.print(Text(f"{parent['version']} derived from {parent['from']}"))
    for label, runs in (("read by", lineage.get("read_by", [])), ("written by", lineage.get("written_by", []))):
        for run in runs[:10]:
            console.print(Text(f"{label} {run['job']} ({run['state']}, {run['version'] or 'current'}) at {run['at']}"))
