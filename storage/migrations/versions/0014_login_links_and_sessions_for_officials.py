"""one-time login links and sessions for the officials' pages

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:15:27.658859
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weblogin",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_telegram_id"],
            ["staff.telegram_id"],
            name=op.f("fk_weblogin_staff_telegram_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_weblogin")),
    )
    with op.batch_alter_table("weblogin", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_weblogin_staff_telegram_id"), ["staff_telegram_id"], unique=False
        )

    op.create_table(
        "websession",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_telegram_id"],
            ["staff.telegram_id"],
            name=op.f("fk_websession_staff_telegram_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_websession")),
    )
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_websession_staff_telegram_id"), ["staff_telegram_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_websession_staff_telegram_id"))

    op.drop_table("websession")
    with op.batch_alter_table("weblogin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_weblogin_staff_telegram_id"))

    op.drop_table("weblogin")
