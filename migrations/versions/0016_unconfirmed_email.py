"""Registration does not reveal who has an account: the address typed is kept aside

Revision ID: 0016_unconfirmed_email
Revises: 0015_lifeboat
Create Date: 2026-12-04 18:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0016_unconfirmed_email'
down_revision = '0015_lifeboat'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unconfirmed_email', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('unconfirmed_email')
