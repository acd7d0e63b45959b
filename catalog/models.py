"""SQLAlchemy 2.0 models of crawled facts.

Crawled facts (what a connector saw) live in `sources` ... `crawl_runs`. What the annotator derives from samples
(`profiles`) and the labels people review (`classifications`) live in their own tables, keyed by dataset id and
column name, so a re-crawl that rewrites the crawled rows never touches a human decision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    """A registered source. `url` never holds a plain-text password: only `${ENV}` placeholders."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    datasets: Mapped[list[Dataset]] = relationship(back_populates="source", passive_deletes=True)


class Dataset(Base):
    """A table, view, collection or file set. `name` is `<source>/<path inside the source>`."""

    __tablename__ = "datasets"
    __table_args__ = (Index("ix_datasets_source_id_path", "source_id", "path", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1000), unique=True)
    path: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(40))
    row_estimate: Mapped[int | None] = mapped_column(BigInteger)
    native_comment: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    schema_hash: Mapped[str] = mapped_column(String(64))
    facts_hash: Mapped[str] = mapped_column(String(64))
    # Digest computed by the source itself (when its connector can): equal means "not re-read needed".
    source_fingerprint: Mapped[str | None] = mapped_column(String(100))
    # Observations that drift without being a change (documents sampled, file count, bytes): not hashed.
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_changed: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()

    source: Mapped[Source] = relationship(back_populates="datasets")
    columns: Mapped[list[Column]] = relationship(
        back_populates="dataset", order_by="Column.ordinal", passive_deletes=True
    )
    schema_versions: Mapped[list[SchemaVersion]] = relationship(
        back_populates="dataset", order_by="SchemaVersion.version", passive_deletes=True
    )

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


class Column(Base):
    """A column (or a nested field of a document) of the current schema of a dataset."""

    __tablename__ = "columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(1000))
    native_type: Mapped[str] = mapped_column(Text)
    normalized_type: Mapped[str] = mapped_column(String(40))
    nullable: Mapped[bool] = mapped_column(Boolean, default=True)
    native_comment: Mapped[str | None] = mapped_column(Text)
    nested_path: Mapped[str | None] = mapped_column(String(1000))
    is_primary_key: Mapped[bool] = mapped_column(Boolean, default=False)
    foreign_key: Mapped[str | None] = mapped_column(String(2000))
    # Sample observations (type shares, presence ratio) from the latest crawl; not part of the schema.
    stats: Mapped[dict[str, Any] | None] = mapped_column()

    dataset: Mapped[Dataset] = relationship(back_populates="columns")


class SchemaVersion(Base):
    """One distinct schema of a dataset over time: its content hash, the columns and the diff to the previous."""

    __tablename__ = "schema_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    schema_hash: Mapped[str] = mapped_column(String(64))
    columns: Mapped[list[Any]] = mapped_column()
    diff: Mapped[dict[str, Any]] = mapped_column(default=dict)
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="schema_versions")


class CrawlRun(Base):
    """One crawl of one source: when, how it ended, what changed and what went wrong."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="running")
    new_count: Mapped[int] = mapped_column(Integer, default=0)
    changed_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    deleted_count: Mapped[int] = mapped_column(Integer, default=0)
    restored_count: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)


class Profile(Base):
    """A bounded sample's profile of one dataset at one schema version; re-profiling the version replaces it.

    `columns` maps each column name to its profile (null share, distinct estimate, ranges, histogram, top
    values, masked examples). One JSON document per dataset keeps a 500-column table one row, not 500.
    """

    __tablename__ = "profiles"
    __table_args__ = (UniqueConstraint("dataset_id", "schema_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    schema_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # profiled, unsupported (no rows to read), failed
    rows_sampled: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int | None] = mapped_column(BigInteger)
    method: Mapped[str | None] = mapped_column(Text)
    columns: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    profiled_at: Mapped[datetime] = mapped_column(default=utcnow)


class Classification(Base):
    """One label (e.g. `pii.email`) on one column, with the evidence behind it and a person's decision.

    `status` is suggested (the classifier's), confirmed or rejected (a person's). Re-evaluation refreshes the
    confidence and evidence of every row but changes the status of none that a person decided.
    """

    __tablename__ = "classifications"
    __table_args__ = (UniqueConstraint("dataset_id", "column_name", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    column_name: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float | None] = mapped_column(Float)
    match_share: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    classifier: Mapped[str | None] = mapped_column(String(100))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    evaluated_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Description(Base):
    """The description of a column (or, with `column_name` empty, of the dataset) written by AI or a person.

    One row per column: the AI's suggestion until a person accepts, edits or rejects it. `source` says who wrote
    the text (`ai:<backend>/<model>`, `human:<user>`); a row a person wrote or accepted is never overwritten by
    the annotator. `signature` hashes what the text was written from (name, type, table, profile facts, labels,
    backend, model, prompt version): the annotator writes again only when it changes.
    """

    __tablename__ = "descriptions"
    __table_args__ = (UniqueConstraint("dataset_id", "column_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    column_name: Mapped[str] = mapped_column(String(1000))  # "" for the dataset itself
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))  # suggested, accepted, rejected
    confidence: Mapped[float | None] = mapped_column(Float)
    prompt_version: Mapped[str | None] = mapped_column(String(40))
    signature: Mapped[str | None] = mapped_column(String(64))
    fallback: Mapped[str | None] = mapped_column(Text)  # why the configured backend was not used
    ai_text: Mapped[str | None] = mapped_column(Text)  # the AI's text when a person edited it
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchDocument(Base):
    """The text by which a dataset (`column_name` "") or a column is found, and what of it the indexes hold.

    `text_hash` is the hash of the current text, `indexed_hash` that of the text the keyword and vector indexes
    last took: `catalog index` sends only rows where they differ. `dataset_id` becomes NULL when the dataset row
    goes (a removed source), so the next index run still knows which ids to drop from the index files.
    """

    __tablename__ = "search_documents"
    __table_args__ = (UniqueConstraint("dataset_id", "column_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), index=True)
    column_name: Mapped[str] = mapped_column(String(1000))
    name: Mapped[str] = mapped_column(String(1000))  # the column's name, or the dataset's full name
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    indexed_hash: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class _DatasetMark:
    """A value a person attached to a dataset (a tag, an owner): who added it and when. Crawls never touch it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetTag(_DatasetMark, Base):
    """A tag a person put on a dataset (`finance`, `gold`, `deprecated`)."""

    __tablename__ = "dataset_tags"
    __table_args__ = (UniqueConstraint("dataset_id", "tag"),)

    tag: Mapped[str] = mapped_column(String(100))


class DatasetOwner(_DatasetMark, Base):
    """A person or team answerable for a dataset; several may share one."""

    __tablename__ = "dataset_owners"
    __table_args__ = (UniqueConstraint("dataset_id", "owner"),)

    owner: Mapped[str] = mapped_column(String(200))


class PublishedDataset(Base):
    """A dataset that teams publish as immutable versions (Parquet tracked with DVC), with its quality suite.

    Kept apart from `datasets` (what crawls saw) on purpose: a version's history must outlive any crawl, source
    removal or rename. The catalog's `datasets` row of the same name is produced by crawling the versions
    repository, so search, annotation and pages treat published data like any other table.
    `columns` are the declared columns (name, type, nullable) a new version must keep unless the publisher
    declares the break; `suite` is the Great Expectations suite every new version must pass.
    """

    __tablename__ = "published_datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(1000), unique=True)
    columns: Mapped[list[Any]] = mapped_column(default=list)
    suite: Mapped[dict[str, Any] | None] = mapped_column()
    suite_origin: Mapped[str | None] = mapped_column(String(200))  # "default from v3", "human:<user>"
    suite_updated_by: Mapped[str | None] = mapped_column(String(200))
    suite_updated_at: Mapped[datetime | None] = mapped_column()
    # The redaction recipe (canonical form, see catalog.redaction) applied when publishing from `recipe_source`,
    # a crawled dataset; stored so the next publish repeats the same cleaning and reviewers can read it.
    recipe: Mapped[dict[str, Any] | None] = mapped_column()
    recipe_source: Mapped[str | None] = mapped_column(String(1000))
    recipe_updated_by: Mapped[str | None] = mapped_column(String(200))
    recipe_updated_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetVersion(Base):
    """One immutable published version: its bytes are identified by `content_hash` (sha256) and `md5` (DVC's).

    Rows are only ever inserted. `number` is unique per dataset, so two concurrent publishes cannot both become
    v3: the database refuses the second. `validation` and `pii_scan` hold checks' results without data values.
    """

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("published_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    published_id: Mapped[int] = mapped_column(ForeignKey("published_datasets.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    schema: Mapped[list[Any]] = mapped_column(default=list)
    publisher: Mapped[str] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(Text)  # what it was published from: a file, a dataset, a table
    path: Mapped[str] = mapped_column(String(1200))  # the DVC-tracked path inside the versions repository
    tag: Mapped[str] = mapped_column(String(1100))
    git_commit: Mapped[str] = mapped_column(String(64))
    pii_allowed: Mapped[list[Any]] = mapped_column(default=list)
    pii_scan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    validation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    schema_change: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Published from a crawled dataset: its name (a lineage edge), and `derivation` says how: the dataset's
    # schema version, the redaction recipe (content and hash) and the HMAC key's fingerprint (never the key).
    source_dataset: Mapped[str | None] = mapped_column(String(1000), index=True)
    derivation: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parents: Mapped[list[VersionParent]] = relationship(
        foreign_keys="VersionParent.version_id", order_by="VersionParent.parent_id", passive_deletes=True
    )


class VersionParent(Base):
    """Derived-from: version `version_id` was made from version `parent_id` (of any published dataset)."""

    __tablename__ = "version_parents"
    __table_args__ = (UniqueConstraint("version_id", "parent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"), index=True)


class LineageRun(Base):
    """One execution of a job (a training run, a cleaning step) with what it read and wrote.

    `run_key` is the caller's identity for the run: an OpenLineage `runId`, an id the client chose, or one
    derived from a DVC stage's hashes, so that a second delivery of the same run updates it instead of adding a
    twin. `state` only moves forward (a late START never reopens a COMPLETE run).
    """

    __tablename__ = "lineage_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(String(200), unique=True)
    job_namespace: Mapped[str] = mapped_column(String(500), default="catalog")
    job_name: Mapped[str] = mapped_column(String(1000), index=True)
    state: Mapped[str] = mapped_column(String(20))  # running, complete, failed, aborted
    origin: Mapped[str] = mapped_column(String(20))  # client, openlineage, dvc
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunDataset(Base):
    """A dataset a run read (`direction` "in") or wrote ("out").

    It is one of: an exact published version (`version_id`); a crawled dataset (`dataset_name`, with the schema
    hash and a value-free profile `snapshot` taken when the run was recorded, so drift can be measured later);
    or something the catalog does not know (`namespace` + `dataset_name`, kept so the graph shows it).
    `resolution` says how the version was decided (a hash, a number, latest at event time, a DVC md5).
    """

    __tablename__ = "run_datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("lineage_runs.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"),
                                                   index=True)
    dataset_name: Mapped[str] = mapped_column(String(1000), index=True)
    namespace: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))  # version, crawled, external
    resolution: Mapped[str | None] = mapped_column(String(200))
    requested: Mapped[str | None] = mapped_column(String(200))
    columns: Mapped[list[Any]] = mapped_column(default=list)  # the columns the run used; empty: all
    schema_hash: Mapped[str | None] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ColumnLineage(Base):
    """Column `output_column` of `output_dataset` was computed from `input_column` of `input_dataset` (from an
    OpenLineage column lineage facet)."""

    __tablename__ = "column_lineage"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("lineage_runs.id", ondelete="CASCADE"), index=True)
    output_dataset: Mapped[str] = mapped_column(String(1000), index=True)
    output_column: Mapped[str] = mapped_column(String(1000))
    input_dataset: Mapped[str] = mapped_column(String(1000), index=True)
    input_column: Mapped[str] = mapped_column(String(1000))
    transformation: Mapped[str | None] = mapped_column(String(200))


class LineageEvent(Base):
    """An OpenLineage event already applied, keyed by a hash of its canonical JSON: a redelivery is ignored."""

    __tablename__ = "lineage_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("lineage_runs.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(20))
    producer: Mapped[str | None] = mapped_column(String(1000))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainedModel(Base):
    """A model (name, version, framework, metrics, where it is stored) and the run that produced it.

    `drift_status` is the latest drift watch verdict: unchecked, no_retrain_needed or retrain_recommended;
    the evidence is in `drift_checks`.
    """

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(500), index=True)
    version: Mapped[str] = mapped_column(String(200))
    framework: Mapped[str | None] = mapped_column(String(200))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    location: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("lineage_runs.id", ondelete="SET NULL"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    drift_status: Mapped[str] = mapped_column(String(40), default="unchecked")
    drift_checked_at: Mapped[datetime | None] = mapped_column()


class DriftCheck(Base):
    """One drift watch verdict for a model: what it compared (`basis`, a hash of the inputs' current state, so
    an unchanged model is not checked twice), against which thresholds, and per input what moved."""

    __tablename__ = "drift_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(String(64))
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    detail: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """A person (or a service account) of a server-mode catalog. `roles` hold role names (see
    `catalog.policy.ROLES`); `password_hash` is a scrypt hash (`catalog.auth`), never the password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(300))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class Group(Base):
    """A team: grants to a group apply to every member; `roles` of a group apply to its members too."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    roles: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """An API token: only its SHA-256 is stored (the token is shown once); `prefix` names it in listings."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))
    label: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Grant(Base):
    """Permission `permission` for a user or group on one dataset (`target` a full name) or on every dataset
    under a prefix (`target` ending in `/`, or `*` for all). Revoked grants stay, for the access review."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_kind: Mapped[str] = mapped_column(String(10))  # user, group
    principal: Mapped[str] = mapped_column(String(200), index=True)
    target: Mapped[str] = mapped_column(String(1000))
    permission: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column()
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    last_used_at: Mapped[datetime | None] = mapped_column()
    request_id: Mapped[int | None] = mapped_column(Integer)


class AuditEvent(Base):
    """One line of the append-only audit log (the database refuses UPDATE and DELETE on it, see migration 0009).
    `detail` never holds a secret or a data value."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str | None] = mapped_column(String(1100))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    remote: Mapped[str | None] = mapped_column(String(100))


class WebSession(Base):
    """A signed-in browser: the cookie holds a random value whose SHA-256 is stored here. A new one is made at
    every login (no session fixation); `csrf_token` must come back with every form post of this session."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    remote: Mapped[str | None] = mapped_column(String(100))


class AccessRequest(Base):
    """A person asks for a permission on a dataset, with a justification; an owner or steward decides. An
    approval creates an expiring grant (`grant_id`)."""

    __tablename__ = "access_requests"
    # One pending request per person, dataset and permission, even when two arrive at once.
    __table_args__ = (Index("uq_access_requests_pending", "requester", "target", "permission", unique=True,
                            sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requester: Mapped[str] = mapped_column(String(200), index=True)
    target: Mapped[str] = mapped_column(String(1000), index=True)
    permission: Mapped[str] = mapped_column(String(40))
    justification: Mapped[str] = mapped_column(Text)
    days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, approved, denied, withdrawn
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
