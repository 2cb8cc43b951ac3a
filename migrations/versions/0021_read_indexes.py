"""Indexes leading with the board and thread of reading positions (foreign keys lead an index)

Revision ID: 0021_read_indexes
Revises: 0014_known
Create Date: 2026-12-04 20:36:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021_read_indexes'
down_revision = '0014_known'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('thread_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_reads_thread_id'), ['thread_id'], unique=False)
    with op.batch_alter_table('board_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_reads_board_id'), ['board_id'], unique=False)


def downgrade():
    with op.batch_alter_table('board_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_reads_board_id'))
    with op.batch_alter_table('thread_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_reads_thread_id'))
