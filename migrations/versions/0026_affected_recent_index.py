"""Known issues: "affected" reports by thread and time, for the register's last-7-days counts

Revision ID: 0026_affected_recent_index
Revises: 0025_uploads
Create Date: 2026-12-05 22:10:00

"""
from alembic import op

revision = '0026_affected_recent_index'
down_revision = '0025_uploads'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_affected_members_recent', 'affected_members', ['thread_id', 'created_on', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_affected_members_recent', table_name='affected_members')
