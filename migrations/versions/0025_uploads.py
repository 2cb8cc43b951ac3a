"""Uploads: images and files in posts and wiki pages, profile pictures (issue #19)

Revision ID: 0025_uploads
Revises: 0024_search_synonyms
Create Date: 2026-12-05 16:45:00

"""
from alembic import op
import sqlalchemy as sa

import forum.db  # noqa: F401  (UTCDateTime in column types)

revision = '0025_uploads'
down_revision = '0024_search_synonyms'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('content_type', sa.String(length=60), nullable=False),
        sa.Column('extension', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('thumb_sha256', sa.String(length=64), nullable=True),
        sa.Column('thumb_content_type', sa.String(length=60), nullable=True),
        sa.Column('created_at', forum.db.UTCDateTime(), nullable=False),
        sa.Column('removed_at', forum.db.UTCDateTime(), nullable=True),
        sa.Column('removed_by_id', sa.Integer(), nullable=True),
        sa.Column('removed_reason', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['removed_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('owner_id', 'sha256', 'kind', name='uq_uploads_owner_sha_kind'),
    )
    op.create_index('ix_uploads_sha256', 'uploads', ['sha256'])
    op.create_index('ix_uploads_owner_created', 'uploads', ['owner_id', 'created_at'])
    op.create_index('ix_uploads_removed_by_id', 'uploads', ['removed_by_id'])
    op.create_table(
        'upload_uses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=True),
        sa.Column('wiki_page_id', sa.Integer(), nullable=True),
        sa.Column('created_at', forum.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['wiki_page_id'], ['wiki_pages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('upload_id', 'post_id', name='uq_upload_uses_post'),
        sa.UniqueConstraint('upload_id', 'wiki_page_id', name='uq_upload_uses_wiki_page'),
    )
    op.create_index('ix_upload_uses_upload_id', 'upload_uses', ['upload_id'])
    op.create_index('ix_upload_uses_post_id', 'upload_uses', ['post_id'])
    op.create_index('ix_upload_uses_wiki_page_id', 'upload_uses', ['wiki_page_id'])
    op.create_table(
        'upload_blobs',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', forum.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('sha256'),
    )
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('avatar_sha256', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('avatar_sha256')
    op.drop_table('upload_blobs')
    op.drop_table('upload_uses')
    op.drop_table('uploads')
