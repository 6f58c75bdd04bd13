"""drop accounts.nickname and purge staging rows

Revision ID: 9f8e7d6c5b4a
Revises: 5c6d7e8f9a0b
Create Date: 2025-02-01 16:40:02.000000

"""
from alembic import op
import sqlalchemy as sa

revision = '9f8e7d6c5b4a'
down_revision = '5c6d7e8f9a0b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("nickname")
    op.execute("DELETE FROM staging_accounts")


def downgrade():
    pass
