"""sample observations on datasets and columns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('datasets') as batch_op:
        batch_op.add_column(sa.Column('stats', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table('columns') as batch_op:
        batch_op.add_column(sa.Column('stats', sa.JSON(), nullable=True))
    # The default only fills existing rows; the model supplies the value from now on.
    with op.batch_alter_table('datasets') as batch_op:
        batch_op.alter_column('stats', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('columns') as batch_op:
        batch_op.drop_column('stats')
    with op.batch_alter_table('datasets') as batch_op:
        batch_op.drop_column('stats')
