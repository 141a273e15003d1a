"""buildings keep the registry's own spelling (3号楼, A座) for display

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spelling", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.drop_column("spelling")
