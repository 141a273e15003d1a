"""when each household was registered, so a round counts those it opened with

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Households registered before this column existed were there before any round opened.
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    registered_at = storage.types.UTCDateTime(timezone=True)
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registered_at", registered_at, nullable=True))
    household = sa.table("household", sa.column("registered_at", registered_at))
    op.execute(household.update().values(registered_at=LONG_AGO))
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.alter_column("registered_at", existing_type=registered_at, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("registered_at")
