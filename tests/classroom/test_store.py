"""The classroom store, on SQLite and on a real PostgreSQL (see conftest.py): classes and codes, joining, sessions,
the teacher key, conversations, stats, feedback, export, purge and retention."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from edubot_cli.classroom import codes
from edubot_cli.classroom.store import (
    BadNickname,
    ClassClosed,
    ClassInfo,
    ClassroomError,
    ConversationSummary,
    DuplicateClass,
    MessageRecord,
    NicknameTaken,
    Seat,
    Store,
    Student,
    StudentSummary,
    UnknownClass,
    UnknownCode,
    UnknownMessage,
    UnknownStudent,
)
from tests.classroom.conftest import START, Clock


def _error(info: pytest.ExceptionInfo[ClassroomError]) -> tuple[str, str | None]:
    return info.value.message, info.value.hint


# -- classes and codes ------------------------------------------------------------------------------------------


def test_create_class_stores_every_field(store: Store) -> None:
    made = store.create_class(
        "  7B   science ",
        mode="hints",
        scope=["knowledge/science/", "knowledge\\science", "math"],
        daily_limit=20,
    )
    assert dataclasses.replace(made, id="-", code="-") == ClassInfo(
        id="-",
        name="7B science",
        code="-",
        mode="hints",
        scope=("knowledge/science", "math"),
        daily_limit=20,
        open=True,
        created=START,
    )
    assert len(made.id) == 32
    assert made.code[4] == "-" and codes.normalize_code(made.code) == made.code.replace("-", "")
    assert store.get_class("7b SCIENCE") == made
    assert store.classes() == [made]
    assert store.get_class_by_id(made.id) == made
    assert store.get_class_by_id("nope") is None


def test_class_names_are_unique_without_case(store: Store) -> None:
    store.create_class("7B")
    with pytest.raises(DuplicateClass) as info:
        store.create_class("7b")
    assert _error(info) == (
        "a class named '7b' already exists",
        "pick another name; `edubot class list` shows the classes",
    )
    assert [c.name for c in store.classes()] == ["7B"]


def test_bad_class_values_are_refused(store: Store) -> None:
    with pytest.raises(ClassroomError) as info:
        store.create_class("x", mode="lecture")
    assert _error(info) == ("unknown mode 'lecture'", "use one of: answer, hints, quiz")
    with pytest.raises(ClassroomError) as info:
        store.create_class("x", daily_limit=0)
    assert _error(info) == ("invalid daily limit 0: it must be at least 1", "leave it out for no limit")
    with pytest.raises(ClassroomError) as info:
        store.create_class(" \t")
    assert info.value.message == "invalid class name ' \\t': it must be 1 to 100 printable characters"
    with pytest.raises(ClassroomError) as info:
        store.create_class("x", scope=["../secrets"])
    assert info.value.message == "invalid scope '../secrets': give a folder of the taxonomy"
    assert store.classes() == []
    assert not store.has_classes()


def test_unknown_class(store: Store) -> None:
    for call in (
        lambda: store.get_class("9Z"),
        lambda: store.set_open("9Z", False),
        lambda: store.rotate_code("9Z"),
        lambda: store.export("9Z"),
        lambda: store.purge("9Z"),
    ):
        with pytest.raises(UnknownClass) as info:
            call()
        assert _error(info) == ("no class named '9Z'", "`edubot class list` shows the classes")


def test_join_codes_are_unique_and_from_the_alphabet(store: Store) -> None:
    made = [store.create_class(f"class {i}") for i in range(60)]
    plain = [c.code.replace("-", "") for c in made]
    assert len(set(plain)) == 60
    assert all(len(p) == 8 and set(p) <= set(codes.ALPHABET) for p in plain)
    assert store.has_classes()


def test_code_forms() -> None:
    assert codes.ALPHABET == "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    assert len(codes.ALPHABET) == 31 and not set("01ILO") & set(codes.ALPHABET)
    assert codes.format_code("ABCDEFGH") == "ABCD-EFGH"
    assert codes.format_code("abcd-efgh") == "ABCD-EFGH"
    for typed in ("ABCD-EFGH", "abcd-efgh", "abcdefgh", " ab cd ef gh ", "ABCD–EFGH", "abcd\u00a0efgh"):
        assert codes.normalize_code(typed) == "ABCDEFGH", typed
    for bad in ("", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFG1", "ABCD-EFGO", "ABCD_EFGH"):
        assert codes.normalize_code(bad) is None, bad
    many = {codes.new_code() for _ in range(2000)}
    assert len(many) == 2000
    assert all(codes.normalize_code(c) == c for c in many)
    token = codes.new_token()
    assert len(token) == 43 and codes.token_hash(token) != token and len(codes.token_hash(token)) == 64


# -- joining ------------------------------------------------------------------------------------------------------


def test_join_with_the_code_in_any_form(store: Store, clock: Clock) -> None:
    klass = store.create_class("7B")
    clock.advance(minutes=1)
    typed = klass.code.lower().replace("-", " ")
    seat, token = store.join(typed, "  Ana   Lu ")
    assert seat == Seat(
        student=Student(
            id=seat.student.id, class_id=klass.id, nickname="Ana Lu", created=START + timedelta(minutes=1)
        ),
        klass=klass,
    )
    assert len(token) == 43
    assert store.seat(token) == seat
    assert store.seat("not a token") is None
    assert store.student(seat.student.id) == seat.student
    assert store.student("nope") is None


def test_join_errors(store: Store) -> None:
    klass = store.create_class("7B")
    store.join(klass.code, "Ana")
    cases: list[tuple[str, str, type[ClassroomError], tuple[str, str | None]]] = [
        (
            "2222-2222",
            "Bo",
            UnknownCode,
            (
                "no class has this code",
                "check the code your teacher gave (8 letters and digits, like ABCD-EFGH)",
            ),
        ),
        (
            "hello",
            "Bo",
            UnknownCode,
            (
                "no class has this code",
                "check the code your teacher gave (8 letters and digits, like ABCD-EFGH)",
            ),
        ),
        (
            klass.code,
            "ANA",
            NicknameTaken,
            ("the nickname 'ANA' is taken in this class", "pick another nickname (add a letter or a number)"),
        ),
        (
            klass.code,
            " ",
            BadNickname,
            ("a nickname must be 1 to 32 printable characters", "pick a short nickname; not your full name"),
        ),
        (
            klass.code,
            "x" * 33,
            BadNickname,
            ("a nickname must be 1 to 32 printable characters", "pick a short nickname; not your full name"),
        ),
        (
            klass.code,
            "a\x00b",
            BadNickname,
            ("a nickname must be 1 to 32 printable characters", "pick a short nickname; not your full name"),
        ),
    ]
    for code, nick, kind, expected in cases:
        with pytest.raises(kind) as info:
            store.join(code, nick)
        assert _error(info) == expected, (code, nick)
    store.set_open("7b", False)
    with pytest.raises(ClassClosed) as closed:
        store.join(klass.code, "Bo")
    assert _error(closed) == ("the class '7B' is closed", "ask your teacher to open it again")
    assert [s.student.nickname for s in store.students(klass.id)] == ["Ana"]


def test_the_same_nickname_in_two_classes(store: Store) -> None:
    a, b = store.create_class("A"), store.create_class("B")
    store.join(a.code, "Ana")
    seat, _ = store.join(b.code, "ana")
    assert seat.klass == b


def test_closing_a_class_ends_its_sessions_at_once(store: Store, clock: Clock) -> None:
    klass = store.create_class("7B")
    other = store.create_class("8C")
    ana, ana_token = store.join(klass.code, "Ana")
    _, bo_token = store.join(klass.code, "Bo")
    _, zoe_token = store.join(other.code, "Zoe")
    conversation = store.new_conversation(ana.student.id)
    closed = store.set_open("7B", False)
    assert closed == dataclasses.replace(klass, open=False)
    assert store.seat(ana_token) is None and store.seat(bo_token) is None
    assert store.seat(zoe_token) is not None
    reopened = store.set_open("7B", True)
    assert reopened == klass
    assert store.seat(ana_token) is None  # reopening does not bring a session back
    # the nickname is free again, and leads to a new student: the old conversations stay the old student's
    clock.advance(seconds=1)
    again, _ = store.join(klass.code, "ana")
    assert again.student.id != ana.student.id
    assert store.conversation_of(conversation, again.student.id) is None
    assert store.conversations(student_id=again.student.id) == []
    assert [s.student.nickname for s in store.students(klass.id)] == ["Ana", "ana", "Bo"]


def test_rotate_code(store: Store) -> None:
    klass = store.create_class("7B")
    seat, token = store.join(klass.code, "Ana")
    rotated = store.rotate_code("7b")
    assert rotated == dataclasses.replace(klass, code=rotated.code)
    assert rotated.code != klass.code
    with pytest.raises(UnknownCode):
        store.join(klass.code, "Bo")
    assert store.join(rotated.code, "Bo")[0].klass == rotated
    assert store.seat(token) == Seat(student=seat.student, klass=rotated)  # those who joined stay


def test_leave_frees_the_nickname(store: Store) -> None:
    klass = store.create_class("7B")
    first, token = store.join(klass.code, "Ana")
    store.leave(token)
    store.leave(token)  # twice: nothing
    assert store.seat(token) is None
    second, _ = store.join(klass.code, "ANA")
    assert second.student.id != first.student.id


def test_sessions_expire(store: Store, clock: Clock) -> None:
    klass = store.create_class("7B")
    _, token = store.join(klass.code, "Ana")
    clock.advance(days=29, hours=23)
    assert store.seat(token) is not None
    with pytest.raises(NicknameTaken):
        store.join(klass.code, "ana")
    clock.advance(hours=1)
    assert store.seat(token) is None
    store.join(klass.code, "ana")  # an expired session no longer holds the nickname


# -- the teacher key ----------------------------------------------------------------------------------------------


def _stored_bytes(store: Store, db_url: str) -> bytes:
    """Everything the database holds, as bytes: the SQLite files, or every row of every table on PostgreSQL."""
    if db_url.startswith("sqlite"):
        folder = Path(db_url.removeprefix("sqlite:///")).parent
        return b"".join(
            p.read_bytes() for p in sorted(folder.iterdir()) if p.name.startswith("edubot.sqlite3")
        )
    import sqlalchemy as sa

    from edubot_cli.classroom.schema import metadata

    with store.engine.connect() as conn:
        return repr([conn.execute(sa.select(t)).all() for t in metadata.sorted_tables]).encode()


def test_teacher_key_is_stored_hashed(store: Store, clock: Clock, db_url: str) -> None:
    assert store.teacher_key_info() is None
    assert store.teacher_login("anything") is None
    key = store.new_teacher_key()
    assert len(key) == 43
    assert store.teacher_key_info() == START
    assert store.teacher_login(key + "x") is None
    token = store.teacher_login(key)
    assert token is not None and token != key
    assert store.teacher_session(token)
    assert not store.teacher_session(key)
    klass = store.create_class("7B")
    _, student_token = store.join(klass.code, "Ana")
    assert not store.teacher_session(student_token)  # a student's token is no teacher's
    stored = _stored_bytes(store, db_url)
    assert codes.token_hash(key).encode() in stored
    for secret in (key, token, student_token):
        assert secret.encode() not in stored
    clock.advance(hours=1)
    newer = store.new_teacher_key()
    assert store.teacher_key_info() == START + timedelta(hours=1)
    assert not store.teacher_session(token)  # a new key ends the teacher sessions
    assert store.teacher_login(key) is None
    second = store.teacher_login(newer)
    assert second is not None
    clock.advance(hours=11, minutes=59)
    assert store.teacher_session(second)
    clock.advance(minutes=1)
    assert not store.teacher_session(second)  # 12 hours
    third = store.teacher_login(newer)
    assert third is not None
    store.teacher_logout(third)
    assert not store.teacher_session(third)


# -- conversations and messages -----------------------------------------------------------------------------------


def _two_students(store: Store) -> tuple[ClassInfo, Seat, Seat]:
    klass = store.create_class("7B")
    ana, _ = store.join(klass.code, "Ana")
    bo, _ = store.join(klass.code, "Bo")
    return klass, ana, bo


def test_messages_keep_every_field(store: Store, clock: Clock) -> None:
    _, ana, _ = _two_students(store)
    conversation = store.new_conversation(ana.student.id)
    clock.advance(seconds=5)
    question = store.add_message(conversation, "user", "What is photosynthesis?", mode="answer")
    clock.advance(seconds=2)
    sources = [{"path": "knowledge/science/plants/qna.yaml", "title": "Plants", "score": 0.5}]
    answer = store.add_message(
        conversation,
        "assistant",
        "Plants make sugar from light.",
        sources=sources,
        mode="answer",
        grounded=True,
        prompt_tokens=120,
        completion_tokens=9,
        first_token_s=0.25,
        latency_s=1.5,
        finish_reason="stop",
        flags=["pii_masked"],
    )
    assert answer > question
    assert store.messages(conversation) == [
        MessageRecord(
            id=question,
            conversation_id=conversation,
            role="user",
            text="What is photosynthesis?",
            created=START + timedelta(seconds=5),
            mode="answer",
        ),
        MessageRecord(
            id=answer,
            conversation_id=conversation,
            role="assistant",
            text="Plants make sugar from light.",
            created=START + timedelta(seconds=7),
            sources=sources,
            mode="answer",
            grounded=True,
            prompt_tokens=120,
            completion_tokens=9,
            first_token_s=0.25,
            latency_s=1.5,
            finish_reason="stop",
            flags=["pii_masked"],
        ),
    ]
    assert store.flag_message(answer, "refused", "pii_masked") == ["pii_masked", "refused"]
    assert store.messages(conversation)[1].flags == ["pii_masked", "refused"]
    with pytest.raises(UnknownMessage):
        store.flag_message(10**9, "x")


def test_add_message_checks_its_arguments(store: Store) -> None:
    _, ana, _ = _two_students(store)
    conversation = store.new_conversation(ana.student.id)
    with pytest.raises(TypeError, match="unexpected fields: colour"):
        store.add_message(conversation, "user", "hi", colour="red")
    with pytest.raises(ValueError, match="role must be one of"):
        store.add_message(conversation, "system", "hi")
    with pytest.raises(ValueError, match="finish_reason must be one of"):
        store.add_message(conversation, "assistant", "hi", finish_reason="bored")
    with pytest.raises(ClassroomError) as info:
        store.add_message("nope", "user", "hi")
    assert _error(info) == ("no conversation with id 'nope'", "start a new conversation")
    with pytest.raises(UnknownStudent):
        store.new_conversation("nope")
    for reason in ("stop", "length", "client_left", "engine_restart", "stopping", "error"):
        store.add_message(conversation, "assistant", "cut", finish_reason=reason)
    assert [m.finish_reason for m in store.messages(conversation)] == [
        "stop",
        "length",
        "client_left",
        "engine_restart",
        "stopping",
        "error",
    ]


def test_a_student_sees_only_their_conversations(store: Store, clock: Clock) -> None:
    klass, ana, bo = _two_students(store)
    mine = store.new_conversation(ana.student.id)
    clock.advance(seconds=1)
    theirs = store.new_conversation(bo.student.id)
    store.add_message(theirs, "user", "Bo's secret question")
    assert store.conversation_of(theirs, ana.student.id) is None
    assert store.conversation_of("0" * 32, ana.student.id) is None
    assert store.conversation_of(mine, ana.student.id) == ConversationSummary(
        id=mine, student_id=ana.student.id, started=START, last=START, title="", messages=0
    )
    assert [c.id for c in store.conversations(student_id=ana.student.id)] == [mine]
    assert [c.id for c in store.conversations(student_id=bo.student.id)] == [theirs]
    assert [c.id for c in store.conversations(class_id=klass.id)] == [theirs, mine]  # most recent first
    assert store.conversation(theirs) == store.conversation_of(theirs, bo.student.id)
    assert store.conversation("nope") is None


def test_conversation_summaries(store: Store, clock: Clock) -> None:
    _, ana, _ = _two_students(store)
    first = store.new_conversation(ana.student.id)
    second = store.new_conversation(ana.student.id)
    clock.advance(minutes=1)
    long_question = "Why   is the sky blue " + "and why " * 20
    store.add_message(first, "user", long_question)
    clock.advance(minutes=1)
    store.add_message(first, "assistant", "Rayleigh scattering.")
    clock.advance(minutes=1)
    store.add_message(second, "user", "What is 2+2?")
    summaries = store.conversations(student_id=ana.student.id)
    title = " ".join(long_question.split())[:79] + "…"
    assert summaries == [
        ConversationSummary(
            id=second,
            student_id=ana.student.id,
            started=START,
            last=START + timedelta(minutes=3),
            title="What is 2+2?",
            messages=1,
        ),
        ConversationSummary(
            id=first,
            student_id=ana.student.id,
            started=START,
            last=START + timedelta(minutes=2),
            title=title,
            messages=2,
        ),
    ]
    assert len(title) == 80


def test_students_and_class_stats(store: Store, clock: Clock) -> None:
    klass, ana, bo = _two_students(store)
    carl, _ = store.join(klass.code, "carl")
    today = START.astimezone().date()
    clock.now = datetime.combine(today, datetime.min.time()).astimezone() + timedelta(hours=9)
    yesterday = clock.now - timedelta(days=1)
    conversation = store.new_conversation(ana.student.id)
    store.add_message(conversation, "user", "old question", created=yesterday)
    store.add_message(conversation, "assistant", "old answer", grounded=False, created=yesterday)
    for n in range(3):
        store.add_message(conversation, "user", f"q{n}")
        store.add_message(
            conversation, "assistant", f"a{n}", grounded=n == 0, flags=["refused"] if n == 2 else []
        )
    other = store.new_conversation(bo.student.id)
    clock.advance(minutes=5)
    store.add_message(other, "user", "hello")
    store.add_message(other, "assistant", "hi", grounded=None)
    assert store.class_stats(klass.id, today) == {
        "questions_today": 4,
        "active_students": 2,
        "ungrounded_answers": 2,
        "refusals": 1,
    }
    assert store.class_stats(klass.id, today - timedelta(days=1)) == {
        "questions_today": 1,
        "active_students": 1,
        "ungrounded_answers": 1,
        "refusals": 0,
    }
    assert store.class_stats(klass.id, today + timedelta(days=1)) == {
        "questions_today": 0,
        "active_students": 0,
        "ungrounded_answers": 0,
        "refusals": 0,
    }
    assert store.students(klass.id) == [
        StudentSummary(
            student=ana.student, last_active=clock.now - timedelta(minutes=5), messages=8, flags=1
        ),
        StudentSummary(student=bo.student, last_active=clock.now, messages=2, flags=0),
        StudentSummary(student=carl.student, last_active=None, messages=0, flags=0),
    ]
    assert store.questions_since(ana.student.id, clock.now - timedelta(hours=1)) == 3
    assert store.questions_since(ana.student.id, yesterday) == 4


def test_feedback(store: Store, clock: Clock) -> None:
    klass, ana, bo = _two_students(store)
    conversation = store.new_conversation(ana.student.id)
    question = store.add_message(conversation, "user", "q")
    answer = store.add_message(conversation, "assistant", "a")
    store.add_feedback(answer, ana.student.id, -1, "wrong")
    clock.advance(seconds=1)
    store.add_feedback(answer, ana.student.id, 1, None)  # a second rating replaces the first
    assert store.feedback(klass.id) == [
        {
            "message_id": answer,
            "student_id": ana.student.id,
            "rating": 1,
            "comment": None,
            "created": START + timedelta(seconds=1),
        }
    ]
    for message, student in ((answer, bo.student.id), (question, ana.student.id), (10**9, ana.student.id)):
        with pytest.raises(UnknownMessage) as info:
            store.add_feedback(message, student, 1, None)
        assert info.value.message == f"no answer {message} in this student's conversations"
    with pytest.raises(ValueError, match="rating must be 1 or -1"):
        store.add_feedback(answer, ana.student.id, 5, None)


# -- export, purge, retention -------------------------------------------------------------------------------------


def test_export_rows_exact(store: Store, clock: Clock) -> None:
    _klass, ana, bo = _two_students(store)
    store.create_class("other")
    a = store.new_conversation(ana.student.id)
    q = store.add_message(a, "user", "Why is the sky blue?", mode="hints")
    clock.advance(seconds=3)
    r = store.add_message(
        a,
        "assistant",
        "Think about light.",
        sources=[{"path": "knowledge/physics/qna.yaml"}],
        mode="hints",
        grounded=True,
        prompt_tokens=50,
        completion_tokens=4,
        first_token_s=0.1,
        latency_s=0.4,
        finish_reason="client_left",
        flags=["x"],
    )
    clock.advance(days=2)
    b = store.new_conversation(bo.student.id)
    s = store.add_message(b, "user", "2+2?")
    rows = list(store.export("7b"))
    empty = {
        "sources": [],
        "mode": None,
        "grounded": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "first_token_s": None,
        "latency_s": None,
        "finish_reason": None,
        "flags": [],
    }
    assert rows == [
        {
            "id": q,
            "class": "7B",
            "student": "Ana",
            "conversation": a,
            "role": "user",
            "text": "Why is the sky blue?",
            **empty,
            "mode": "hints",
            "time": "2026-03-02T08:30:00+00:00",
        },
        {
            "id": r,
            "class": "7B",
            "student": "Ana",
            "conversation": a,
            "role": "assistant",
            "text": "Think about light.",
            "sources": [{"path": "knowledge/physics/qna.yaml"}],
            "mode": "hints",
            "grounded": True,
            "prompt_tokens": 50,
            "completion_tokens": 4,
            "first_token_s": 0.1,
            "latency_s": 0.4,
            "finish_reason": "client_left",
            "flags": ["x"],
            "time": "2026-03-02T08:30:03+00:00",
        },
        {
            "id": s,
            "class": "7B",
            "student": "Bo",
            "conversation": b,
            "role": "user",
            "text": "2+2?",
            **empty,
            "time": "2026-03-04T08:30:03+00:00",
        },
    ]
    assert list(store.export("7B", since=START + timedelta(days=1))) == rows[2:]
    assert list(store.export("other")) == []


def _class_with_history(store: Store, clock: Clock) -> tuple[ClassInfo, Seat, Seat, str, str]:
    klass, ana, bo = _two_students(store)
    old_a = store.new_conversation(ana.student.id)
    store.add_message(old_a, "user", "old a")
    store.add_message(old_a, "assistant", "old a answer")
    old_b = store.new_conversation(bo.student.id)
    store.add_message(old_b, "user", "old b")
    clock.advance(days=40)
    new_a = store.new_conversation(ana.student.id)
    store.add_message(new_a, "user", "new a")
    new_b = store.new_conversation(bo.student.id)
    store.add_message(new_b, "user", "new b")
    return klass, ana, bo, old_a, new_b


def test_purge_by_age(store: Store, clock: Clock) -> None:
    klass, _ana, _bo, old_a, _ = _class_with_history(store, clock)
    assert store.purge("7B", older_than=timedelta(days=30)) == 3
    assert [r["text"] for r in store.export("7B")] == ["new a", "new b"]
    assert store.conversation(old_a) is None  # emptied and older: gone
    assert [s.student.nickname for s in store.students(klass.id)] == ["Ana", "Bo"]
    assert store.purge("7B", older_than=timedelta(days=30)) == 0


def test_purge_one_student(store: Store, clock: Clock) -> None:
    klass, ana, _bo, _, _ = _class_with_history(store, clock)
    other = store.create_class("8C")
    _, zoe = store.join(other.code, "Ana")  # the same nickname in another class stays
    with pytest.raises(UnknownStudent) as info:
        store.purge("7B", student="Zed")
    assert _error(info) == ("no student 'Zed' in class '7B'", "`edubot class show 7B` lists its students")
    assert store.purge("7B", student="ana", older_than=timedelta(days=30)) == 2
    assert [r["text"] for r in store.export("7B")] == ["old b", "new a", "new b"]
    assert store.purge("7B", student="ANA") == 1
    assert [r["text"] for r in store.export("7B")] == ["old b", "new b"]
    assert [s.student.nickname for s in store.students(klass.id)] == [
        "Bo"
    ]  # the student is gone, session too
    assert store.conversations(student_id=ana.student.id) == []
    assert store.seat(zoe) is not None


def test_purge_a_whole_class(store: Store, clock: Clock) -> None:
    klass, _ana, _bo, _, _ = _class_with_history(store, clock)
    store.leave(store.join(klass.code, "Carl")[1])
    store.set_open("7B", False)  # every session ends: every student goes
    assert store.purge("7B") == 5
    assert list(store.export("7B")) == []
    assert store.students(klass.id) == []
    assert store.conversations(class_id=klass.id) == []


def test_purge_keeps_students_still_in_the_room(store: Store, clock: Clock) -> None:
    store.student_session_ttl = timedelta(days=365)
    klass, ana, bo, _, new_b = _class_with_history(store, clock)
    assert store.purge("7B") == 5
    assert [s.student for s in store.students(klass.id)] == [ana.student, bo.student]
    assert store.conversation_of(new_b, bo.student.id) is not None  # their page still points at it
    store.add_message(new_b, "user", "after the purge")
    assert [r["text"] for r in store.export("7B")] == ["after the purge"]


def test_retention(store: Store, clock: Clock) -> None:
    klass, _ana, _bo, old_a, _ = _class_with_history(store, clock)
    store.leave(store.join(klass.code, "Gone")[1])  # joined 40 days after START, no messages, no session
    assert store.apply_retention(0) == 0
    assert len(list(store.export("7B"))) == 5
    assert store.apply_retention(30) == 3
    assert [r["text"] for r in store.export("7B")] == ["new a", "new b"]
    assert store.conversation(old_a) is None
    assert [s.student.nickname for s in store.students(klass.id)] == ["Ana", "Bo", "Gone"]
    later = clock.now + timedelta(days=31)
    assert store.apply_retention(30, now=later) == 2
    # Ana and Bo's sessions have expired by then (30 days): nothing of them is left, nickname included
    assert store.students(klass.id) == []
    assert store.seat(store.join(klass.code, "Ana")[1]) is not None


def test_retention_ends_expired_sessions(store: Store, clock: Clock) -> None:
    klass = store.create_class("7B")
    _, token = store.join(klass.code, "Ana")
    key = store.new_teacher_key()
    teacher = store.teacher_login(key)
    assert teacher is not None
    clock.advance(days=31)
    assert store.apply_retention(365) == 0
    assert [s.student.nickname for s in store.students(klass.id)] == ["Ana"]  # joined 31 days ago: kept
    store.join(klass.code, "ana")
    assert store.seat(token) is None and not store.teacher_session(teacher)


def test_day_of_stats_is_this_machines_day(store: Store, clock: Clock) -> None:
    klass, ana, _ = _two_students(store)
    day = date(2026, 3, 2)
    conversation = store.new_conversation(ana.student.id)
    start = datetime(2026, 3, 2).astimezone()
    store.add_message(conversation, "user", "first minute", created=start)
    store.add_message(conversation, "user", "last minute", created=start + timedelta(hours=23, minutes=59))
    store.add_message(conversation, "user", "next day", created=start + timedelta(days=1))
    store.add_message(conversation, "user", "day before", created=start - timedelta(seconds=1))
    assert store.class_stats(klass.id, day)["questions_today"] == 2


def test_times_are_utc(store: Store) -> None:
    _, ana, _ = _two_students(store)
    conversation = store.new_conversation(ana.student.id)
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    store.add_message(conversation, "user", "hi", created=moment)
    stored = store.messages(conversation)[0].created
    assert stored == moment and stored.tzinfo == UTC and stored.hour == 10
    with pytest.raises(Exception, match="naive datetime"):
        store.add_message(conversation, "user", "hi", created=datetime(2026, 6, 1, 12, 0))
