"""repair requests

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 04:24:38.876596
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "repaircounter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_repaircounter")),
    )
    op.create_table(
        "repairrequest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("reporter_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("common_part", sa.Boolean(), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("route", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("route_reasons", sa.JSON(), nullable=False),
        sa.Column("route_override", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("estimate_fen", sa.Integer(), nullable=True),
        sa.Column("cost_fen", sa.Integer(), nullable=True),
        sa.Column("owners_fen", sa.Integer(), nullable=True),
        sa.Column("government_fen", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("staff_reminded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_repairrequest_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_repairrequest_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repairrequest")),
        sa.UniqueConstraint("number", name=op.f("uq_repairrequest_number")),
        sa.UniqueConstraint("year", "sequence", name=op.f("uq_repairrequest_year_sequence")),
    )
    with op.batch_alter_table("repairrequest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repairrequest_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_repairrequest_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_repairrequest_state"), ["state"], unique=False)

    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "property_manager", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.drop_column("property_manager")

    with op.batch_alter_table("repairrequest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repairrequest_state"))
        batch_op.drop_index(batch_op.f("ix_repairrequest_household_id"))
        batch_op.drop_index(batch_op.f("ix_repairrequest_community_id"))

    op.drop_table("repairrequest")
    op.drop_table("repaircounter")
