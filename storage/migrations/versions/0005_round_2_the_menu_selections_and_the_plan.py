"""round 2: the menu, selections and the plan

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 04:02:55.754575
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "menuitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name_zh", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description_zh", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("description_en", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("item_class", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("cost_fen", sa.Integer(), nullable=False),
        sa.Column("picture", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_menuitem")),
        sa.UniqueConstraint("code", name=op.f("uq_menuitem_code")),
    )
    op.create_table(
        "consultationitem",
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("chosen_by", sa.Integer(), nullable=True),
        sa.Column("in_plan", sa.Boolean(), nullable=True),
        sa.Column("plan_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_consultationitem_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["menuitem.id"], name=op.f("fk_consultationitem_item_id_menuitem")
        ),
        sa.PrimaryKeyConstraint("consultation_id", "item_id", name=op.f("pk_consultationitem")),
    )
    op.create_table(
        "selection",
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_selection_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_selection_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["menuitem.id"], name=op.f("fk_selection_item_id_menuitem")
        ),
        sa.PrimaryKeyConstraint(
            "consultation_id", "household_id", "item_id", name=op.f("pk_selection")
        ),
    )
    with op.batch_alter_table("selection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_selection_item_id"), ["item_id"], unique=False)

    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_items", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_items", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("budget_fen", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("inclusion_percent", sa.Integer(), server_default="50", nullable=False)
        )
        batch_op.add_column(sa.Column("plan_budget_fen", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "override_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("plan_confirmed_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.drop_column("plan_confirmed_at")
        batch_op.drop_column("override_reason")
        batch_op.drop_column("plan_budget_fen")
        batch_op.drop_column("inclusion_percent")
        batch_op.drop_column("budget_fen")
        batch_op.drop_column("max_items")
        batch_op.drop_column("min_items")

    with op.batch_alter_table("selection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selection_item_id"))

    op.drop_table("selection")
    op.drop_table("consultationitem")
    op.drop_table("menuitem")
