"""Known issues: the members affected in the last 7 days stored on each issue, so the register
sorts on a column; counted here once, then by the hourly job and the "affected too" services

Revision ID: 0028_known_recent_affected
Revises: 0027_search_newest_first
Create Date: 2026-12-06 00:30:00

"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import forum.db

revision = '0028_known_recent_affected'
down_revision = '0027_search_newest_first'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('known_issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recent_affected', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('recent_since', forum.db.UTCDateTime(timezone=True), nullable=True))
    # The first count, as the hourly job makes it (forum.known.services.recount_recent_affected).
    since = datetime.now(UTC) - timedelta(days=7)
    known_issues = sa.table(
        'known_issues', sa.column('thread_id', sa.Integer()), sa.column('recent_affected', sa.Integer()),
        sa.column('recent_since', forum.db.UTCDateTime(timezone=True)),
    )
    affected = sa.table(
        'affected_members', sa.column('id', sa.Integer()), sa.column('thread_id', sa.Integer()),
        sa.column('created_on', sa.Date()), sa.column('created_at', forum.db.UTCDateTime(timezone=True)),
    )
    counted = (
        sa.select(sa.func.count(affected.c.id))
        .where(
            affected.c.thread_id == known_issues.c.thread_id,
            affected.c.created_on >= since.date(),
            affected.c.created_at >= since,
        )
        .scalar_subquery()
    )
    op.execute(known_issues.update().values(recent_affected=counted, recent_since=since))
    with op.batch_alter_table('known_issues', schema=None) as batch_op:
        batch_op.alter_column('recent_since', existing_type=forum.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.create_index('ix_known_issues_recent_affected', ['recent_affected', 'marked_at'], unique=False)


def downgrade():
    with op.batch_alter_table('known_issues', schema=None) as batch_op:
        batch_op.drop_index('ix_known_issues_recent_affected')
        batch_op.drop_column('recent_since')
        batch_op.drop_column('recent_affected')
