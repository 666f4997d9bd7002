"""Message flags (safety, refusals) and students' feedback on answers; an index on message times for retention
and the day's stats.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: SQLite adds the column in place (no table copy) and every existing message gets [].
    op.add_column("messages", sa.Column("flags", sa.Text, nullable=False, server_default=sa.text("'[]'")))
    op.create_index("ix_messages_created", "messages", ["created"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "message_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "student_id", sa.String(32), sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("message_id", "student_id", name="uq_feedback_message_student"),
    )


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_index("ix_messages_created", table_name="messages")
    # SQLite cannot drop a column in place before 3.35; batch mode copies the table.
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("flags")
