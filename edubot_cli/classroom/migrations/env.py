"""Alembic's environment for the classroom store: always given an open connection by ``classroom.migrate``
(online mode only), inside the transaction that caller began and holds a lock on."""

from __future__ import annotations

from alembic import context

from edubot_cli.classroom.schema import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the classroom migrations through edubot_cli.classroom.migrate, with a connection")

context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
