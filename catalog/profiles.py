"""Reading stored profiles: the one for a dataset's current schema, and what of it a caller may see.

Profiles are kept per schema version (older ones stay for the record); the dataset view shows the profile of the
newest schema version that has one, and says when it describes an older schema than the current one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotator.profile import VALUE_FIELDS
from catalog.models import Dataset, Profile, SchemaVersion


def current_profile(session: Session, dataset: Dataset) -> dict[str, Any] | None:
    """The newest profile of the dataset with its column profiles under `columns`; None before any annotate."""
    profile = session.scalar(select(Profile).where(Profile.dataset_id == dataset.id)
                             .order_by(Profile.schema_version.desc()).limit(1))
    if profile is None:
        return None
    newest = session.scalar(select(func.max(SchemaVersion.version)).where(SchemaVersion.dataset_id == dataset.id))
    return {
        "status": profile.status, "schema_version": profile.schema_version,
        "current": newest is None or profile.schema_version >= newest,
        "rows_sampled": profile.rows_sampled, "population": profile.population, "method": profile.method,
        "profiled_at": profile.profiled_at.isoformat(), "seconds": profile.seconds,
        "warnings": list(profile.warnings or []), "error": profile.error,
        "columns": dict(profile.columns or {}),
    }


def profile_for(column_profile: dict[str, Any] | None, shows_values: bool) -> dict[str, Any] | None:
    """A column's profile for a caller; without the right to read data, no sampled value (even masked) shows."""
    if column_profile is None or shows_values:
        return column_profile
    return {k: v for k, v in column_profile.items() if k not in VALUE_FIELDS}
