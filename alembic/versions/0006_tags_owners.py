"""tags and owners of datasets

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.models import UTCDateTime

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, value: str, length: int) -> None:
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dataset_id', sa.Integer(), nullable=False),
        sa.Column(value, sa.String(length=length), nullable=False),
        sa.Column('added_by', sa.String(length=200), nullable=False),
        sa.Column('added_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f(f'fk_{name}_dataset_id_datasets'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
        sa.UniqueConstraint('dataset_id', value, name=op.f(f'uq_{name}_dataset_id_{value}')),
    )
    op.create_index(op.f(f'ix_{name}_dataset_id'), name, ['dataset_id'], unique=False)


def upgrade() -> None:
    _table('dataset_tags', 'tag', 100)
    _table('dataset_owners', 'owner', 200)


def downgrade() -> None:
    for name in ('dataset_owners', 'dataset_tags'):
        op.drop_index(op.f(f'ix_{name}_dataset_id'), table_name=name)
        op.drop_table(name)
