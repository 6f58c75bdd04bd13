"""add report status index

Revision ID: a3f1c9e2d7b4
Revises: 3b1e6c0d9a42
Create Date: 2025-09-19 15:02:47.118204

"""
from alembic import op

revision = "a3f1c9e2d7b4"
down_revision = "3b1e6c0d9a42"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # CONCURRENTLY cannot run inside a transaction; the dashboard query must keep working.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_reports_status_created_at",
            "reports",
            ["status", "created_at"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_reports_status_created_at",
            table_name="reports",
            postgresql_concurrently=True,
            if_exists=True,
        )
