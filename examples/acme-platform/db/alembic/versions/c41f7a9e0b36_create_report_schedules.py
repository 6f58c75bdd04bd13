"""create report_schedules

Revision ID: c41f7a9e0b36
Revises: 5d8e2b7c1f09
Create Date: 2025-10-29 16:44:31.902377

"""
from alembic import op
import sqlalchemy as sa

revision = "c41f7a9e0b36"
down_revision = "5d8e2b7c1f09"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_schedules",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("cron", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=False, server_default="pdf"),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_report_schedules_next_run_at", "report_schedules", ["next_run_at"])
    op.create_index("ix_report_schedules_account_id", "report_schedules", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_report_schedules_account_id", table_name="report_schedules")
    op.drop_index("ix_report_schedules_next_run_at", table_name="report_schedules")
    op.drop_table("report_schedules")
