"""redaction recipes: a recipe per published dataset, and each version's source dataset and derivation

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.models import UTCDateTime

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('published_datasets') as batch:
        batch.add_column(sa.Column('recipe', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('recipe_source', sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column('recipe_updated_by', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('recipe_updated_at', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('dataset_versions') as batch:
        batch.add_column(sa.Column('source_dataset', sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column('derivation', sa.JSON(), nullable=True))
        batch.create_index(batch.f('ix_dataset_versions_source_dataset'), ['source_dataset'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dataset_versions') as batch:
        batch.drop_index(batch.f('ix_dataset_versions_source_dataset'))
        batch.drop_column('derivation')
        batch.drop_column('source_dataset')
    with op.batch_alter_table('published_datasets') as batch:
        batch.drop_column('recipe_updated_at')
        batch.drop_column('recipe_updated_by')
        batch.drop_column('recipe_source')
        batch.drop_column('recipe')
