"""Votes imported as a number without their voters: a recount keeps them

Revision ID: 0023_carried_votes
Revises: 0022_post_submissions
Create Date: 2026-12-05 09:10:00

Lifeboat imports and public archives bring likes and idea votes as counts. The recount
(`flask forum recount`, `flask qa recount`) counted only vote rows and set them to zero; the
part of each count that no vote row explains is now kept apart and added back.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023_carried_votes'
down_revision = '0022_post_submissions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('helpful_carried', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('votes_carried', sa.Integer(), server_default='0', nullable=False))
    # Counts that their vote rows do not explain came from an import: carried from now on.
    op.execute(
        "UPDATE posts SET helpful_carried = helpful_count - "
        "(SELECT COUNT(*) FROM helpful_votes WHERE helpful_votes.post_id = posts.id) "
        "WHERE helpful_count > (SELECT COUNT(*) FROM helpful_votes WHERE helpful_votes.post_id = posts.id)"
    )
    op.execute(
        "UPDATE ideas SET votes_carried = vote_count - "
        "(SELECT COUNT(*) FROM idea_votes WHERE idea_votes.thread_id = ideas.thread_id) "
        "WHERE vote_count > (SELECT COUNT(*) FROM idea_votes WHERE idea_votes.thread_id = ideas.thread_id)"
    )


def downgrade():
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.drop_column('votes_carried')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('helpful_carried')
