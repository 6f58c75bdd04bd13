"""report_schedules.timezone not null

Revision ID: e92b6d4a7c18
Revises: c41f7a9e0b36
Create Date: 2025-11-28 10:05:52.217649

"""
from alembic import op
import sqlalchemy as sa

revision = "e92b6d4a7c18"
down_revision = "c41f7a9e0b36"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Fail fast instead of queueing behind a long transaction (see 2025-12-04 observation).
    op.execute("SET lock_timeout = '5s'")
    op.execute("UPDATE report_schedules SET timezone = 'UTC' WHERE timezone IS NULL")
    op.alter_column("report_schedules", "timezone", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    op.execute("SET lock_timeout = '5s'")
    op.alter_column("report_schedules", "timezone", existing_type=sa.String(length=64), nullable=True)
