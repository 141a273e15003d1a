"""questions and the FAQ

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 04:35:48.815976
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faqentry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("question_zh", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("answer_zh", sa.Text(), nullable=False),
        sa.Column("question_en", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("answer_en", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_faqentry_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faqentry")),
    )
    with op.batch_alter_table("faqentry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_faqentry_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("asker_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("faq_entry_id", sa.Integer(), nullable=True),
        sa.Column("waiting_since", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_question_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["faq_entry_id"], ["faqentry.id"], name=op.f("fk_question_faq_entry_id_faqentry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question")),
    )
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_question_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_question_state"), ["state"], unique=False)

    op.create_table(
        "questionmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("from_staff", sa.Boolean(), nullable=False),
        sa.Column("author_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["question.id"], name=op.f("fk_questionmessage_question_id_question")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionmessage")),
    )
    with op.batch_alter_table("questionmessage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionmessage_question_id"), ["question_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("questionmessage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionmessage_question_id"))

    op.drop_table("questionmessage")
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_state"))
        batch_op.drop_index(batch_op.f("ix_question_community_id"))

    op.drop_table("question")
    with op.batch_alter_table("faqentry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faqentry_community_id"))

    op.drop_table("faqentry")
