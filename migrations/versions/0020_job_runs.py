"""Periodic job runs: one row per job and period, the cross-machine once-per-period lock

Revision ID: 0020_job_runs
Revises: 0011_unread_from_rows
Create Date: 2026-12-04 18:40:00

"""
from alembic import op
import sqlalchemy as sa

import forum.db  # noqa: F401  (UTCDateTime in column types)

# revision identifiers, used by Alembic.
revision = '0020_job_runs'
down_revision = '0011_unread_from_rows'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('period', sa.Integer(), nullable=False),
        sa.Column('worker', sa.String(length=120), nullable=False),
        sa.Column('started_at', forum.db.UTCDateTime(), nullable=False),
        sa.Column('finished_at', forum.db.UTCDateTime(), nullable=True),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('detail', sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
        sa.UniqueConstraint('name', 'period', name='uq_job_runs_name_period'),
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_started_at'), ['started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_started_at'))
    op.drop_table('job_runs')
