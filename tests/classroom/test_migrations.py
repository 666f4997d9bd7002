"""The schema's history: a database filled at revision 0001 upgrades to the head with every row intact, the head
matches ``schema.py``, the way back works; and opening a store (settings, URLs, errors, SQLite's settings)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from edubot_cli.classroom import codes, migrate
from edubot_cli.classroom.schema import VERSION_TABLE, metadata
from edubot_cli.classroom.store import ClassInfo, MessageRecord, Seat, Store, Student, database_url
from edubot_cli.config import load_settings
from edubot_cli.errors import ClassroomError, ConfigError
from tests.classroom.conftest import START, Clock

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def _fill_0001(engine: sa.engine.Engine) -> dict[str, int]:
    """Rows of every 0001 table, written through the 0001 schema as the database reflects it."""
    tables = sa.MetaData()
    tables.reflect(engine)
    t = tables.tables
    assert "feedback" not in t and "flags" not in t["messages"].c
    with engine.begin() as conn:
        conn.execute(
            t["classes"].insert(),
            [
                {
                    "id": "c1" * 16,
                    "name": "7B science",
                    "name_key": "7b science",
                    "code": "ABCDEFGH",
                    "mode": "quiz",
                    "scope": '["knowledge/science"]',
                    "daily_limit": 10,
                    "is_open": True,
                    "created": T0,
                },
                {
                    "id": "c2" * 16,
                    "name": "8C",
                    "name_key": "8c",
                    "code": "23456789",
                    "mode": "answer",
                    "scope": "[]",
                    "daily_limit": None,
                    "is_open": False,
                    "created": T0 + timedelta(minutes=1),
                },
            ],
        )
        conn.execute(
            t["students"].insert(),
            [
                {
                    "id": "s1" * 16,
                    "class_id": "c1" * 16,
                    "nickname": "Ana",
                    "nickname_key": "ana",
                    "created": T0,
                },
                {
                    "id": "s2" * 16,
                    "class_id": "c1" * 16,
                    "nickname": "Bo",
                    "nickname_key": None,
                    "created": T0,
                },
            ],
        )
        conn.execute(
            t["sessions"].insert(),
            {
                "token_hash": codes.token_hash("ana-token"),
                "student_id": "s1" * 16,
                "created": T0,
                "expires": START + timedelta(days=1),
            },
        )
        conn.execute(t["teacher_keys"].insert(), {"key_hash": codes.token_hash("teacher-key"), "created": T0})
        conn.execute(t["conversations"].insert(), {"id": "v1" * 16, "student_id": "s1" * 16, "started": T0})
        ids = {}
        ids["question"] = conn.execute(
            t["messages"].insert(),
            {
                "conversation_id": "v1" * 16,
                "role": "user",
                "text": "What is a cell?",
                "sources": "[]",
                "mode": "quiz",
                "created": T0 + timedelta(seconds=1),
            },
        ).inserted_primary_key[0]
        ids["answer"] = conn.execute(
            t["messages"].insert(),
            {
                "conversation_id": "v1" * 16,
                "role": "assistant",
                "text": "The unit of life.",
                "sources": '[{"path": "knowledge/science/cells/qna.yaml"}]',
                "mode": "quiz",
                "grounded": True,
                "prompt_tokens": 30,
                "completion_tokens": 5,
                "first_token_s": 0.2,
                "latency_s": 0.9,
                "finish_reason": "stop",
                "created": T0 + timedelta(seconds=2),
            },
        ).inserted_primary_key[0]
    return ids


def test_a_database_filled_at_0001_upgrades_with_every_row(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    migrate.upgrade(engine, "0001")
    assert migrate.current_revision(engine) == "0001"
    ids = _fill_0001(engine)
    engine.dispose()

    store = Store.connect(db_url, clock=Clock())
    try:
        assert migrate.current_revision(store.engine) == migrate.head_revision() == "0002"
        seven_b = ClassInfo(
            id="c1" * 16,
            name="7B science",
            code="ABCD-EFGH",
            mode="quiz",
            scope=("knowledge/science",),
            daily_limit=10,
            open=True,
            created=T0,
        )
        assert store.classes() == [
            seven_b,
            ClassInfo(
                id="c2" * 16,
                name="8C",
                code="2345-6789",
                mode="answer",
                scope=(),
                daily_limit=None,
                open=False,
                created=T0 + timedelta(minutes=1),
            ),
        ]
        ana = Student(id="s1" * 16, class_id="c1" * 16, nickname="Ana", created=T0)
        assert store.seat("ana-token") == Seat(student=ana, klass=seven_b)
        assert store.messages("v1" * 16) == [
            MessageRecord(
                id=ids["question"],
                conversation_id="v1" * 16,
                role="user",
                text="What is a cell?",
                created=T0 + timedelta(seconds=1),
                mode="quiz",
            ),
            MessageRecord(
                id=ids["answer"],
                conversation_id="v1" * 16,
                role="assistant",
                text="The unit of life.",
                created=T0 + timedelta(seconds=2),
                sources=[{"path": "knowledge/science/cells/qna.yaml"}],
                mode="quiz",
                grounded=True,
                prompt_tokens=30,
                completion_tokens=5,
                first_token_s=0.2,
                latency_s=0.9,
                finish_reason="stop",
                flags=[],  # 0002's column, filled for the old rows
            ),
        ]
        assert [s.student.nickname for s in store.students("c1" * 16)] == ["Ana", "Bo"]
        assert store.teacher_key_info() == T0
        assert store.teacher_login("teacher-key") is not None
        # what 0002 added works on the old rows
        store.add_feedback(ids["answer"], ana.id, 1, "clear")
        assert store.flag_message(ids["answer"], "refused") == ["refused"]
        newer = store.add_message("v1" * 16, "user", "And a tissue?")
        assert newer > ids["answer"]
        assert len(list(store.export("7B science"))) == 3
    finally:
        store.close()


def test_the_head_matches_schema_py(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(context, metadata) if VERSION_TABLE not in repr(d)]
    assert diff == []


def test_downgrade_to_0001_and_back(store: Store, db_url: str) -> None:
    klass = store.create_class("7B")
    seat, _ = store.join(klass.code, "Ana")
    conversation = store.new_conversation(seat.student.id)
    answer = store.add_message(conversation, "assistant", "hi", flags=["x"])
    store.add_feedback(answer, seat.student.id, 1, None)
    migrate.downgrade(store.engine, "0001")
    assert migrate.current_revision(store.engine) == "0001"
    assert "feedback" not in sa.inspect(store.engine).get_table_names()
    migrate.upgrade(store.engine)
    assert [m.flags for m in store.messages(conversation)] == [[]]
    assert store.get_class("7B") == klass


def test_a_newer_schema_is_refused(db_url: str) -> None:
    Store.connect(db_url).close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(ClassroomError) as info:
        Store.connect(db_url)
    assert info.value.message.startswith("the classroom database ")
    assert (
        "has a schema this edubot does not know (Can't locate revision identified by '0099')"
        in info.value.message
    )
    assert info.value.hint == "upgrade edubot to the version that wrote it"


def test_opening_twice_is_a_no_op(db_url: str) -> None:
    first = Store.connect(db_url)
    first.create_class("7B")
    second = Store.connect(db_url)
    assert [c.name for c in second.classes()] == ["7B"]
    first.close()
    second.close()


# -- opening from settings ----------------------------------------------------------------------------------------


def test_open_makes_the_data_folder_and_a_private_wal_file(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "school" / "data")
    with Store.open(settings) as store:
        store.create_class("7B")
        file = tmp_path / "school" / "data" / "edubot.sqlite3"
        assert store.url == f"sqlite:///{file}"
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
        with store.engine.connect() as conn:
            pragmas = [conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "busy_timeout")]
            assert pragmas == ["wal", 30000]
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_database_url_of_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_url(load_settings()) == f"sqlite:///{tmp_path / 'data' / 'edubot.sqlite3'}"
    for given, expected in [
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgres://u@h:5433/db", "postgresql+psycopg://u@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////srv/x.db", "sqlite:////srv/x.db"),
    ]:
        assert database_url(load_settings(database_url=given)) == expected
    assert not (tmp_path / "data").exists()


def test_open_postgres_through_settings(postgres_url: str, tmp_path: Path) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    settings = load_settings(database_url=plain, data_dir=tmp_path / "unused")
    with Store.open(settings) as store:
        assert store.dialect == "postgresql"
        store.create_class("7B")
    assert not (tmp_path / "unused").exists()


def test_bad_database_urls(tmp_path: Path) -> None:
    cases = [
        (
            "mysql://u@h/db",
            ConfigError,
            "unsupported database 'mysql' in database_url",
            "use PostgreSQL (postgresql+psycopg://…) or leave database_url empty for SQLite",
        ),
        (
            "not a url",
            ConfigError,
            "database_url is not a database URL",
            "write a SQLAlchemy URL: postgresql+psycopg://user:password@host/db, or leave it empty",
        ),
    ]
    for url, kind, message, hint in cases:
        with pytest.raises(kind) as info:
            Store.open(load_settings(database_url=url))
        assert (info.value.message, info.value.hint) == (message, hint)


def test_an_unreachable_server_is_one_clear_error() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ClassroomError) as info:
        Store.open(load_settings(database_url=f"postgresql://edubot:s3cret@127.0.0.1:{port}/school"))
    assert info.value.message.startswith(
        f"cannot open the classroom database postgresql+psycopg://edubot:***@127.0.0.1:{port}/school: "
    )
    assert "s3cret" not in str(info.value)
    assert info.value.hint == "check database_url and that its server runs"


def test_an_unusable_data_dir_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError) as info:
        Store.open(load_settings(data_dir=tmp_path / "file" / "data"))
    assert (info.value.message, info.value.hint) == (
        f"cannot create the data folder {tmp_path / 'file' / 'data'}: Not a directory",
        "set data_dir to a folder edubot may write",
    )
