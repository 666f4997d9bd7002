"""The first classroom schema: classes, students, sessions, the teacher key and sessions, conversations, messages.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(32)
HASH = sa.String(64)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "classes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("daily_limit", sa.Integer, nullable=True),
        sa.Column("is_open", sa.Boolean, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.UniqueConstraint("name_key", name="uq_classes_name_key"),
        sa.UniqueConstraint("code", name="uq_classes_code"),
    )
    op.create_table(
        "students",
        sa.Column("id", ID, primary_key=True),
        sa.Column("class_id", ID, sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("nickname", sa.String(64), nullable=False),
        sa.Column("nickname_key", sa.String(64), nullable=True),
        sa.Column("created", TIME, nullable=False),
        sa.UniqueConstraint("class_id", "nickname_key", name="uq_students_class_nickname"),
    )
    op.create_index("ix_students_class_id", "students", ["class_id"])
    op.create_table(
        "sessions",
        sa.Column("token_hash", HASH, primary_key=True),
        sa.Column("student_id", ID, sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.Column("expires", TIME, nullable=False),
    )
    op.create_index("ix_sessions_student_id", "sessions", ["student_id"])
    op.create_table(
        "teacher_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_hash", HASH, nullable=False),
        sa.Column("created", TIME, nullable=False),
        sa.UniqueConstraint("key_hash", name="uq_teacher_keys_key_hash"),
    )
    op.create_table(
        "teacher_sessions",
        sa.Column("token_hash", HASH, primary_key=True),
        sa.Column("created", TIME, nullable=False),
        sa.Column("expires", TIME, nullable=False),
    )
    op.create_table(
        "conversations",
        sa.Column("id", ID, primary_key=True),
        sa.Column("student_id", ID, sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False),
        sa.Column("started", TIME, nullable=False),
    )
    op.create_index("ix_conversations_student_id", "conversations", ["student_id"])
    op.create_table(
        "messages",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column(
            "conversation_id", ID, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sources", sa.Text, nullable=False),
        sa.Column("mode", sa.String(16), nullable=True),
        sa.Column("grounded", sa.Boolean, nullable=True),
        sa.Column("prompt_tokens", sa.Integer, nullable=True),
        sa.Column("completion_tokens", sa.Integer, nullable=True),
        sa.Column("first_token_s", sa.Float, nullable=True),
        sa.Column("latency_s", sa.Float, nullable=True),
        sa.Column("finish_reason", sa.String(32), nullable=True),
        sa.Column("created", TIME, nullable=False),
    )
    op.create_index("ix_messages_conversation_id", "messages", ["conversation_id"])


def downgrade() -> None:
    for table in ("messages", "conversations", "teacher_sessions", "teacher_keys", "sessions", "students"):
        op.drop_table(table)
    op.drop_table("classes")
