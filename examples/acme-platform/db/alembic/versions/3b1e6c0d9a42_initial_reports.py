"""initial reports schema

Revision ID: 3b1e6c0d9a42
Revises:
Create Date: 2025-03-11 09:40:12.331870

"""
from alembic import op
import sqlalchemy as sa

revision = "3b1e6c0d9a42"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False, server_default="queued"),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("s3_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_reports_account_id", "reports", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_reports_account_id", table_name="reports")
    op.drop_table("reports")
