"""a ballot records its channel, who entered it and the evidence; a household its floor area

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("floor_area_dm2", sa.Integer(), nullable=True))
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.alter_column("cast_by", existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(
            sa.Column(
                "channel",
                sqlmodel.sql.sqltypes.AutoString(length=10),
                server_default="bot",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("evidence", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch_op.add_column(
            sa.Column("collector", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(sa.Column("answered_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )


def downgrade() -> None:
    op.execute("DELETE FROM ballot WHERE cast_by IS NULL")
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("answered_on")
        batch_op.drop_column("collector")
        batch_op.drop_column("evidence")
        batch_op.drop_column("channel")
        batch_op.alter_column("cast_by", existing_type=sa.BigInteger(), nullable=False)
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("floor_area_dm2")
