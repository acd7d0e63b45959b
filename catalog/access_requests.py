"""Access requests: a person asks for a permission on a dataset, an owner or a steward approves or denies.

Why a workflow instead of asking an admin for `catalog grant add`: the justification, the decider and the
expiry are kept with the grant they produced, so the access review can answer "why does ana read this?".

Rules:
- Anyone signed in may ask for read_metadata, read_data, read_pii or publish on a dataset they may at least
  discover; a dataset they may not discover is "does not exist", exactly like a missing one.
- Stewards and admins decide every request; owners decide requests on datasets they manage. Nobody decides
  their own request, whatever their roles.
- Request ids do not leak: a request you may neither see nor decide is "does not exist".
- Approval creates an expiring grant (`days` of the request) in the same transaction; every change is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog import audit
from catalog.access import Action, Actor, Resource, can
from catalog.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from catalog.models import AccessRequest, Dataset, Grant, PublishedDataset, User, utcnow
from catalog.policy import IMPLIES
from catalog.principals import add_grant

REQUESTABLE = ("read_metadata", "read_data", "read_pii", "publish")
STATUSES = ("pending", "approved", "denied", "withdrawn")
DECISIONS = {"approve": "approved", "deny": "denied"}
MIN_JUSTIFICATION = 20
MAX_TEXT = 2000
MAX_DAYS = 365
LIST_LIMIT = 500
MAX_ID = 2**31  # ids beyond a 32-bit key cannot exist (and would overflow PostgreSQL's integer)


def request_access(session: Session, actor: Actor, target: str, permission: str, justification: str,
                   days: int) -> dict[str, Any]:
    """File a pending request for `permission` on dataset `target` for `days` days."""
    target = (target or "").strip()
    if not dataset_exists(session, actor, target):
        raise NotFound(f"dataset '{target}' does not exist")
    if permission not in REQUESTABLE:
        raise InvalidInput(f"permission '{permission}' is not one of {', '.join(REQUESTABLE)}")
    justification = " ".join((justification or "").split())
    if len(justification) < MIN_JUSTIFICATION:
        raise InvalidInput(f"justification needs at least {MIN_JUSTIFICATION} characters: say what you need "
                           "the access for")
    if len(justification) > MAX_TEXT:
        raise InvalidInput(f"justification is longer than {MAX_TEXT} characters")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_DAYS} (access always expires)")
    if session.scalar(select(User.id).where(User.name == actor.name, User.disabled.is_(False))) is None:
        raise InvalidInput(f"'{actor.name}' is not a user of this catalog: access requests need server mode")
    pending = session.scalar(select(AccessRequest.id).where(
        AccessRequest.requester == actor.name, AccessRequest.target == target,
        AccessRequest.permission == permission, AccessRequest.status == "pending"))
    if pending is not None:
        raise Conflict(f"request {pending} for {permission} on '{target}' is already pending")
    row = AccessRequest(requester=actor.name, target=target, permission=permission, justification=justification,
                        days=days, status="pending", created_at=utcnow())
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same request sent twice at once: the partial unique index keeps one
        raise Conflict(f"a request for {permission} on '{target}' is already pending") from None
    audit.record(session, actor, "access.request", target, {"request": row.id, "permission": permission,
                                                            "days": days})
    return request_view(row, actor)


def dataset_exists(session: Session, actor: Actor, name: str, *, include_deleted: bool = False) -> bool:
    """True when `name` is a live (or, with `include_deleted`, a soft-deleted) crawled dataset or a published one
    that the actor may discover."""
    if not name or len(name) > 1000 or not can(actor, Action.DISCOVER, Resource.dataset(name)):
        return False
    crawled = select(Dataset.id).where(Dataset.name == name)
    if not include_deleted:
        crawled = crawled.where(Dataset.deleted_at.is_(None))
    published = select(PublishedDataset.id).where(PublishedDataset.name == name)
    return session.scalar(crawled) is not None or session.scalar(published) is not None


def may_decide(actor: Actor, row: AccessRequest) -> bool:
    """Stewards and admins decide everything; owners (manage) the requests on their datasets."""
    return can(actor, Action.REVIEW, Resource.catalog()) or can(actor, Action.MANAGE, Resource.dataset(row.target))


def _visible(session: Session, actor: Actor, request_id: int) -> AccessRequest:
    """The request if the actor filed it or may decide it; otherwise the same NotFound as a missing id."""
    row = session.get(AccessRequest, request_id) if 0 < request_id < MAX_ID else None
    if row is None or (row.requester != actor.name and not may_decide(actor, row)):
        raise NotFound(f"access request {request_id} does not exist")
    return row


def get_request(session: Session, actor: Actor, request_id: int) -> dict[str, Any]:
    return request_view(_visible(session, actor, request_id), actor)


def decide(session: Session, actor: Actor, request_id: int, decision: str, comment: str | None = None
           ) -> dict[str, Any]:
    """Approve (creating the grant) or deny (with a comment) one pending request."""
    row = _visible(session, actor, request_id)
    if row.requester == actor.name:
        raise PermissionDenied(f"{actor.name} may not decide their own access request {request_id}")
    if decision not in DECISIONS:
        raise InvalidInput(f"decision '{decision}' is not one of {', '.join(DECISIONS)}")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_TEXT:
        raise InvalidInput(f"comment is longer than {MAX_TEXT} characters")
    if decision == "deny" and comment is None:
        raise InvalidInput("a denial needs a comment telling the requester why")
    _close(session, row, DECISIONS[decision], actor, comment)
    detail: dict[str, Any] = {"request": row.id, "requester": row.requester, "permission": row.permission}
    if decision == "approve":
        row.grant_id = _grant(session, actor, row)
        detail["grant"] = row.grant_id
    audit.record(session, actor, f"access.{decision}", row.target, detail)
    session.flush()
    return request_view(row, actor)


def _grant(session: Session, actor: Actor, row: AccessRequest) -> int:
    """Create the grant. Owners and admins grant as themselves (add_grant checks their right once more); a
    steward's right to decide was checked above but add_grant only lets managers grant, so the catalog grants
    on the steward's behalf and the grant names the steward."""
    granter = actor if can(actor, Action.MANAGE, Resource.dataset(row.target)) else Actor.system()
    view = add_grant(session, granter, row.requester, row.target, row.permission, days=row.days,
                     reason=row.justification, request_id=row.id)
    grant = session.get(Grant, view["id"])
    if grant is not None:
        grant.granted_by = actor.name
    return int(view["id"])


def withdraw(session: Session, actor: Actor, request_id: int) -> dict[str, Any]:
    """The requester takes back a pending request."""
    row = _visible(session, actor, request_id)
    if row.requester != actor.name:
        raise PermissionDenied(f"only {row.requester} may withdraw access request {request_id}")
    _close(session, row, "withdrawn", actor, None)
    audit.record(session, actor, "access.withdraw", row.target, {"request": row.id})
    session.flush()
    return request_view(row, actor)


def _close(session: Session, row: AccessRequest, status: str, actor: Actor, comment: str | None) -> None:
    """Move a pending request to `status`. A conditional UPDATE, so two deciders at once cannot both win."""
    now = utcnow()
    changed = session.execute(
        update(AccessRequest).where(AccessRequest.id == row.id, AccessRequest.status == "pending")
        .values(status=status, decided_by=actor.name, decided_at=now, comment=comment)
        .execution_options(synchronize_session=False))
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(row)
        raise Conflict(f"access request {row.id} is already {row.status}")
    row.status, row.decided_by, row.decided_at, row.comment = status, actor.name, now, comment


def list_requests(session: Session, actor: Actor, status: str | None = None, mine: bool = False,
                  limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """Newest first: your own requests, and (unless `mine`) the ones you may decide."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status '{status}' is not one of {', '.join(STATUSES)}")
    if not 1 <= limit <= LIST_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {LIST_LIMIT}")
    own = AccessRequest.requester == actor.name
    query = select(AccessRequest).where(own if mine else or_(own, _decidable(actor)))
    if status:
        query = query.where(AccessRequest.status == status)
    rows = session.scalars(query.order_by(AccessRequest.id.desc()).limit(limit))
    return [request_view(r, actor) for r in rows]


def _decidable(actor: Actor) -> ColumnElement[bool]:
    """The SQL side of `may_decide`: everything for reviewers, else the targets the actor's live `manage` or
    `own` rules cover (the same names, prefixes and `*` as `catalog.policy`)."""
    if can(actor, Action.REVIEW, Resource.catalog()):
        return true()
    now = utcnow()
    clauses: list[ColumnElement[bool]] = []
    for rule in actor.grants:
        if "manage" not in IMPLIES.get(rule.permission, set()):
            continue
        if rule.expires_at is not None and rule.expires_at <= now:
            continue
        if rule.target == "*":
            return true()
        clauses.append(AccessRequest.target.startswith(rule.target, autoescape=True) if rule.target.endswith("/")
                       else AccessRequest.target == rule.target)
    return or_(*clauses) if clauses else false()


def request_view(row: AccessRequest, actor: Actor) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    pending = row.status == "pending"
    return {"id": row.id, "requester": row.requester, "target": row.target, "permission": row.permission,
            "justification": row.justification, "days": row.days, "status": row.status,
            "created_at": iso(row.created_at), "decided_by": row.decided_by, "decided_at": iso(row.decided_at),
            "comment": row.comment, "grant_id": row.grant_id, "mine": row.requester == actor.name,
            "can_decide": pending and row.requester != actor.name and may_decide(actor, row),
            "can_withdraw": pending and row.requester == actor.name}
