"""governance: at most one pending access request per person, dataset and permission (partial unique index)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index('uq_access_requests_pending', 'access_requests', ['requester', 'target', 'permission'],
                    unique=True, sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index('uq_access_requests_pending', table_name='access_requests')
