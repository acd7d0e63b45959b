"""lineage: runs, the datasets they read and wrote, column lineage, OpenLineage events, models, drift checks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from catalog.models import UTCDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'lineage_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_key', sa.String(length=200), nullable=False),
        sa.Column('job_namespace', sa.String(length=500), nullable=False),
        sa.Column('job_name', sa.String(length=1000), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('origin', sa.String(length=20), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('ended_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('metrics', sa.JSON(), nullable=False),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_runs')),
        sa.UniqueConstraint('run_key', name=op.f('uq_lineage_runs_run_key')),
    )
    op.create_index(op.f('ix_lineage_runs_job_name'), 'lineage_runs', ['job_name'], unique=False)
    op.create_table(
        'run_datasets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=True),
        sa.Column('dataset_name', sa.String(length=1000), nullable=False),
        sa.Column('namespace', sa.String(length=500), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('resolution', sa.String(length=200), nullable=True),
        sa.Column('requested', sa.String(length=200), nullable=True),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('schema_hash', sa.String(length=64), nullable=True),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_run_datasets_run_id_lineage_runs'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'],
                                name=op.f('fk_run_datasets_version_id_dataset_versions'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_run_datasets')),
    )
    op.create_index(op.f('ix_run_datasets_run_id'), 'run_datasets', ['run_id'], unique=False)
    op.create_index(op.f('ix_run_datasets_version_id'), 'run_datasets', ['version_id'], unique=False)
    op.create_index(op.f('ix_run_datasets_dataset_name'), 'run_datasets', ['dataset_name'], unique=False)
    op.create_table(
        'column_lineage',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('output_dataset', sa.String(length=1000), nullable=False),
        sa.Column('output_column', sa.String(length=1000), nullable=False),
        sa.Column('input_dataset', sa.String(length=1000), nullable=False),
        sa.Column('input_column', sa.String(length=1000), nullable=False),
        sa.Column('transformation', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_column_lineage_run_id_lineage_runs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_column_lineage')),
    )
    op.create_index(op.f('ix_column_lineage_run_id'), 'column_lineage', ['run_id'], unique=False)
    op.create_index(op.f('ix_column_lineage_output_dataset'), 'column_lineage', ['output_dataset'], unique=False)
    op.create_index(op.f('ix_column_lineage_input_dataset'), 'column_lineage', ['input_dataset'], unique=False)
    op.create_table(
        'lineage_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_key', sa.String(length=64), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('event_type', sa.String(length=20), nullable=False),
        sa.Column('producer', sa.String(length=1000), nullable=True),
        sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_lineage_events_run_id_lineage_runs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_events')),
        sa.UniqueConstraint('event_key', name=op.f('uq_lineage_events_event_key')),
    )
    op.create_index(op.f('ix_lineage_events_run_id'), 'lineage_events', ['run_id'], unique=False)
    op.create_table(
        'models',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=500), nullable=False),
        sa.Column('version', sa.String(length=200), nullable=False),
        sa.Column('framework', sa.String(length=200), nullable=True),
        sa.Column('metrics', sa.JSON(), nullable=False),
        sa.Column('location', sa.Text(), nullable=True),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('drift_status', sa.String(length=40), nullable=False),
        sa.Column('drift_checked_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_models_run_id_lineage_runs'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_models')),
        sa.UniqueConstraint('name', 'version', name=op.f('uq_models_name_version')),
    )
    op.create_index(op.f('ix_models_name'), 'models', ['name'], unique=False)
    op.create_index(op.f('ix_models_run_id'), 'models', ['run_id'], unique=False)
    op.create_table(
        'drift_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('model_id', sa.Integer(), nullable=False),
        sa.Column('checked_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=40), nullable=False),
        sa.Column('basis', sa.String(length=64), nullable=False),
        sa.Column('thresholds', sa.JSON(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['model_id'], ['models.id'], name=op.f('fk_drift_checks_model_id_models'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_drift_checks')),
    )
    op.create_index(op.f('ix_drift_checks_model_id'), 'drift_checks', ['model_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_drift_checks_model_id'), table_name='drift_checks')
    op.drop_table('drift_checks')
    op.drop_index(op.f('ix_models_run_id'), table_name='models')
    op.drop_index(op.f('ix_models_name'), table_name='models')
    op.drop_table('models')
    op.drop_index(op.f('ix_lineage_events_run_id'), table_name='lineage_events')
    op.drop_table('lineage_events')
    op.drop_index(op.f('ix_column_lineage_input_dataset'), table_name='column_lineage')
    op.drop_index(op.f('ix_column_lineage_output_dataset'), table_name='column_lineage')
    op.drop_index(op.f('ix_column_lineage_run_id'), table_name='column_lineage')
    op.drop_table('column_lineage')
    op.drop_index(op.f('ix_run_datasets_dataset_name'), table_name='run_datasets')
    op.drop_index(op.f('ix_run_datasets_version_id'), table_name='run_datasets')
    op.drop_index(op.f('ix_run_datasets_run_id'), table_name='run_datasets')
    op.drop_table('run_datasets')
    op.drop_index(op.f('ix_lineage_runs_job_name'), table_name='lineage_runs')
    op.drop_table('lineage_runs')
