"""descriptions written by AI or people, with provenance and review status

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.models import UTCDateTime

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'descriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dataset_id', sa.Integer(), nullable=False),
        sa.Column('column_name', sa.String(length=1000), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('confidence', sa.Float(), nullable=True),
        sa.Column('prompt_version', sa.String(length=40), nullable=True),
        sa.Column('signature', sa.String(length=64), nullable=True),
        sa.Column('fallback', sa.Text(), nullable=True),
        sa.Column('ai_text', sa.Text(), nullable=True),
        sa.Column('decided_by', sa.String(length=200), nullable=True),
        sa.Column('decided_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_descriptions_dataset_id_datasets'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_descriptions')),
        sa.UniqueConstraint('dataset_id', 'column_name', name=op.f('uq_descriptions_dataset_id_column_name')),
    )
    op.create_index(op.f('ix_descriptions_dataset_id'), 'descriptions', ['dataset_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_descriptions_dataset_id'), table_name='descriptions')
    op.drop_table('descriptions')
