"""search documents: the text of each dataset and column, and what the index files hold

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.models import UTCDateTime

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'search_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dataset_id', sa.Integer(), nullable=True),
        sa.Column('column_name', sa.String(length=1000), nullable=False),
        sa.Column('name', sa.String(length=1000), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('text_hash', sa.String(length=64), nullable=False),
        sa.Column('indexed_hash', sa.String(length=64), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'],
                                name=op.f('fk_search_documents_dataset_id_datasets'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_documents')),
        sa.UniqueConstraint('dataset_id', 'column_name', name=op.f('uq_search_documents_dataset_id_column_name')),
    )
    op.create_index(op.f('ix_search_documents_dataset_id'), 'search_documents', ['dataset_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_search_documents_dataset_id'), table_name='search_documents')
    op.drop_table('search_documents')
