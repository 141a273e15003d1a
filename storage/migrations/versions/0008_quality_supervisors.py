"""quality supervisors

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 04:43:01.030694
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supervisor",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("appointed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_supervisor_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["telegram_id"], ["user.telegram_id"], name=op.f("fk_supervisor_telegram_id_user")
        ),
        sa.PrimaryKeyConstraint("community_id", "telegram_id", name=op.f("pk_supervisor")),
    )


def downgrade() -> None:
    op.drop_table("supervisor")
