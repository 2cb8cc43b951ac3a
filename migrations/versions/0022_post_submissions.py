"""One-time keys of reply and new-thread forms: a retried POST posts once (issue #13)

Revision ID: 0022_post_submissions
Revises: 0021_read_indexes
Create Date: 2026-12-05 08:40:00

"""
import sqlalchemy as sa
from alembic import op

import forum.db  # noqa: F401  (UTCDateTime in column types)

# revision identifiers, used by Alembic.
revision = '0022_post_submissions'
down_revision = '0021_read_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'post_submissions',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=32), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('created_at', forum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_submissions_post_id_posts'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_post_submissions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'key', name=op.f('pk_post_submissions')),
    )
    with op.batch_alter_table('post_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_submissions_post_id'), ['post_id'], unique=False)


def downgrade():
    with op.batch_alter_table('post_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_submissions_post_id'))
    op.drop_table('post_submissions')
