"""Bringing a classroom database to a schema revision with Alembic, in code (no alembic.ini).

One process at a time migrates: on SQLite the migration runs in a ``BEGIN IMMEDIATE`` transaction (the database's
write lock), on PostgreSQL under a transaction-scoped advisory lock, so that several backends starting at once on a
fresh database create the tables once and the others find them made.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Engine

SCRIPTS = Path(__file__).resolve().parent / "migrations"
HEAD = "head"
_PG_LOCK = 0x6564_7562_6F74  # "edubot": the advisory lock key of the migration


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    return config


def head_revision() -> str:
    """The newest revision of ``migrations/versions``."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    from .schema import VERSION_TABLE

    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: Engine, revision: str = HEAD) -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (a no-op when it is there already)."""
    from alembic import command
    from sqlalchemy import text

    config = _config()
    with engine.connect() as conn:
        conn.execution_options(edubot_write=True)  # SQLite: BEGIN IMMEDIATE (see store._sqlite_engine)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the database behind ``engine`` to ``revision`` (for tests of a migration's way back)."""
    from alembic import command

    config = _config()
    with engine.connect() as conn:
        conn.execution_options(edubot_write=True)
        with conn.begin():
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
