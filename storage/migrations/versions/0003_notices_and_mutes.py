"""notices and mutes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:23:50.774409
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_file_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("document_file_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("first_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("repeat_days", sa.Integer(), nullable=True),
        sa.Column("until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_next_at"), ["next_at"], unique=False)

    op.create_table(
        "mute",
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["telegram_id"], ["user.telegram_id"], name=op.f("fk_mute_telegram_id_user")
        ),
        sa.PrimaryKeyConstraint("telegram_id", "kind", name=op.f("pk_mute")),
    )
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "document_file_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("parse_mode", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(sa.Column("progress_message_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reported_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_column("reported_at")
        batch_op.drop_column("progress_message_id")
        batch_op.drop_column("parse_mode")
        batch_op.drop_column("document_file_id")

    op.drop_table("mute")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_next_at"))

    op.drop_table("notice")
