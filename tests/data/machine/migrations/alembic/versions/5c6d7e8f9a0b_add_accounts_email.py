"""add accounts.email

Revision ID: 5c6d7e8f9a0b
Revises: 1a2b3c4d5e6f
"""
from alembic import op
import sqlalchemy as sa

revision = "5c6d7e8f9a0b"
down_revision = "1a2b3c4d5e6f"


def upgrade():
    op.add_column("accounts", sa.Column("email", sa.String(255), server_default="", nullable=False))
    op.create_index("ix_accounts_email", "accounts", ["email"], unique=True)


def downgrade():
    op.drop_index("ix_accounts_email", table_name="accounts")
    op.drop_column("accounts", "email")
