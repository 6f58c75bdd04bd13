"""half-written migration"""
from alembic import op

revision = "0bad0bad0bad"
down_revision = "9f8e7d6c5b4a"

def upgrade():
    op.add_column("accounts", sa.Column("x", sa.Integer()
