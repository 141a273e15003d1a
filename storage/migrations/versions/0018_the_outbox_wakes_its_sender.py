"""the outbox tells its sender when messages are queued (PostgreSQL: NOTIFY linli_outbox)

Whichever process queues a message, by any statement that leaves a delivery
pending, the leader hears of it at commit instead of asking the database every
second. SQLite has no such channel; nothing changes there.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 23:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A trigger with a transition table serves one event, so INSERT and UPDATE have one each;
# both name the table "queued", and per statement, not per row: a broadcast to 40,000
# households notifies once.
NOTIFY_WHEN_PENDING = """
CREATE FUNCTION linli_outbox_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM queued WHERE state = 'pending') THEN
        PERFORM pg_notify('linli_outbox', '');
    END IF;
    RETURN NULL;
END
$$
"""
TRIGGERS = {"delivery_queued": "INSERT", "delivery_requeued": "UPDATE"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NOTIFY_WHEN_PENDING)
    for name, event in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON delivery REFERENCING NEW TABLE AS queued "
            "FOR EACH STATEMENT EXECUTE FUNCTION linli_outbox_queued()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON delivery")
    op.execute("DROP FUNCTION linli_outbox_queued()")
