"""The classroom tables at the head revision, as SQLAlchemy Core ``Table`` objects for the store's queries.

The database itself is made and changed only by the Alembic revisions in ``migrations/versions`` (each one
self-contained, never importing this module); ``tests/classroom/test_migrations.py`` checks that the two agree.
Times are stored in UTC; JSON values (sources, scope, flags) as compact JSON text, so that they compare as text on
every database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

VERSION_TABLE = "edubot_schema_version"
"""Alembic's version table, named for edubot so that it cannot clash in a database shared with another app."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime in, a UTC datetime out; SQLite (which keeps no zone) stores it as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(TypeDecorator[Any]):
    """A JSON value kept as compact text (``[]``, ``["a"]``): comparable with ``=`` on SQLite and PostgreSQL alike
    (PostgreSQL's ``json`` type has no equality)."""

    impl = sa.Text()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


ID = sa.String(32)  # secrets.token_hex(16)
HASH = sa.String(64)  # sha256 hex
MESSAGE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid, autoincremented

metadata = sa.MetaData()

classes = sa.Table(
    "classes",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("name_key", sa.String(100), nullable=False),  # casefolded: names are one per case
    sa.Column("code", sa.String(16), nullable=False),  # stored without the dash
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("scope", JSONText, nullable=False),
    sa.Column("daily_limit", sa.Integer, nullable=True),
    sa.Column("is_open", sa.Boolean, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name_key", name="uq_classes_name_key"),
    sa.UniqueConstraint("code", name="uq_classes_code"),
)

students = sa.Table(
    "students",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("class_id", ID, sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("nickname", sa.String(64), nullable=False),
    # The casefolded nickname while a session holds it, NULL once released (left, expired, class closed): a
    # nickname is taken only by a student who is in the room, and a released one never leads back to them.
    sa.Column("nickname_key", sa.String(64), nullable=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.UniqueConstraint("class_id", "nickname_key", name="uq_students_class_nickname"),
    sa.Index("ix_students_class_id", "class_id"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", HASH, primary_key=True),
    sa.Column("student_id", ID, sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("expires", UTCDateTime, nullable=False),
    sa.Index("ix_sessions_student_id", "student_id"),
)

teacher_keys = sa.Table(
    "teacher_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_hash", HASH, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.UniqueConstraint("key_hash", name="uq_teacher_keys_key_hash"),
)

teacher_sessions = sa.Table(
    "teacher_sessions",
    metadata,
    sa.Column("token_hash", HASH, primary_key=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("expires", UTCDateTime, nullable=False),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("student_id", ID, sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False),
    sa.Column("started", UTCDateTime, nullable=False),
    sa.Index("ix_conversations_student_id", "student_id"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", MESSAGE_ID, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", ID, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("sources", JSONText, nullable=False),
    sa.Column("mode", sa.String(16), nullable=True),
    sa.Column("grounded", sa.Boolean, nullable=True),
    sa.Column("prompt_tokens", sa.Integer, nullable=True),
    sa.Column("completion_tokens", sa.Integer, nullable=True),
    sa.Column("first_token_s", sa.Float, nullable=True),
    sa.Column("latency_s", sa.Float, nullable=True),
    sa.Column("finish_reason", sa.String(32), nullable=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("flags", JSONText, nullable=False, server_default=sa.text("'[]'")),  # 0002
    sa.Index("ix_messages_conversation_id", "conversation_id"),
    sa.Index("ix_messages_created", "created"),  # 0002: retention and the day's stats
)

feedback = sa.Table(  # 0002
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", MESSAGE_ID, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("student_id", ID, sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.UniqueConstraint("message_id", "student_id", name="uq_feedback_message_student"),
)
