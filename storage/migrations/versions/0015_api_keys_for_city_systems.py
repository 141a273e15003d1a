"""api keys for city systems; requests filed without a Telegram reporter

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apikey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apikey")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_apikey_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_apikey_name")),
    )
    op.create_table(
        "apikeycommunity",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["apikey.id"], name=op.f("fk_apikeycommunity_api_key_id_apikey")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_apikeycommunity_community_id_community"),
        ),
        sa.PrimaryKeyConstraint("api_key_id", "community_id", name=op.f("pk_apikeycommunity")),
    )
    with op.batch_alter_table("repairrequest", schema=None) as batch_op:
        batch_op.alter_column("reporter_telegram_id", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    # Requests a city system filed had no reporter; 0 stands for none in the older schema.
    repair = sa.table("repairrequest", sa.column("reporter_telegram_id", sa.BigInteger()))
    op.execute(
        repair.update()
        .where(repair.c.reporter_telegram_id.is_(None))
        .values(reporter_telegram_id=0)
    )
    with op.batch_alter_table("repairrequest", schema=None) as batch_op:
        batch_op.alter_column("reporter_telegram_id", existing_type=sa.BigInteger(), nullable=False)
    op.drop_table("apikeycommunity")
    op.drop_table("apikey")
