"""Alembic's script folder for the classroom store (``env.py`` and ``versions/``), run in code by
``edubot_cli.classroom.migrate``: no alembic.ini is needed at run time.

A new revision is written by hand from ``script.py.mako`` as ``versions/NNNN_<what>.py`` (``revision``,
``down_revision``, ``upgrade``, ``downgrade``), self-contained (it never imports ``schema``, which moves on); then
``schema.py`` changes to match (``tests/classroom/test_migrations.py`` compares the two) and a test upgrades a
database filled at the previous revision.
"""
