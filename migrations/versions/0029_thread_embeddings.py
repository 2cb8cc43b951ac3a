"""Semantic layer: a vector per thread for the similar-threads box (issue #14)

Revision ID: 0029_thread_embeddings
Revises: 0028_known_recent_affected
Create Date: 2026-12-06 03:10:00

"""
from alembic import op
import sqlalchemy as sa

import forum.db  # noqa: F401  (UTCDateTime in column types)

revision = '0029_thread_embeddings'
down_revision = '0028_known_recent_affected'
branch_labels = None
depends_on = None


def upgrade():
    # Empty at first: the background job (or `flask semantic reindex`) fills it.
    op.create_table(
        'thread_embeddings',
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('model', sa.String(length=60), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('stale', sa.Boolean(), nullable=False),
        sa.Column('updated_at', forum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_embeddings_thread_id_threads'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('thread_id', name=op.f('pk_thread_embeddings')),
    )
    op.create_index(op.f('ix_thread_embeddings_stale'), 'thread_embeddings', ['stale'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_thread_embeddings_stale'), table_name='thread_embeddings')
    op.drop_table('thread_embeddings')
