"""moderator form drafts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "form_draft",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "chat_id"),
    )
    with op.batch_alter_table("form_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_draft_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("form_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_draft_updated_at"))
    op.drop_table("form_draft")
