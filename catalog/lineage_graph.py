"""Lineage graph queries: upstream and downstream of a dataset version, a model, a run or a column; impact.

Nodes: published dataset versions, crawled datasets, external datasets (named by OpenLineage but unknown here),
runs, models and columns. Edges follow the data: a version flows into the run that read it, the run into what it
wrote and the models it trained; a parent version flows into the versions derived from it; a column flows into
the versions that contain it and, through OpenLineage column lineage, into the columns computed from it.

The walk is breadth-first from the focus, one node at a time, bounded by `depth` and `max_nodes` (the answer
says when it was cut). Nodes the caller may not discover are left out and not walked through, so the graph never
reveals a dataset's name to someone who cannot see it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, can, require
from catalog.errors import InvalidInput, NotFound
from catalog.models import (
    Classification,
    Column,
    ColumnLineage,
    Dataset,
    DatasetVersion,
    LineageRun,
    PublishedDataset,
    RunDataset,
    TrainedModel,
    VersionParent,
)

DIRECTIONS = ("up", "down", "both")
MAX_DEPTH = 20
IMPACT_NODES = 5000


@dataclass(frozen=True)
class Focus:
    """Where a graph starts: a dataset (optionally one version or one column), a model, or a run."""

    dataset: str | None = None
    version: str | None = None
    column: str | None = None
    model: str | None = None
    model_version: str | None = None
    run: str | None = None


class _Walker:
    """Resolves node ids to neighbours and to display data, remembering what it loaded."""

    def __init__(self, session: Session, actor: Actor, column: str | None = None) -> None:
        self.session = session
        self.actor = actor
        self.column = column  # walking downstream from a column: follow only data that still carries it
        self.versions: dict[int, tuple[DatasetVersion, str]] = {}

    # -- visibility ---------------------------------------------------------------------------------------------
    def visible(self, node: str) -> bool:
        kind, _, key = node.partition(":")
        if kind == "version":
            found = self.version(int(key))
            return found is not None and can(self.actor, Action.DISCOVER, Resource.dataset(found[1]))
        if kind in ("dataset", "column"):
            return can(self.actor, Action.DISCOVER, Resource.dataset(key.split("\x1f", 1)[0]))
        if kind == "model":
            model = self.session.get(TrainedModel, int(key))
            return model is not None and can(self.actor, Action.READ_METADATA, Resource.model(model.name))
        return True

    def version(self, version_id: int) -> tuple[DatasetVersion, str] | None:
        if version_id not in self.versions:
            row = self.session.execute(
                select(DatasetVersion, PublishedDataset.name)
                .join(PublishedDataset, PublishedDataset.id == DatasetVersion.published_id)
                .where(DatasetVersion.id == version_id)).first()
            if row is None:
                return None
            self.versions[version_id] = (row[0], row[1])
        return self.versions[version_id]

    # -- neighbours ---------------------------------------------------------------------------------------------
    def neighbours(self, node: str, downstream: bool) -> list[tuple[str, str]]:
        """(other node, edge label) pairs one step along the data flow (or against it). The label names the
        edge in the data-flow direction whichever way it was found ("read by", "wrote", "trained", ...)."""
        kind, _, key = node.partition(":")
        handler = getattr(self, f"_{kind}_{'down' if downstream else 'up'}")
        return handler(key)

    def _version_down(self, key: str) -> list[tuple[str, str]]:
        version_id = int(key)
        reads = self.session.scalars(select(RunDataset).where(RunDataset.version_id == version_id,
                                                              RunDataset.direction == "in"))
        children = self.session.scalars(select(VersionParent.version_id)
                                        .where(VersionParent.parent_id == version_id))
        return ([(f"run:{r.run_id}", "read by") for r in reads if self._carries(r)]
                + [(f"version:{c}", "derived into") for c in children if self._carries(f"version:{c}")])

    def _carries(self, item: RunDataset | str) -> bool:
        """In a column walk: does this read (declared columns) or this node (its schema) include the column?
        Unknown shapes (external data, reads that name no columns) count as carrying it: impact errs wide."""
        if self.column is None:
            return True
        if isinstance(item, RunDataset):
            return not item.columns or self.column in item.columns
        kind, _, key = item.partition(":")
        if kind == "version":
            found = self.version(int(key))
            return found is not None and self.column in _schema_names(found[0])
        if kind == "dataset":
            return self.session.scalar(select(Column.id).join(Dataset, Dataset.id == Column.dataset_id).where(
                Dataset.name == key, Column.name == self.column)) is not None
        return True

    def _version_up(self, key: str) -> list[tuple[str, str]]:
        version_id = int(key)
        runs = self.session.scalars(select(RunDataset.run_id).where(RunDataset.version_id == version_id,
                                                                   RunDataset.direction == "out"))
        parents = self.session.scalars(select(VersionParent.parent_id)
                                       .where(VersionParent.version_id == version_id))
        found = self.version(version_id)
        source = found[0].source_dataset if found else None
        published_from = [(f"dataset:{source}", _published_edge(found))] if source else []
        return ([(f"run:{r}", "wrote") for r in runs] + [(f"version:{p}", "derived into") for p in parents]
                + published_from)

    def _run_down(self, key: str) -> list[tuple[str, str]]:
        run_id = int(key)
        outputs = self.session.scalars(select(RunDataset).where(RunDataset.run_id == run_id,
                                                                RunDataset.direction == "out"))
        models = self.session.scalars(select(TrainedModel.id).where(TrainedModel.run_id == run_id))
        written = [_dataset_node(r) for r in outputs]
        return ([(node, "wrote") for node in written if self._carries(node)]
                + [(f"model:{m}", "trained") for m in models])

    def _run_up(self, key: str) -> list[tuple[str, str]]:
        inputs = self.session.scalars(select(RunDataset).where(RunDataset.run_id == int(key),
                                                               RunDataset.direction == "in"))
        return [(_dataset_node(r), "read by") for r in inputs]

    def _model_down(self, key: str) -> list[tuple[str, str]]:
        return []

    def _model_up(self, key: str) -> list[tuple[str, str]]:
        run_id = self.session.scalar(select(TrainedModel.run_id).where(TrainedModel.id == int(key)))
        return [(f"run:{run_id}", "trained")] if run_id else []

    def _dataset_down(self, key: str) -> list[tuple[str, str]]:
        name = key
        runs = self.session.scalars(select(RunDataset.run_id).where(
            RunDataset.dataset_name == name, RunDataset.direction == "in", RunDataset.version_id.is_(None),
            RunDataset.namespace.is_(None)))
        published = self.session.scalars(select(DatasetVersion.id).where(DatasetVersion.source_dataset == name)
                                         .order_by(DatasetVersion.id))
        return ([(f"run:{r}", "read by") for r in runs]
                + [(f"version:{v}", _published_edge(self.version(v))) for v in published
                   if self._carries(f"version:{v}")])

    def _dataset_up(self, key: str) -> list[tuple[str, str]]:
        runs = self.session.scalars(select(RunDataset.run_id).where(
            RunDataset.dataset_name == key, RunDataset.direction == "out", RunDataset.version_id.is_(None),
            RunDataset.namespace.is_(None)))
        return [(f"run:{r}", "wrote") for r in runs]

    def _external_down(self, key: str) -> list[tuple[str, str]]:
        namespace, _, name = key.partition("\x1f")
        runs = self.session.scalars(select(RunDataset.run_id).where(
            RunDataset.dataset_name == name, RunDataset.namespace == namespace, RunDataset.direction == "in"))
        return [(f"run:{r}", "read by") for r in runs]

    def _external_up(self, key: str) -> list[tuple[str, str]]:
        namespace, _, name = key.partition("\x1f")
        runs = self.session.scalars(select(RunDataset.run_id).where(
            RunDataset.dataset_name == name, RunDataset.namespace == namespace, RunDataset.direction == "out"))
        return [(f"run:{r}", "wrote") for r in runs]

    def _column_down(self, key: str) -> list[tuple[str, str]]:
        dataset, _, column = key.partition("\x1f")
        found = [(f"version:{v.id}", "part of") for v in self.versions_with_column(dataset, column)]
        if not found and self.session.scalar(select(Dataset.id).where(Dataset.name == dataset)) is not None:
            found.append((f"dataset:{dataset}", "part of"))
        derived = {tuple(row) for row in self.session.execute(
            select(ColumnLineage.output_dataset, ColumnLineage.output_column).where(
                ColumnLineage.input_dataset == dataset, ColumnLineage.input_column == column))}
        return found + [(_column_node(d, c), "computes") for d, c in sorted(derived)]

    def _column_up(self, key: str) -> list[tuple[str, str]]:
        """Explicit column lineage, plus the column of the same name in the versions this dataset's versions
        were derived from or written from."""
        dataset, _, column = key.partition("\x1f")
        sources = {tuple(row) for row in self.session.execute(
            select(ColumnLineage.input_dataset, ColumnLineage.input_column).where(
                ColumnLineage.output_dataset == dataset, ColumnLineage.output_column == column))}
        ids = [v.id for v in self.versions_with_column(dataset, column)]
        if ids:
            parents = set(self.session.scalars(select(VersionParent.parent_id)
                                               .where(VersionParent.version_id.in_(ids))))
            writers = select(RunDataset.run_id).where(RunDataset.version_id.in_(ids), RunDataset.direction == "out")
            parents |= set(self.session.scalars(select(RunDataset.version_id).where(
                RunDataset.run_id.in_(writers), RunDataset.direction == "in", RunDataset.version_id.is_not(None))))
            for parent_id in parents:
                found = self.version(parent_id)
                if found and column in _schema_names(found[0]):
                    sources.add((found[1], column))
        return [(_column_node(d, c), "computes") for d, c in sorted(sources)]

    def versions_with_column(self, dataset: str, column: str) -> list[DatasetVersion]:
        rows = self.session.scalars(select(DatasetVersion).join(
            PublishedDataset, PublishedDataset.id == DatasetVersion.published_id)
            .where(PublishedDataset.name == dataset).order_by(DatasetVersion.number))
        kept = [v for v in rows if column in _schema_names(v)]
        for version in kept:
            self.versions[version.id] = (version, dataset)
        return kept

    # -- display ------------------------------------------------------------------------------------------------
    def describe(self, node: str) -> dict[str, Any]:
        kind, _, key = node.partition(":")
        base: dict[str, Any] = {"id": node, "kind": kind, "sublabel": None, "href": None, "status": None}
        if kind == "version":
            version, name = self.version(int(key)) or (None, "?")
            number = version.number if version else 0
            return {**base, "label": f"{name}@v{number}", "dataset": name, "version": f"v{number}",
                    "sublabel": f"{version.rows:,} rows" if version else None,
                    "href": "/versions?" + urlencode({"dataset": name, "version": f"v{number}"})}
        if kind == "dataset":
            return {**base, "label": key, "dataset": key, "sublabel": "crawled dataset",
                    "href": "/datasets/" + _path_quote(key)}
        if kind == "external":
            namespace, _, name = key.partition("\x1f")
            return {**base, "label": name, "dataset": name, "namespace": namespace, "sublabel": namespace}
        if kind == "column":
            dataset, _, column = key.partition("\x1f")
            return {**base, "label": column, "dataset": dataset, "column": column, "sublabel": dataset,
                    "href": "/lineage?" + urlencode({"dataset": dataset, "column": column})}
        if kind == "run":
            run = self.session.get(LineageRun, int(key))
            if run is None:
                return {**base, "label": "run"}
            status = "failed" if run.state in ("failed", "aborted") else None
            return {**base, "label": run.job_name, "run_id": run.run_key, "status": status,
                    "sublabel": f"{run.state} · {run.origin}",
                    "href": "/runs?" + urlencode({"run": run.run_key})}
        model = self.session.get(TrainedModel, int(key))
        if model is None:
            return {**base, "label": "model"}
        return {**base, "label": f"{model.name} {model.version}", "model": model.name, "model_version": model.version,
                "status": model.drift_status, "sublabel": (model.framework or "model") + " · "
                + model.drift_status.replace("_", " "),
                "href": "/models/detail?" + urlencode({"name": model.name, "version": model.version})}


def _published_edge(found: tuple[DatasetVersion, str] | None) -> str:
    """The edge from a crawled dataset to a version published from it: redacted through a recipe, or as is."""
    derivation = (found[0].derivation if found else None) or {}
    return "redacted into" if derivation.get("recipe_hash") else "published as"


def _dataset_node(row: RunDataset) -> str:
    if row.version_id is not None:
        return f"version:{row.version_id}"
    if row.kind == "external":
        return f"external:{row.namespace or ''}\x1f{row.dataset_name}"
    return f"dataset:{row.dataset_name}"


def _column_node(dataset: str, column: str) -> str:
    return f"column:{dataset}\x1f{column}"


def _schema_names(version: DatasetVersion) -> set[str]:
    return {str(field.get("name")) for field in version.schema or [] if isinstance(field, dict)}


def _path_quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="/")


def focus_nodes(session: Session, actor: Actor, focus: Focus) -> list[str]:
    """The node ids a graph starts from (all versions of a published dataset when no version is named)."""
    from catalog.lineage import find_model
    from catalog.versions import find_version

    if focus.model:
        return [f"model:{find_model(session, actor, focus.model, focus.model_version).id}"]
    if focus.run:
        require(actor, Action.READ_METADATA, Resource.catalog())
        run_id = session.scalar(select(LineageRun.id).where(LineageRun.run_key == focus.run))
        if run_id is None:
            raise NotFound(f"run '{focus.run}' does not exist")
        return [f"run:{run_id}"]
    if not focus.dataset:
        raise InvalidInput("say what the graph is about: a dataset (and a version or a column), a model or a run")
    require(actor, Action.READ_METADATA, Resource.dataset(focus.dataset))
    if focus.column:
        _known_dataset(session, focus.dataset)
        return [_column_node(focus.dataset, focus.column)]
    published = session.scalar(select(PublishedDataset.id).where(PublishedDataset.name == focus.dataset))
    if published is not None:
        if focus.version:
            return [f"version:{find_version(session, actor, focus.dataset, focus.version).id}"]
        ids = session.scalars(select(DatasetVersion.id).where(DatasetVersion.published_id == published)
                              .order_by(DatasetVersion.number.desc()))
        return [f"version:{i}" for i in ids]
    if focus.version:
        raise InvalidInput(f"'{focus.dataset}' is a crawled dataset: it has no published versions")
    _known_dataset(session, focus.dataset)
    return [f"dataset:{focus.dataset}"]


def _known_dataset(session: Session, name: str) -> None:
    if (session.scalar(select(Dataset.id).where(Dataset.name == name)) is None
            and session.scalar(select(PublishedDataset.id).where(PublishedDataset.name == name)) is None):
        raise NotFound(f"dataset '{name}' does not exist")


def graph(session: Session, actor: Actor, focus: Focus, direction: str = "both", depth: int = 6,
          max_nodes: int = 200) -> dict[str, Any]:
    """The lineage around `focus`: `{"focus": [ids], "nodes": [...], "edges": [...], "truncated": bool}`."""
    if direction not in DIRECTIONS:
        raise InvalidInput(f"direction must be one of {', '.join(DIRECTIONS)}, not '{direction}'")
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(f"depth must be between 1 and {MAX_DEPTH}")
    if not 1 <= max_nodes <= IMPACT_NODES:
        raise InvalidInput(f"max_nodes must be between 1 and {IMPACT_NODES}")
    walker = _Walker(session, actor, focus.column if focus.dataset else None)
    starts = focus_nodes(session, actor, focus)
    nodes: dict[str, int] = {}
    edges: set[tuple[str, str, str]] = set()
    truncated = False
    for downstream in ([True] if direction == "down" else [False] if direction == "up" else [True, False]):
        seen, cut = _walk(walker, starts, downstream, depth, max_nodes - len(nodes), edges)
        truncated |= cut
        for node, distance in seen.items():
            nodes[node] = min(distance, nodes.get(node, distance))
    return {
        "focus": starts,
        "nodes": [{**walker.describe(n), "distance": d} for n, d in sorted(nodes.items(), key=lambda i: (i[1], i[0]))],
        "edges": [{"source": s, "target": t, "label": lb} for s, t, lb in sorted(edges) if s in nodes and t in nodes],
        "truncated": truncated,
    }


def _walk(walker: _Walker, starts: Iterable[str], downstream: bool, depth: int, budget: int,
          edges: set[tuple[str, str, str]]) -> tuple[dict[str, int], bool]:
    """Breadth-first from `starts`; edges are stored in data-flow direction whichever way we walk."""
    seen: dict[str, int] = {}
    queue: deque[str] = deque()
    for start in starts:
        if walker.visible(start) and start not in seen:
            seen[start] = 0
            queue.append(start)
    truncated = False
    while queue:
        node = queue.popleft()
        if seen[node] >= depth:
            truncated = truncated or bool(walker.neighbours(node, downstream))
            continue
        for other, label in walker.neighbours(node, downstream):
            if other not in seen:
                if len(seen) >= budget:
                    truncated = True
                    continue
                if not walker.visible(other):
                    continue
                seen[other] = seen[node] + 1
                queue.append(other)
            edges.add((node, other, label) if downstream else (other, node, label))
    return seen, truncated


def impact(session: Session, actor: Actor, dataset: str | None = None, version: str | None = None,
           column: str | None = None, label: str | None = None) -> dict[str, Any]:
    """Models trained, directly or through derived data, on a version, on any version of a dataset, on any
    version containing a column, or on any data carrying a classification label (e.g. `pii.email`)."""
    walker = _Walker(session, actor, None if label else column)
    if label:
        require(actor, Action.READ_METADATA, Resource.catalog())
        if dataset or version or column:
            raise InvalidInput("ask for the impact of a label alone, or of a dataset (with a version or column)")
        starts = _nodes_with_label(session, walker, label.strip())
        subject: dict[str, Any] = {"label": label.strip()}
    else:
        starts = focus_nodes(session, actor, Focus(dataset=dataset, version=version, column=column))
        subject = {"dataset": dataset, "version": version, "column": column}
    seen, truncated = _walk(walker, starts, True, MAX_DEPTH * 2, IMPACT_NODES, set())
    models = []
    for node, distance in sorted(seen.items(), key=lambda i: (i[1], i[0])):
        if node.startswith("model:"):
            model = session.get(TrainedModel, int(node.split(":", 1)[1]))
            if model is None:
                continue
            models.append({"name": model.name, "version": model.version, "framework": model.framework,
                           "drift_status": model.drift_status, "direct": distance <= (3 if column else 2),
                           "trained_on": _trained_on(session, walker, model)})
    return {**subject, "models": models, "runs": sum(1 for n in seen if n.startswith("run:")),
            "truncated": truncated}


def _trained_on(session: Session, walker: _Walker, model: TrainedModel) -> list[str]:
    if model.run_id is None:
        return []
    rows = session.scalars(select(RunDataset).where(RunDataset.run_id == model.run_id, RunDataset.direction == "in"))
    names = []
    for row in rows:
        node = _dataset_node(row)
        if walker.visible(node):
            info = walker.describe(node)
            names.append(info["label"] if row.kind != "external" else f"{row.namespace}/{row.dataset_name}")
    return names


def _nodes_with_label(session: Session, walker: _Walker, label: str) -> list[str]:
    """Versions whose publish-time PII scan found `label` (allowed with a justification, since blocked data is
    never published), and crawled datasets with a column carrying it (unless a person rejected it). A label
    ending in `.` or a bare prefix such as `pii` matches every label under it."""
    if not label or len(label) > 100:
        raise InvalidInput("a label such as 'pii.email' (or a prefix such as 'pii') is required")

    def matches(found: str) -> bool:
        return found == label or found.startswith(label.rstrip(".") + ".")

    read = select(RunDataset.version_id).where(RunDataset.version_id.is_not(None))
    derived = select(VersionParent.parent_id)
    candidates = session.scalars(select(DatasetVersion).where(
        DatasetVersion.id.in_(read) | DatasetVersion.id.in_(derived)))
    starts = [f"version:{v.id}" for v in candidates
              if any(matches(str(f.get("label", ""))) for f in (v.pii_scan or {}).get("findings", []))]
    labelled = session.execute(select(Dataset.name, Classification.label).join(
        Classification, Classification.dataset_id == Dataset.id).where(Classification.status != "rejected"))
    for name, found in labelled.all():
        if matches(found):
            published = session.scalar(select(PublishedDataset.id).where(PublishedDataset.name == name))
            if published is None:
                starts.append(f"dataset:{name}")
            else:
                starts += [f"version:{i}" for i in session.scalars(
                    select(DatasetVersion.id).where(DatasetVersion.published_id == published))]
    return sorted(set(starts))


def dataset_lineage(session: Session, actor: Actor, name: str, limit: int = 100) -> dict[str, Any]:
    """One step of lineage around a dataset for `catalog show` and its page: the runs that read or wrote it
    (any version), the models those runs trained, and the versions it was derived from. The caller has already
    checked `read_metadata` on the dataset."""
    version_numbers = dict(session.execute(
        select(DatasetVersion.id, DatasetVersion.number).join(
            PublishedDataset, PublishedDataset.id == DatasetVersion.published_id)
        .where(PublishedDataset.name == name)).all())
    mentions = (RunDataset.version_id.in_(version_numbers) if version_numbers
                else (RunDataset.dataset_name == name) & RunDataset.version_id.is_(None)
                & RunDataset.namespace.is_(None))
    rows = session.execute(select(RunDataset, LineageRun).join(LineageRun, LineageRun.id == RunDataset.run_id)
                           .where(mentions).order_by(LineageRun.created_at.desc(), RunDataset.id)
                           .limit(limit * 2)).all()

    def entry(row: RunDataset, run: LineageRun) -> dict[str, Any]:
        number = version_numbers.get(row.version_id or 0)
        return {"run_id": run.run_key, "job": run.job_name, "state": run.state,
                "version": f"v{number}" if number else None, "at": (run.ended_at or run.created_at).isoformat()}

    read_runs = {run.id: (row, run) for row, run in rows if row.direction == "in"}
    models = session.scalars(select(TrainedModel).where(TrainedModel.run_id.in_(read_runs))
                             .order_by(TrainedModel.created_at.desc()).limit(limit)) if read_runs else []
    walker = _Walker(session, actor)
    parents = session.execute(select(VersionParent.version_id, VersionParent.parent_id)
                              .where(VersionParent.version_id.in_(version_numbers))).all()
    derived_from = []
    for child, parent in parents:
        if walker.visible(f"version:{parent}"):
            found = walker.version(parent)
            if found:
                derived_from.append({"version": f"v{version_numbers[child]}",
                                     "from": f"{found[1]}@v{found[0].number}"})
    return {
        "read_by": [entry(row, run) for row, run in rows if row.direction == "in"][:limit],
        "written_by": [entry(row, run) for row, run in rows if row.direction == "out"][:limit],
        "models": [{"name": m.name, "version": m.version, "drift_status": m.drift_status,
                    "trained_on": read_runs[m.run_id][0].version_id and
                    f"v{version_numbers.get(read_runs[m.run_id][0].version_id)}"}
                   for m in models if can(actor, Action.READ_METADATA, Resource.model(m.name))],
        "derived_from": derived_from,
    }
