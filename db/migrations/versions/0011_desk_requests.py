"""changes made from the desk, by request id, so a replay is refused

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_request",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("request_id", sa.String(length=100), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_desk_request_created_at", "desk_request", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_desk_request_created_at", table_name="desk_request")
    op.drop_table("desk_request")
