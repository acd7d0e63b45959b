"""Reading published versions: list, resolve a reference, open the bytes, diff two versions, the quality suite.

A reference is `latest`, `v3` (or `3`; six or more bare digits read as a hash prefix), or a prefix of at least
6 hex characters of the content hash (sha256) or of DVC's md5. Listing and resolving need `read_metadata` on
the dataset; the bytes need `read_data`; editing the suite needs `manage`. Publishing lives in `catalog.publish`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, can, require
from catalog.errors import InvalidInput, NotFound, PermissionDenied
from catalog.models import DatasetVersion, PublishedDataset, VersionParent, utcnow
from catalog.settings import Settings

MIN_PREFIX = 6
NUMBER = re.compile(r"^(?:v(\d{1,9})|(\d{1,5}))$")  # bare digits from 6 on read as a hash prefix
HEX = re.compile(r"^[0-9a-f]+$")
PAGE = 100  # versions per page of the list, unless asked otherwise
MAX_PAGE = 1000
SHOWN_WITH_DATASET = 50  # the newest versions a dataset's document and page carry; the rest are a list away


def _published(session: Session, name: str) -> PublishedDataset:
    published = session.scalar(select(PublishedDataset).where(PublishedDataset.name == name))
    if published is None:
        raise NotFound(f"'{name}' has no published versions")
    return published


def find_version(session: Session, actor: Actor, name: str, ref: str = "latest") -> DatasetVersion:
    """The version `ref` of dataset `name` (see the module docstring)."""
    require(actor, Action.READ_METADATA, Resource.dataset(name))
    published = _published(session, name)
    ref = (ref or "latest").strip().lower()
    query = select(DatasetVersion).where(DatasetVersion.published_id == published.id)
    if ref == "latest":
        found = session.scalar(query.order_by(DatasetVersion.number.desc()).limit(1))
    elif match := NUMBER.match(ref):
        found = session.scalar(query.where(DatasetVersion.number == int(match.group(1) or match.group(2))))
    elif HEX.match(ref) and len(ref) >= MIN_PREFIX:
        matches = list(session.scalars(query.where(or_(DatasetVersion.content_hash.startswith(ref),
                                                       DatasetVersion.md5.startswith(ref))).limit(3)))
        if len(matches) > 1:
            raise InvalidInput(f"'{ref}' matches several versions of '{name}' "
                               f"({', '.join(f'v{v.number}' for v in matches)}): give more characters")
        found = matches[0] if matches else None
    else:
        raise InvalidInput(f"version '{ref}' is not 'latest', 'v<N>' or a hash prefix of at least {MIN_PREFIX} "
                           "hex characters")
    if found is None:
        raise NotFound(f"'{name}' has no version '{ref}'")
    return found


def version_view(session: Session, name: str, version: DatasetVersion, detail: bool = False,
                 parents: list[str] | None = None) -> dict[str, Any]:
    """A version as the API, the CLI and the client see it (checks in full with `detail`). `parents` ("name@vN")
    when the caller already loaded them (`version_views`), else they are read here."""
    if parents is None:
        parents = [f"{n}@v{v}" for n, v in session.execute(
            select(PublishedDataset.name, DatasetVersion.number)
            .join(DatasetVersion, DatasetVersion.published_id == PublishedDataset.id)
            .join(VersionParent, VersionParent.parent_id == DatasetVersion.id)
            .where(VersionParent.version_id == version.id).order_by(PublishedDataset.name, DatasetVersion.number))]
    view: dict[str, Any] = {
        "dataset": name, "version": f"v{version.number}", "number": version.number,
        "content_hash": version.content_hash, "md5": version.md5, "size": version.size, "rows": version.rows,
        "schema": version.schema, "publisher": version.publisher, "message": version.message,
        "origin": version.origin, "parents": parents, "tag": version.tag,
        "path": version.path, "git_commit": version.git_commit, "created_at": version.created_at.isoformat(),
        "pii_allowed": version.pii_allowed, "source_dataset": version.source_dataset,
        "derivation": _derivation_summary(version.derivation),
        "checks": {"pii": bool(version.pii_scan.get("passed", True)),
                   "quality": _quality_summary(version.validation)},
    }
    if detail:
        view.update(pii_scan=version.pii_scan, validation=version.validation, schema_change=version.schema_change)
        if version.derivation:
            view["derivation"] = version.derivation
    return view


def _derivation_summary(derivation: dict[str, Any] | None) -> dict[str, Any] | None:
    """Where a version came from, without the recipe's text (that comes with `detail`)."""
    if not derivation:
        return None
    return {k: derivation.get(k) for k in ("source", "recipe_hash", "key_fingerprint", "recipe_origin")}


def _quality_summary(validation: dict[str, Any]) -> dict[str, Any]:
    if not validation or validation.get("skipped"):
        return {"ran": False}
    statistics = (validation.get("report") or {}).get("statistics") or {}
    return {"ran": True, "passed": bool(validation.get("passed")), "validated_rows": validation.get("validated_rows"),
            "sampled": bool(validation.get("sampled")), **{k: statistics.get(k) for k in ("evaluated", "successful")}}


def list_versions(session: Session, actor: Actor, name: str, limit: int = PAGE,
                  before: int | None = None) -> dict[str, Any]:
    """A page of a dataset's versions, newest first: `limit` of them, older than version number `before` when
    given. `next_before` is the `before` of the next page (None on the last), `total` counts every version.

    Why pages keyed on the version number, not offsets: versions are only ever added at the top, so a page
    boundary never shifts while someone walks the list, and each page is one index range scan."""
    require(actor, Action.READ_METADATA, Resource.dataset(name))
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}, not {limit}")
    published = _published(session, name)
    query = select(DatasetVersion).where(DatasetVersion.published_id == published.id)
    if before is not None:
        query = query.where(DatasetVersion.number < before)
    page = list(session.scalars(query.order_by(DatasetVersion.number.desc()).limit(limit + 1)))
    more = len(page) > limit
    page = page[:limit]
    total = session.scalar(select(func.count()).select_from(DatasetVersion)
                           .where(DatasetVersion.published_id == published.id))
    return {"dataset": name, "versions": version_views(session, name, page), "total": total,
            "next_before": page[-1].number if more else None}


def published_versions(session: Session, name: str, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """The newest `limit` (default `SHOWN_WITH_DATASET`) versions for a dataset's document and page, and how many
    there are in all (the caller already checked `read_metadata`); nothing for crawled datasets."""
    limit = limit or SHOWN_WITH_DATASET
    published = session.scalar(select(PublishedDataset).where(PublishedDataset.name == name))
    if published is None:
        return [], 0
    newest = list(session.scalars(select(DatasetVersion).where(DatasetVersion.published_id == published.id)
                                  .order_by(DatasetVersion.number.desc()).limit(limit)))
    total = session.scalar(select(func.count()).select_from(DatasetVersion)
                           .where(DatasetVersion.published_id == published.id)) if len(newest) == limit else len(newest)
    return version_views(session, name, newest), total


def version_views(session: Session, name: str, versions: list[DatasetVersion]) -> list[dict[str, Any]]:
    """`version_view` of several versions with one query for all their parents (not one per version)."""
    parents: dict[int, list[str]] = {v.id: [] for v in versions}
    if versions:
        rows = session.execute(
            select(VersionParent.version_id, PublishedDataset.name, DatasetVersion.number)
            .join(DatasetVersion, DatasetVersion.id == VersionParent.parent_id)
            .join(PublishedDataset, PublishedDataset.id == DatasetVersion.published_id)
            .where(VersionParent.version_id.in_(list(parents)))
            .order_by(PublishedDataset.name, DatasetVersion.number))
        for version_id, parent_name, number in rows:
            parents[version_id].append(f"{parent_name}@v{number}")
    return [version_view(session, name, v, parents=parents[v.id]) for v in versions]


def describe_version(session: Session, actor: Actor, name: str, ref: str) -> dict[str, Any]:
    return version_view(session, name, find_version(session, actor, name, ref), detail=True)


def version_file(settings: Settings, session: Session, actor: Actor, name: str, ref: str
                 ) -> tuple[DatasetVersion, Path]:
    """The version's Parquet file on this machine (fetched from the DVC remote when the cache lacks it)."""
    from catalog.version_repo import VersionRepo

    require(actor, Action.READ_DATA, Resource.dataset(name))
    version = find_version(session, actor, name, ref)
    return version, VersionRepo(settings).fetch(version.md5)


def require_pii_access(actor: Actor, name: str, version: DatasetVersion) -> None:
    """A version published with allowed personal-data columns holds personal data: its bytes need `read_pii`
    (the whole file is served, so the check is on the version, not per column)."""
    allowed = sorted({str(a.get("column")) for a in version.pii_allowed or [] if isinstance(a, dict)})
    if allowed and not can(actor, Action.READ_PII, Resource.dataset(name)):
        raise PermissionDenied(f"'{name}' v{version.number} holds personal data (column {', '.join(allowed)}): "
                               f"fetching it needs read_pii; ask for it at /access?dataset={name}")


def fetch_version(settings: Settings, session: Session, actor: Actor, name: str, ref: str, remote: str | None
                  ) -> tuple[DatasetVersion, Path]:
    """The file of a version someone is taking away (the API download, the local client): `version_file` plus
    the personal-data gate, the audit line (who, which version, from where) and the grant's "last used"."""
    from catalog import audit

    version, path = version_file(settings, session, actor, name, ref)
    require_pii_access(actor, name, version)
    audit.record(session, actor, "version.fetch", f"{name}@v{version.number}", {"sha256": version.content_hash},
                 remote=remote)
    if actor.governed:
        from catalog.principals import touch_grants

        touch_grants(session, actor, name, "read_data")
    return version, path


def diff_versions(settings: Settings, session: Session, actor: Actor, name: str, old: str, new: str
                  ) -> dict[str, Any]:
    """Schema, row count and per-column drift between two versions (statistics only, no values)."""
    from catalog.version_diff import diff_parquet

    require(actor, Action.READ_DATA, Resource.dataset(name))
    old_version, old_path = version_file(settings, session, actor, name, old)
    new_version, new_path = version_file(settings, session, actor, name, new)
    return {"dataset": name, "old": f"v{old_version.number}", "new": f"v{new_version.number}",
            **diff_parquet(old_path, new_path)}


def get_suite(session: Session, actor: Actor, name: str) -> dict[str, Any]:
    require(actor, Action.READ_METADATA, Resource.dataset(name))
    published = _published(session, name)
    return {"dataset": name, "suite": published.suite, "origin": published.suite_origin,
            "updated_by": published.suite_updated_by,
            "updated_at": published.suite_updated_at.isoformat() if published.suite_updated_at else None}


def set_suite(session: Session, actor: Actor, name: str, suite: Any) -> dict[str, Any]:
    """Replace the suite (checked first); a person's suite is never regenerated by later publishes."""
    from catalog.quality import check_suite

    require(actor, Action.MANAGE, Resource.dataset(name))
    published = _published(session, name)
    published.suite = check_suite(suite)
    published.suite_origin = f"human:{actor.name}"
    published.suite_updated_by = actor.name
    published.suite_updated_at = utcnow()
    session.flush()
    return get_suite(session, actor, name)


def reset_suite(settings: Settings, session: Session, actor: Actor, name: str) -> dict[str, Any]:
    """Back to the default suite, generated from the latest version's data."""
    from catalog import publish_gates
    from catalog.quality import default_suite

    require(actor, Action.MANAGE, Resource.dataset(name))
    published = _published(session, name)
    version, path = version_file(settings, session, actor, name, "latest")
    table, _, _ = publish_gates.read_rows_for_validation(path, settings.validate_rows)
    published.suite = default_suite(table, name)
    published.suite_origin = f"default from v{version.number}"
    published.suite_updated_by = actor.name
    published.suite_updated_at = utcnow()
    session.flush()
    return get_suite(session, actor, name)
