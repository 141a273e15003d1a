"""consultations and the delivery outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:06:24.821017
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("message_key", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_file_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast")),
    )
    op.create_table(
        "consultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("threshold_percent", sa.Integer(), nullable=False),
        sa.Column("total_households", sa.Integer(), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("remind_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("agree", sa.Integer(), nullable=True),
        sa.Column("disagree", sa.Integer(), nullable=True),
        sa.Column("reached", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_consultation_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation")),
    )
    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            "uq_consultation_open_round",
            ["community_id", "round"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("not_before", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcast.id"], name=op.f("fk_delivery_broadcast_id_broadcast")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint(
            "broadcast_id", "telegram_id", name=op.f("uq_delivery_broadcast_id_telegram_id")
        ),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_broadcast_id"), ["broadcast_id"], unique=False
        )
        batch_op.create_index("ix_delivery_due", ["state", "not_before"], unique=False)

    op.create_table(
        "ballot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("choice", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("cast_by", sa.BigInteger(), nullable=False),
        sa.Column("cast_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_ballot_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_ballot_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot")),
        sa.UniqueConstraint(
            "consultation_id", "household_id", name=op.f("uq_ballot_consultation_id_household_id")
        ),
    )
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ballot_household_id"), ["household_id"], unique=False)

    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "renovation",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="not_consulted",
            )
        )

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("telegram_language", sqlmodel.sql.sqltypes.AutoString(length=20))
        )
        batch_op.add_column(
            sa.Column("unreachable_since", storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("unreachable_since")
        batch_op.drop_column("telegram_language")

    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.drop_column("renovation")

    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ballot_household_id"))

    op.drop_table("ballot")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_due")
        batch_op.drop_index(batch_op.f("ix_delivery_broadcast_id"))

    op.drop_table("delivery")
    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_consultation_open_round",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_consultation_community_id"))

    op.drop_table("consultation")
    op.drop_table("broadcast")
