"""renovation project stages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:35:14.852424
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "projectstage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("reached_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_projectstage_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projectstage")),
        sa.UniqueConstraint(
            "community_id", "stage", name=op.f("uq_projectstage_community_id_stage")
        ),
    )
    with op.batch_alter_table("projectstage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_projectstage_community_id"), ["community_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("projectstage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projectstage_community_id"))

    op.drop_table("projectstage")
