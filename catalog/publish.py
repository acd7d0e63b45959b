"""Publishing a dataset version: stage, check, then accept atomically (or leave nothing behind).

1. Stage: the input becomes one deterministic Parquet file next to the DVC cache, hashed (sha256 + md5).
2. Check (`publish_gates`): rows, declared columns, PII, the Great Expectations suite. A failure raises
   `PublishRejected` with every gate's result; the staged file is deleted, nothing else was written.
3. Accept, under the repository lock: the object moves into the DVC cache and goes to the remote, the version
   row is inserted (the unique (dataset, number) pair makes a second v3 impossible), the `.dvc` file is
   committed and tagged, then the row commits. If anything fails after the tag, the tag and pointer are undone.
   A crash between tag and row leaves an orphan tag, which the next publish of that dataset removes.
4. Sync: the published source is crawled so the catalog's dataset (search, pages, annotation) shows the version.

Publishing from a crawled dataset can go through a redaction recipe (`catalog.redaction`): the one given, else
the one stored with the published dataset. The recipe and the HMAC key are checked against the source's schema
before anything is read or written; rows then stream source -> recipe -> staged Parquet one batch at a time
(reading overlaps redacting on a second thread), and the normal gates run on the redacted file. The version
records its source dataset and schema version, the recipe (content and hash) and the key's fingerprint.

Optimistic concurrency: a publish records which version it was built on (`base`, the latest when it started,
or what the caller passes); if another publish landed meanwhile, it is a `Conflict`, never a silent v4.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog import audit, recipes, redaction
from catalog import publish_gates as gates
from catalog.access import Action, Actor, Resource, require
from catalog.db import session_factory
from catalog.errors import CatalogError, Conflict, InvalidInput, NotFound, PublishRejected, SourceUnavailable
from catalog.models import Dataset, DatasetVersion, PublishedDataset, Source, VersionParent, utcnow
from catalog.publish_input import Staged, stage, stage_batches, stage_path, sweep_staging
from catalog.settings import Settings
from catalog.sources import SOURCE_NAME
from catalog.version_repo import VersionRepo
from catalog.versions import find_version, version_view

SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_SEGMENTS = 8
MAX_MESSAGE = 2000


@dataclass(frozen=True)
class PublishOptions:
    """What a publisher declares along with the data."""

    message: str | None = None
    parents: tuple[str, ...] = ()  # versions this one was derived from: "name@v2", "name@<hash prefix>"
    allow_pii: Mapping[str, str] = field(default_factory=dict)  # column -> justification
    allow_schema_change: str | None = None  # justification for removing or retyping declared columns
    base: int | None = None  # the version number this publish expects to follow (None: the latest at start)
    recipe: redaction.Recipe | None = None  # redaction recipe for a dataset source (None: the stored one, if any)


def parse_allowance(item: str, what: str = "allow_pii") -> tuple[str, str]:
    """One `COLUMN=JUSTIFICATION` allowance as the CLI and the API take it."""
    column, sep, reason = item.partition("=")
    if not sep or not column.strip():
        raise InvalidInput(f"{what} '{item[:100]}' must be COLUMN=JUSTIFICATION")
    return column.strip(), reason.strip()


def validate_name(name: str) -> str:
    """A published dataset name: `<space>/<path>`, safe as a file path and a git tag (no `..`, no absolute
    path, no `@`, no `.lock` endings). `space` follows the source-name rules."""
    name = (name or "").strip()
    segments = name.split("/")
    problem = None
    if name.startswith("/") or "\\" in name:
        problem = "must be relative (no leading '/' or '\\')"
    elif ".." in name:
        problem = "must not contain '..'"
    elif len(segments) < 2 or len(segments) > MAX_SEGMENTS:
        problem = f"needs 2 to {MAX_SEGMENTS} parts: <space>/<name>, e.g. team/churn_features"
    elif not SOURCE_NAME.match(segments[0]) or not all(SEGMENT.match(s) for s in segments[1:]):
        problem = "parts may hold letters, digits, '_', '-' and '.', starting with a letter or digit"
    elif any(s.endswith((".lock", ".")) for s in segments):
        problem = "parts must not end with '.lock' or '.'"
    if problem:
        raise InvalidInput(f"dataset name '{name[:200]}' is invalid: {problem}")
    return name


def publish(settings: Settings, actor: Actor, name: str, *, data: Any = None, path: str | Path | None = None,
            dataset: str | None = None, options: PublishOptions | None = None, origin: str | None = None
            ) -> dict[str, Any]:
    """Publish one version from exactly one of `data` (table/DataFrame), `path` (file/folder) or `dataset`;
    `origin` overrides how the version's source is described (an HTTP upload's temporary file name is noise)."""
    options = options or PublishOptions()
    name = validate_name(name)
    require(actor, Action.PUBLISH, Resource.dataset(name))
    if sum(x is not None for x in (data, path, dataset)) != 1:
        raise InvalidInput("publish from exactly one of: a table, a file or folder, a catalog dataset")
    if options.message and len(options.message) > MAX_MESSAGE:
        raise InvalidInput(f"message is longer than {MAX_MESSAGE} characters")
    if options.recipe is not None and dataset is None:
        raise InvalidInput("a redaction recipe applies when publishing from a crawled dataset (--from DATASET); "
                           "crawl the file's folder as a source first, or clean the file before publishing it")
    sessions = session_factory(settings)
    with sessions() as session:
        context = _context(session, actor, name, options)
    source = _open_source(settings, actor, dataset, options, context) if dataset is not None else None
    repo = VersionRepo(settings)
    repo.ensure()
    sweep_staging(repo.staging_dir())
    staged = _stage(repo, data, path, source, origin)
    try:
        report = _check(settings, staged, name, context, options)
        _next_suite(context, name)
        result = _accept(settings, repo, actor, name, staged, context, options, report, source)
    finally:
        staged.discard()
    if result["status"] == "published":
        result["catalog"] = _sync_catalog(settings, repo, name, actor, first=result["version"]["number"] == 1)
    return result


@dataclass
class _Context:
    declared: list[dict[str, Any]]
    suite: dict[str, Any] | None
    base: int
    parent_ids: list[int]
    decisions: dict[str, dict[str, str]]
    validation_table: pa.Table | None = None  # the rows the suite ran on, reused to derive the default suite
    next_suite: dict[str, Any] | None = None  # the regenerated default suite, when the suite is not a person's
    suite_origin: str | None = None
    stored_recipe: dict[str, Any] | None = None  # the published dataset's recipe, applied when none is given


@dataclass(frozen=True)
class _Source:
    """A crawled dataset to publish from, checked and ready: nothing has been read from it yet."""

    export: Any  # catalog.export.Export
    recipe: redaction.Recipe | None
    key: bytes | None
    recipe_given: bool  # passed with this publish (and so stored with the dataset when it lands)

    def derivation(self) -> dict[str, Any]:
        """How the version was derived, as the version records it (never the key, only its fingerprint)."""
        recipe = self.recipe
        return {"source": {"dataset": self.export.dataset, "schema_version": self.export.schema_version,
                           "kind": self.export.source_kind},
                "recipe": recipe.as_dict() if recipe else None,
                "recipe_hash": redaction.recipe_hash(recipe) if recipe else None,
                "key_fingerprint": redaction.key_fingerprint(self.key) if self.key else None,
                "recipe_origin": None if recipe is None else "given" if self.recipe_given else "stored"}


def _context(session: Session, actor: Actor, name: str, options: PublishOptions) -> _Context:
    space = name.split("/", 1)[0]
    source = session.scalar(select(Source).where(Source.name == space))
    if source is not None and source.kind != "published":
        raise InvalidInput(f"'{space}' is a crawled {source.kind} source: publish under another first part "
                           f"(e.g. '{space}_published/{name.split('/', 1)[1]}')")
    published = session.scalar(select(PublishedDataset).where(PublishedDataset.name == name))
    latest = 0
    if published is not None:
        latest = session.scalar(select(func.max(DatasetVersion.number))
                                .where(DatasetVersion.published_id == published.id)) or 0
    parent_ids = [find_version(session, actor, *_split_ref(ref)).id for ref in options.parents]
    return _Context(declared=list(published.columns) if published else [],
                    suite=published.suite if published else None,
                    suite_origin=published.suite_origin if published else None,
                    stored_recipe=published.recipe if published else None,
                    base=latest if options.base is None else options.base,
                    parent_ids=parent_ids, decisions=_decisions(session, name))


def _split_ref(ref: str) -> tuple[str, str]:
    dataset, sep, version = ref.rpartition("@")
    if not sep or not dataset or not version:
        raise InvalidInput(f"parent '{ref}' must look like <dataset>@v<N> or <dataset>@<hash prefix>")
    return dataset, version


def _decisions(session: Session, name: str) -> dict[str, dict[str, str]]:
    """People's label decisions on the catalog dataset of this name (from earlier versions)."""
    from catalog.models import Classification

    rows = session.execute(select(Classification.column_name, Classification.label, Classification.status)
                           .join(Dataset, Dataset.id == Classification.dataset_id)
                           .where(Dataset.name == name, Classification.status.in_(("confirmed", "rejected"))))
    found: dict[str, dict[str, str]] = {}
    for column, label, status in rows:
        found.setdefault(column, {})[label] = status
    return found


def _open_source(settings: Settings, actor: Actor, dataset: str, options: PublishOptions, context: _Context
                 ) -> _Source:
    """Settle the source's schema and the recipe (given, else stored) and check both, key included, before a
    row is read or anything is written."""
    from catalog.export import open_export

    export = open_export(settings, actor, dataset)
    recipe = options.recipe
    if recipe is None and context.stored_recipe is not None:
        recipe = redaction.parse_recipe(context.stored_recipe)
    key = None
    if recipe is not None:
        try:
            redaction.validate(recipe, export.schema)
            key = redaction.load_key(recipe) if recipe.needs_key else None
        except InvalidInput as exc:
            if options.recipe is not None:
                raise
            raise InvalidInput(f"the recipe stored with this dataset (see `catalog recipe show`) does not fit "
                               f"{dataset}: {exc}") from None
    return _Source(export, recipe, key, options.recipe is not None)


def _stage(repo: VersionRepo, data: Any, path: str | Path | None, source: _Source | None, origin: str | None
           ) -> Staged:
    staging = repo.staging_dir()
    if data is not None:
        return stage(data, staging, origin or "table")
    if path is not None:
        return stage_path(Path(path), staging, origin)
    assert source is not None
    from catalog.redact_pool import redact_batches, worker_count
    from catalog.streams import prefetch
    from connectors.base import ConnectorError

    export = source.export
    batches = prefetch(export.batches())
    described = f"dataset {export.dataset}"
    schema = export.schema
    if source.recipe is not None:
        schema = redaction.output_schema(source.recipe, export.schema)
        described += f" through recipe {redaction.recipe_hash(source.recipe)[:12]}"
        batches = redact_batches(source.recipe, export.schema, source.key, batches,
                                 worker_count(export.rows_estimate))
    try:
        return stage_batches(schema, batches, staging, described)
    except ConnectorError as exc:
        raise SourceUnavailable(f"{exc}; nothing was published: publish again once the source answers") from None


def _check(settings: Settings, staged: Staged, name: str, context: _Context, options: PublishOptions
           ) -> dict[str, Any]:
    gates.check_allowances(options.allow_pii, staged.schema)
    results = [gates.check_rows(staged.rows)]
    if staged.rows:
        results.append(gates.check_schema(context.declared, staged.schema, options.allow_schema_change))
        results.append(gates.scan_pii(staged.path, settings.sample_rows, options.allow_pii, context.decisions, name))
        table, total, sampled = gates.read_rows_for_validation(staged.path, settings.validate_rows)
        results.append(gates.run_suite(table, total, sampled, _suite_for(context, results[1])))
        context.validation_table = table
    report = {"dataset": name, "rows": staged.rows, "size": staged.digest.size,
              "content_hash": staged.digest.sha256, "origin": staged.origin, "gates": results}
    failed = [r for r in results if not r["passed"]]
    if failed:
        messages = "; ".join(f"{r['gate']}: {r.get('message') or 'failed'}" for r in failed)
        raise PublishRejected(f"publish of '{name}' rejected: {messages}", {**report, "status": "rejected"})
    return report


def _suite_for(context: _Context, schema_gate: dict[str, Any]) -> dict[str, Any] | None:
    """The suite to run. A generated suite describes the previous declared columns, so once a publisher has
    justified removing or retyping some, its expectations on those columns (and on the exact column set) go;
    a person's suite is run as written: they change it themselves."""
    suite = context.suite
    if not suite or not schema_gate.get("breaking") or not (context.suite_origin or "").startswith("default"):
        return suite
    broken = {c["name"] for c in schema_gate["removed"]} | {c["name"] for c in schema_gate["type_changed"]}
    kept = [e for e in suite.get("expectations", [])
            if (e.get("kwargs") or {}).get("column") not in broken
            and e.get("type") != "expect_table_columns_to_match_set"]
    return {**suite, "expectations": kept}


def _accept(settings: Settings, repo: VersionRepo, actor: Actor, name: str, staged: Staged, context: _Context,
            options: PublishOptions, report: dict[str, Any], source: _Source | None) -> dict[str, Any]:
    sessions = session_factory(settings)
    tagged: tuple[str, str | None, int | None] | None = None  # (tag, previous md5, previous size)
    with repo.lock():
        try:
            with sessions.begin() as session:
                published = _published_row(session, actor, name)
                if source is not None and source.recipe_given and source.recipe is not None:
                    recipes.store(published, source.recipe, source.export.dataset, actor)
                latest = session.scalar(select(DatasetVersion).where(DatasetVersion.published_id == published.id)
                                        .order_by(DatasetVersion.number.desc()).limit(1))
                if latest is not None and latest.content_hash == staged.digest.sha256:
                    return {"status": "unchanged", "version": version_view(session, name, latest),
                            "report": {**report, "status": "unchanged"}}
                number = (latest.number if latest else 0) + 1
                if number - 1 != context.base:
                    raise Conflict(f"'{name}' moved on while this publish ran: v{number - 1} is the latest now, "
                                   f"this one was built on v{context.base}; check v{number - 1} and publish again")
                _drop_orphan_tags(repo, name, number - 1)
                repo.adopt(staged.path, staged.digest.md5)
                repo.push(staged.digest.md5)
                version = _version_row(published, number, staged, actor, options, report, repo.tag_of(name, number),
                                       repo.data_path(name))
                if source is not None:
                    version.source_dataset = source.export.dataset
                    version.derivation = source.derivation()
                session.add(version)
                session.flush()
                session.add_all(VersionParent(version_id=version.id, parent_id=p) for p in set(context.parent_ids))
                message = f"{name} v{number} by {actor.name}" + (f": {options.message}" if options.message else "")
                tagged = (version.tag, latest.md5 if latest else None, latest.size if latest else None)
                version.git_commit = repo.commit_version(name, number, staged.digest.md5, staged.digest.size,
                                                         message, actor.name)
                _declare(published, staged.schema, context, version)
                audit.record(session, actor, "version.publish", f"{name}@v{number}",
                             {"sha256": staged.digest.sha256, "rows": staged.rows, "origin": staged.origin,
                              "pii_allowed": sorted(options.allow_pii),
                              **({"recipe_hash": version.derivation["recipe_hash"]} if version.derivation else {})})
                session.flush()
                view = version_view(session, name, version)
        except IntegrityError:
            _undo(repo, name, tagged)
            raise Conflict(f"another publish of '{name}' got there first; check its latest version and publish "
                           "again") from None
        except BaseException:
            _undo(repo, name, tagged)
            raise
    return {"status": "published", "version": view, "report": {**report, "status": "published"}}


def _published_row(session: Session, actor: Actor, name: str) -> PublishedDataset:
    published = session.scalar(select(PublishedDataset).where(PublishedDataset.name == name).with_for_update())
    if published is None:
        published = PublishedDataset(name=name, columns=[], created_by=actor.name, created_at=utcnow())
        session.add(published)
        session.flush()
    return published


def _version_row(published: PublishedDataset, number: int, staged: Staged, actor: Actor, options: PublishOptions,
                 report: dict[str, Any], tag: str, path: str) -> DatasetVersion:
    by_gate = {g["gate"]: g for g in report["gates"]}
    schema_gate = by_gate.get("schema", {})
    return DatasetVersion(
        published_id=published.id, number=number, content_hash=staged.digest.sha256, md5=staged.digest.md5,
        size=staged.digest.size, rows=staged.rows, schema=schema_of(staged.schema), publisher=actor.name,
        message=options.message, origin=staged.origin, path=path, tag=tag, git_commit="",
        pii_allowed=[{"column": c, "justification": j.strip(), "by": actor.name}
                     for c, j in sorted(options.allow_pii.items())],
        pii_scan=by_gate.get("pii", {}), validation=by_gate.get("quality", {}),
        schema_change={k: schema_gate.get(k) for k in ("added", "removed", "type_changed", "justification")},
        created_at=utcnow(),
    )


def schema_of(schema: pa.Schema) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


def _next_suite(context: _Context, name: str) -> None:
    """A generated suite follows the data (derived from the version being accepted); a person's never changes."""
    if context.validation_table is None or (context.suite is not None
                                            and not (context.suite_origin or "").startswith("default")):
        return
    from catalog.quality import default_suite

    context.next_suite = default_suite(context.validation_table, name)


def _declare(published: PublishedDataset, schema: pa.Schema, context: _Context, version: DatasetVersion) -> None:
    """The new version's columns become the declared ones; a regenerated default suite is stored."""
    published.columns = schema_of(schema)
    if context.next_suite is not None:
        published.suite = context.next_suite
        published.suite_origin = f"default from v{version.number}"
        published.suite_updated_by = "catalog"
        published.suite_updated_at = utcnow()


def _drop_orphan_tags(repo: VersionRepo, name: str, latest: int) -> None:
    """Tags past the latest recorded version come from a publish that crashed before its row committed."""
    for tag in repo.tags_of(name):
        if int(tag.rsplit("@v", 1)[1]) > latest:
            repo.delete_tag(tag)


def _undo(repo: VersionRepo, name: str, tagged: tuple[str, str | None, int | None] | None) -> None:
    if tagged is None:
        return
    tag, md5, size = tagged
    try:
        repo.delete_tag(tag)
        repo.restore_pointer(name, md5, size, f"catalog: undo {tag} (its version could not be recorded)")
    except CatalogError:
        pass  # the orphan tag is removed by the next publish of this dataset


def _sync_catalog(settings: Settings, repo: VersionRepo, name: str, actor: Actor, first: bool) -> dict[str, Any]:
    """Crawl the published source so the catalog's dataset shows the new version; a failure here is reported,
    not raised: the version itself is already safely recorded."""
    from catalog.crawl import crawl_source
    from catalog.db import session_scope

    space = name.split("/", 1)[0]
    system = Actor.system()
    with session_scope(settings) as session:
        if session.scalar(select(Source.id).where(Source.name == space)) is None:
            session.add(Source(name=space, kind="published", url=f"dvc+file://{repo.root}",
                               options={"prefix": f"data/{space}"}))
    summary = crawl_source(settings, system, space)
    if first and summary.get("status") != "failed":
        from catalog.stewardship import change

        with session_scope(settings) as session:
            try:
                change(session, system, name, "owner", actor.name, "add")
            except (NotFound, InvalidInput):
                pass
    return {"crawl": summary.get("status"), "error": summary.get("error")}
