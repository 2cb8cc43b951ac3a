"""Search: documents by time, and opening posts by time, so PostgreSQL ranks the newest
matches; the titles' words kept in a table for "did you mean"

Revision ID: 0027_search_newest_first
Revises: 0026_affected_recent_index
Create Date: 2026-12-06 00:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0027_search_newest_first'
down_revision = '0026_affected_recent_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'search_title_words',
        sa.Column('word', sa.String(length=100), nullable=False),
        sa.Column('documents', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('word', name=op.f('pk_search_title_words')),
    )
    op.create_index('ix_search_documents_created_at', 'search_documents', ['created_at'], unique=False)
    op.create_index(
        'ix_search_documents_titled_created_at', 'search_documents', ['created_at'], unique=False,
        postgresql_where=sa.text("opening IS true OR kind = 'wiki'"),
        sqlite_where=sa.text("opening = 1 OR kind = 'wiki'"),
    )


def downgrade():
    op.drop_index('ix_search_documents_titled_created_at', table_name='search_documents')
    op.drop_index('ix_search_documents_created_at', table_name='search_documents')
    op.drop_table('search_title_words')
