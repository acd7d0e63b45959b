"""profiles per schema version and reviewed classifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.models import UTCDateTime

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'profiles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dataset_id', sa.Integer(), nullable=False),
        sa.Column('schema_version', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('rows_sampled', sa.Integer(), nullable=False),
        sa.Column('population', sa.BigInteger(), nullable=True),
        sa.Column('method', sa.Text(), nullable=True),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('warnings', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('profiled_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_profiles_dataset_id_datasets'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_profiles')),
        sa.UniqueConstraint('dataset_id', 'schema_version', name=op.f('uq_profiles_dataset_id_schema_version')),
    )
    op.create_index(op.f('ix_profiles_dataset_id'), 'profiles', ['dataset_id'], unique=False)
    op.create_table(
        'classifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dataset_id', sa.Integer(), nullable=False),
        sa.Column('column_name', sa.String(length=1000), nullable=False),
        sa.Column('label', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('confidence', sa.Float(), nullable=True),
        sa.Column('match_share', sa.Float(), nullable=True),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('classifier', sa.String(length=100), nullable=True),
        sa.Column('decided_by', sa.String(length=200), nullable=True),
        sa.Column('decided_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('evaluated_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'],
                                name=op.f('fk_classifications_dataset_id_datasets'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_classifications')),
        sa.UniqueConstraint('dataset_id', 'column_name', 'label',
                            name=op.f('uq_classifications_dataset_id_column_name_label')),
    )
    op.create_index(op.f('ix_classifications_dataset_id'), 'classifications', ['dataset_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_classifications_dataset_id'), table_name='classifications')
    op.drop_table('classifications')
    op.drop_index(op.f('ix_profiles_dataset_id'), table_name='profiles')
    op.drop_table('profiles')
