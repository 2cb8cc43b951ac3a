"""Search synonyms an administrator can edit, seeded with telecom support pairs

Revision ID: 0024_search_synonyms
Revises: 0023_carried_votes
Create Date: 2026-12-04 18:50:00

"""
from alembic import op
import sqlalchemy as sa

import forum.db  # noqa: F401  (UTCDateTime in column types)

revision = '0024_search_synonyms'
down_revision = '0023_carried_votes'
branch_labels = None
depends_on = None

SEED = [
    ("evening", "night"), ("broadband", "internet"), ("bill", "invoice"), ("charged", "billed"),
    ("refund", "money back"), ("disconnect", "drop"), ("slow", "sluggish"), ("cancel", "terminate"),
    ("router", "hub"), ("engineer", "technician"), ("outage", "fault"), ("mobile", "cell"),
    ("recording", "recorded"), ("vanished", "disappeared"), ("compensation", "refund"), ("lost", "disappeared"),
]


def upgrade():
    table = op.create_table(
        'search_synonyms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('word', sa.String(length=60), nullable=False),
        sa.Column('synonym', sa.String(length=60), nullable=False),
        sa.Column('created_at', forum.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_synonyms')),
        sa.UniqueConstraint('word', 'synonym', name=op.f('uq_search_synonyms_word')),
    )
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    op.bulk_insert(table, [{"word": a, "synonym": b, "created_at": now} for a, b in SEED])


def downgrade():
    op.drop_table('search_synonyms')
