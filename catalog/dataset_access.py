"""What the caller may do with one dataset, for the "Access" part of its page and `show --json`.

Why a summary of its own: the dataset page should answer "can I use this, and if not, how do I ask?" without
sending the analyst to the governance pages. It lists the caller's own rights (never other people's: who else
has access is the access review's business, linked for those who may see it) and their pending requests, so the
request button is offered only for what they lack and not twice for the same thing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Action, Actor, Resource, can
from catalog.access_requests import MAX_DAYS, MIN_JUSTIFICATION, REQUESTABLE, dataset_exists, request_view
from catalog.errors import NotFound
from catalog.models import AccessRequest, User

PERMISSION_ACTIONS = {"read_metadata": Action.READ_METADATA, "read_data": Action.READ_DATA,
                      "read_pii": Action.READ_PII, "publish": Action.PUBLISH}
PERMISSION_TEXT = {"read_metadata": "see its columns, descriptions and profile",
                   "read_data": "fetch its published versions",
                   "read_pii": "see personal data in it (sampled values and versions with allowed PII)",
                   "publish": "publish new versions of it"}


def access_summary(session: Session, actor: Actor, name: str) -> dict[str, Any]:
    """The caller's rights on dataset `name`, their pending requests on it, and what they could still ask for."""
    if not dataset_exists(session, actor, name, include_deleted=True):  # a deleted dataset's page still shows
        raise NotFound(f"dataset '{name}' does not exist")
    resource = Resource.dataset(name)
    rights = {permission: can(actor, action, resource) for permission, action in PERMISSION_ACTIONS.items()}
    pending = session.scalars(select(AccessRequest).where(
        AccessRequest.requester == actor.name, AccessRequest.target == name, AccessRequest.status == "pending",
    ).order_by(AccessRequest.id)).all()
    asked = {row.permission for row in pending}
    is_user = actor.governed and session.scalar(
        select(User.id).where(User.name == actor.name, User.disabled.is_(False))) is not None
    return {
        "governed": actor.governed,
        "rights": [{"permission": p, "allowed": allowed, "means": PERMISSION_TEXT[p]} for p, allowed in rights.items()],
        "pending": [request_view(row, actor) for row in pending],
        "requestable": [p for p in REQUESTABLE if is_user and not rights[p] and p not in asked],
        "can_review": can(actor, Action.REVIEW, Resource.catalog()) or can(actor, Action.MANAGE, resource),
        "min_justification": MIN_JUSTIFICATION,
        "max_days": MAX_DAYS,
    }

