"""add reports.retention_days

Revision ID: 5d8e2b7c1f09
Revises: a3f1c9e2d7b4
Create Date: 2025-10-13 11:27:05.640113

"""
from alembic import op
import sqlalchemy as sa

revision = "5d8e2b7c1f09"
down_revision = "a3f1c9e2d7b4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET lock_timeout = '5s'")
    # Constant default: PostgreSQL 11+ stores it in the catalog, no table rewrite.
    op.add_column(
        "reports",
        sa.Column("retention_days", sa.Integer(), nullable=False, server_default="365"),
    )


def downgrade() -> None:
    op.execute("SET lock_timeout = '5s'")
    op.drop_column("reports", "retention_days")
