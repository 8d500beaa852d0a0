"""update inbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Telegram updates are written down on arrival and marked done once handled, replacing the
list of handled update ids (which only served to skip duplicates).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "update_inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id"),
    )
    with op.batch_alter_table("update_inbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_update_inbox_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            "ix_update_inbox_unfinished",
            ["claimed_at"],
            unique=False,
            postgresql_where=sa.text("done_at IS NULL"),
            sqlite_where=sa.text("done_at IS NULL"),
        )
    # Recently handled ids carry over, so a retried delivery is still recognised.
    op.execute(
        "INSERT INTO update_inbox (update_id, received_at, claimed_at, done_at)"
        " SELECT update_id, at, at, at FROM processed_update"
    )
    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_update_at"))
    op.drop_table("processed_update")


def downgrade() -> None:
    op.create_table(
        "processed_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processed_update_at"), ["at"], unique=False)
    # Only finished ones: an unfinished update recorded as handled would never be handled.
    op.execute(
        "INSERT INTO processed_update (update_id, at)"
        " SELECT update_id, received_at FROM update_inbox WHERE done_at IS NOT NULL"
    )
    with op.batch_alter_table("update_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_update_inbox_unfinished")
        batch_op.drop_index(batch_op.f("ix_update_inbox_received_at"))
    op.drop_table("update_inbox")
