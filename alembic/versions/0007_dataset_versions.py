"""published datasets, their immutable versions and derived-from links

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.models import UTCDateTime

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'published_datasets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=1000), nullable=False),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('suite', sa.JSON(), nullable=True),
        sa.Column('suite_origin', sa.String(length=200), nullable=True),
        sa.Column('suite_updated_by', sa.String(length=200), nullable=True),
        sa.Column('suite_updated_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_published_datasets')),
        sa.UniqueConstraint('name', name=op.f('uq_published_datasets_name')),
    )
    op.create_table(
        'dataset_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('published_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('md5', sa.String(length=32), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('rows', sa.BigInteger(), nullable=False),
        sa.Column('schema', sa.JSON(), nullable=False),
        sa.Column('publisher', sa.String(length=200), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('origin', sa.Text(), nullable=True),
        sa.Column('path', sa.String(length=1200), nullable=False),
        sa.Column('tag', sa.String(length=1100), nullable=False),
        sa.Column('git_commit', sa.String(length=64), nullable=False),
        sa.Column('pii_allowed', sa.JSON(), nullable=False),
        sa.Column('pii_scan', sa.JSON(), nullable=False),
        sa.Column('validation', sa.JSON(), nullable=False),
        sa.Column('schema_change', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['published_id'], ['published_datasets.id'],
                                name=op.f('fk_dataset_versions_published_id_published_datasets'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_versions')),
        sa.UniqueConstraint('published_id', 'number', name=op.f('uq_dataset_versions_published_id_number')),
    )
    op.create_index(op.f('ix_dataset_versions_published_id'), 'dataset_versions', ['published_id'], unique=False)
    op.create_index(op.f('ix_dataset_versions_content_hash'), 'dataset_versions', ['content_hash'], unique=False)
    op.create_index(op.f('ix_dataset_versions_md5'), 'dataset_versions', ['md5'], unique=False)
    op.create_table(
        'version_parents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'],
                                name=op.f('fk_version_parents_version_id_dataset_versions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['parent_id'], ['dataset_versions.id'],
                                name=op.f('fk_version_parents_parent_id_dataset_versions'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_version_parents')),
        sa.UniqueConstraint('version_id', 'parent_id', name=op.f('uq_version_parents_version_id_parent_id')),
    )
    op.create_index(op.f('ix_version_parents_version_id'), 'version_parents', ['version_id'], unique=False)
    op.create_index(op.f('ix_version_parents_parent_id'), 'version_parents', ['parent_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_version_parents_parent_id'), table_name='version_parents')
    op.drop_index(op.f('ix_version_parents_version_id'), table_name='version_parents')
    op.drop_table('version_parents')
    op.drop_index(op.f('ix_dataset_versions_md5'), table_name='dataset_versions')
    op.drop_index(op.f('ix_dataset_versions_content_hash'), table_name='dataset_versions')
    op.drop_index(op.f('ix_dataset_versions_published_id'), table_name='dataset_versions')
    op.drop_table('dataset_versions')
    op.drop_table('published_datasets')
