"""The classroom record: classes with join codes, pseudonymous students, their sessions and conversations, the
teacher key, feedback; export, purge and retention.

``store.Store`` is the one entry point (SQLite by default, PostgreSQL by ``database_url``); ``codes`` makes join
codes and tokens; ``schema`` and ``migrations/`` are the tables and their Alembic history. Nothing here imports
SQLAlchemy, Alembic or psycopg at module level of ``store`` or ``codes``, so that the CLI starts fast.
"""
