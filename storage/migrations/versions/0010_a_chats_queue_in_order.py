"""the outbox read in the order it was queued, per chat

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_due")
        batch_op.create_index("ix_delivery_queue", ["state", "id"], unique=False)
        batch_op.create_index(
            "ix_delivery_chat_queue", ["telegram_id", "state", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_chat_queue")
        batch_op.drop_index("ix_delivery_queue")
        batch_op.create_index("ix_delivery_due", ["state", "not_before"], unique=False)
