"""answers judged wrong go to the queue

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "unmatched_query", sa.Column("judged_wrong", sa.String(length=200), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("unmatched_query") as batch:
        batch.drop_column("judged_wrong")
