"""The classroom's routes and rules on a live backend over a real store (SQLite in a temp data_dir): joining with a
code (and its throttles), the student's session cookie and what it opens, a student's own conversations only, the
teacher's session, closing a class, Secure cookies behind a trusted https proxy, and who the log line names.
docs/classroom.md describes the rules; issue 25 §4 lists the security lines each test below checks."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.classroom import Room, join, make_room, teacher
from tests.support.live_backend import LiveBackend
from tests.support.poll import eventually
from tests.support.stub_engine import StubEngine

MakeBackend = Callable[..., LiveBackend]
JOIN_REQUIRED = {
    "error": {
        "code": "join_required",
        "message": "join your class first: open the chat page and type the class code your teacher gave you",
    }
}
TEACHER_REQUIRED = {
    "error": {
        "code": "teacher_login_required",
        "message": "log in with the teacher key first (the /teacher page)",
    }
}
STUDENTS_REFUSED = {
    "error": {
        "code": "students_not_allowed",
        "message": "this browser holds a student's session: the teacher's pages are not for students (leave the "
        "class on the chat page first, or use another browser)",
    }
}
UNKNOWN_CODE = {
    "error": {"code": "unknown_code", "message": "That code is not known: check it with your teacher."}
}
NOT_YOURS = {"error": {"code": "conversation_not_found", "message": "no such conversation of yours"}}
COOKIE = re.compile(
    r"^edubot_session=([A-Za-z0-9_-]{43}); Max-Age=2592000; Path=/; HttpOnly; SameSite=Strict$"
)
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    made = make_room(tmp_path)
    yield made
    made.store.close()


@pytest.fixture
def server(room: Room, stub_engine: StubEngine, live_backend: MakeBackend) -> LiveBackend:
    return live_backend(room.settings(), [stub_engine.url])


def client(backend: LiveBackend, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=backend.url, timeout=60, headers=headers)


def stored(room: Room, student_id: str, count: int) -> list[Any]:
    """The student's conversations once ``count`` messages are stored in them (the recorder writes in a thread)."""
    total = lambda: sum(c.messages for c in room.store.conversations(student_id=student_id))  # noqa: E731
    assert eventually(lambda: total() == count), f"{total()} messages stored, not {count}"
    return room.store.conversations(student_id=student_id)


# ---- no class: nothing changes --------------------------------------------------------------------------------
def test_with_no_class_defined_the_server_behaves_as_before(
    tmp_path: Path, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    data_dir = tmp_path / "data"
    backend = live_backend({"data_dir": data_dir}, [stub_engine.url])
    with client(backend) as c:
        assert c.get("/", headers={"Accept": "application/json"}).json()["classes"] is False
        answer = c.post("/chat", json={"message": "hi"})
        assert answer.status_code == 200
        assert "conversation_id" not in answer.json()
        assert (
            c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}).status_code
            == 200
        )
        assert c.get("/class/me").json() == {"classes": False, "student": None, "class": None}
        refused = c.post("/class/join", json={"code": "ABCD-EFGH", "nickname": "Ana"})
        assert (refused.status_code, refused.json()) == (404, UNKNOWN_CODE)
    assert not data_dir.exists()  # no store is made for a server without classes


# ---- classes on: /chat needs a session, /v1 the key ---------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True])
def test_with_a_class_chat_needs_a_student_session(
    server: LiveBackend, stub_engine: StubEngine, stream: bool
) -> None:
    with client(server) as c:
        assert c.get("/", headers={"Accept": "application/json"}).json()["classes"] is True
        refused = c.post("/chat", json={"message": "hi", "stream": stream})
        assert (refused.status_code, refused.json()) == (401, JOIN_REQUIRED)
        # a cookie that is no session is no better
        c.cookies.set("edubot_session", "x" * 43)
        refused = c.post("/chat", json={"message": "hi", "stream": stream})
        assert (refused.status_code, refused.json()) == (401, JOIN_REQUIRED)
    assert stub_engine.requests == []


def test_with_a_class_and_no_api_key_v1_is_closed(server: LiveBackend, stub_engine: StubEngine) -> None:
    with client(server) as c:
        join(c, server_code(server), "Ana")  # a student's session does not open /v1
        refused = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
        assert refused.status_code == 401
        assert refused.json() == {
            "error": {
                "code": "api_key_required",
                "message": "this server runs classes: /v1 is open only to holders of the API key (set api_key, "
                "then send `Authorization: Bearer <key>`)",
            }
        }
        assert refused.headers["www-authenticate"] == "Bearer"
        assert c.get("/v1/models").status_code == 401
    assert stub_engine.requests == []


def server_code(backend: LiveBackend) -> str:
    """The join code of the (one) class of ``backend``'s store."""
    classroom = backend.app.state.backend.classroom
    store = classroom.open()
    assert store is not None
    return str(store.classes()[0].code)


def test_the_api_key_keeps_chat_and_v1_open_to_its_holders(
    room: Room, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(room.settings(api_key="s3cret"), [stub_engine.url])
    with client(backend, Authorization="Bearer s3cret") as keyed:
        answer = keyed.post("/chat", json={"message": "hi"})
        assert answer.status_code == 200
        assert "conversation_id" not in answer.json()  # a key holder's questions are not recorded
        assert (
            keyed.post(
                "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}
            ).status_code
            == 200
        )
    with client(backend) as anonymous:
        refused = anonymous.post("/chat", json={"message": "hi"})
        assert (refused.status_code, refused.json()) == (401, JOIN_REQUIRED)
        assert anonymous.post("/v1/chat/completions", json={"messages": []}).status_code == 401
    with client(backend, Authorization="Bearer wrong") as wrong:
        refused = wrong.post("/chat", json={"message": "hi"})
        assert refused.status_code == 401
        assert (
            refused.json()["error"]["message"]
            == "missing or wrong API key: send `Authorization: Bearer <key>`"
        )
    with client(backend) as student:
        join(student, room.klass.code, "Ana")  # and a student needs no key
        assert student.post("/chat", json={"message": "hi"}).json()["conversation_id"]
    assert eventually(lambda: room.store.conversations() != [])  # the record makes it with the exchange
    assert len(stub_engine.requests) == 3


# ---- joining ------------------------------------------------------------------------------------------------------
def test_join_gives_the_student_a_session_cookie(room: Room, server: LiveBackend) -> None:
    with client(server) as c:
        typed = room.klass.code.lower().replace("-", " ")  # any case, a space for the dash
        reply = c.post("/class/join", json={"code": typed, "nickname": "  Blue Fox "})
        assert reply.status_code == 200
        student_id = reply.json()["student"]["id"]
        assert reply.json() == {
            "student": {"id": student_id, "nickname": "Blue Fox"},
            "class": {"name": "7B science", "mode": "answer"},
        }
        assert re.fullmatch(r"[0-9a-f]{32}", student_id)
        cookie = reply.headers["set-cookie"]
        assert COOKIE.match(cookie), cookie  # not Secure: plain http, no proxy
        assert c.get("/class/me").json() == {
            "classes": True,
            "student": {"id": student_id, "nickname": "Blue Fox"},
            "class": {"name": "7B science", "mode": "answer"},
        }
        answer = c.post("/chat", json={"message": "What is a cell?"})
        assert answer.status_code == 200
        assert re.fullmatch(r"[0-9a-f]{32}", answer.json()["conversation_id"])


@pytest.mark.parametrize(
    ("nickname", "message"),
    [
        ("", "Value error, type a nickname"),
        ("   ", "Value error, type a nickname"),
        ("x" * 25, "Value error, a nickname is at most 24 characters"),
        ("Ana\x07", "Value error, a nickname cannot hold control characters"),
        ("An\u202ea", "Value error, a nickname cannot hold control characters"),  # a right-to-left override
    ],
)
def test_a_nickname_is_1_to_24_printable_characters(
    room: Room, server: LiveBackend, nickname: str, message: str
) -> None:
    with client(server) as c:
        reply = c.post("/class/join", json={"code": room.klass.code, "nickname": nickname})
    assert reply.status_code == 422
    assert reply.json() == {
        "error": {"code": "validation_error", "message": f"nickname: {message}", "field": "nickname"}
    }
    assert "set-cookie" not in reply.headers


def test_join_refusals_say_what_to_do(room: Room, server: LiveBackend) -> None:
    with client(server) as first, client(server) as second:
        join(first, room.klass.code, "Blue Fox")
        taken = second.post("/class/join", json={"code": room.klass.code, "nickname": "blue  FOX"})
        assert taken.status_code == 409
        assert taken.json() == {
            "error": {
                "code": "nickname_taken",
                "message": "That nickname is taken in this class: choose another.",
                "field": "nickname",
            }
        }
        unknown = second.post("/class/join", json={"code": "ZZZZ-ZZZZ", "nickname": "Ana"})
        assert (unknown.status_code, unknown.json()) == (404, UNKNOWN_CODE)
        not_a_code = second.post("/class/join", json={"code": "hello", "nickname": "Ana"})
        assert (not_a_code.status_code, not_a_code.json()) == (404, UNKNOWN_CODE)
        room.store.set_open(room.klass.name, False)
        closed = second.post("/class/join", json={"code": room.klass.code, "nickname": "Ana"})
        assert closed.status_code == 403
        assert closed.json() == {
            "error": {"code": "class_closed", "message": "This class is closed: ask your teacher to open it."}
        }
        assert "set-cookie" not in closed.headers
        plain = second.post("/class/join", content=b"code=x", headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415  # JSON only: a cross-site form cannot join anyone


def test_join_attempts_are_throttled_per_address(room: Room, server: LiveBackend) -> None:
    with client(server) as c:
        for n in range(10):
            guess = c.post("/class/join", json={"code": f"ZZZZ-ZZZ{n + 2}", "nickname": "Ana"})
            assert guess.status_code == 404
        locked = c.post(
            "/class/join", json={"code": room.klass.code, "nickname": "Ana"}
        )  # even the right code
        assert locked.status_code == 429
        seconds = int(locked.headers["retry-after"])
        assert 1 <= seconds <= 6  # the bucket gives one try back every 6 s
        assert locked.json() == {
            "error": {
                "code": "too_many_joins",
                "message": f"too many tries to join from your address; try again in {seconds} s",
            }
        }


def test_join_attempts_are_throttled_per_code(
    room: Room, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    # behind a trusted proxy, X-Forwarded-For names each client: seven addresses, one code
    backend = live_backend(room.settings(trusted_proxies=["127.0.0.1"]), [stub_engine.url])
    with client(backend) as c:
        for n in range(60):
            guess = c.post(
                "/class/join",
                json={"code": "zzzz-zzzz", "nickname": "Ana"},
                headers={"X-Forwarded-For": f"10.0.0.{n // 10}"},
            )
            assert guess.status_code == 404
        fresh = {"X-Forwarded-For": "10.0.0.99"}
        locked = c.post("/class/join", json={"code": "ZZZZ ZZZZ", "nickname": "Ana"}, headers=fresh)
        assert locked.status_code == 429
        seconds = int(locked.headers["retry-after"])
        assert locked.json()["error"] == {
            "code": "too_many_joins",
            "message": f"too many tries to join with this code; try again in {seconds} s",
        }
        assert join(c, room.klass.code, "Ana")  # another code from the same address is still tried


# ---- a student's own conversations --------------------------------------------------------------------------
def test_a_student_reads_only_their_own_conversations(
    room: Room, server: LiveBackend, stub_engine: StubEngine
) -> None:
    with client(server) as ana, client(server) as ben, client(server) as nobody:
        ana_id = join(ana, room.klass.code, "Ana")["student"]["id"]
        join(ben, room.klass.code, "Ben")
        mine = ana.post("/chat", json={"message": "What is a cell?"}).json()["conversation_id"]
        [summary] = stored(room, ana_id, 2)
        listed = ana.get("/class/conversations").json()
        assert listed == [
            {
                "id": mine,
                "title": "What is a cell?",
                "started": listed[0]["started"],
                "last": listed[0]["last"],
                "messages": 2,
            }
        ]
        assert STAMP.match(listed[0]["started"]) and STAMP.match(listed[0]["last"])
        detail = ana.get(f"/class/conversations/{mine}").json()
        assert detail["conversation"] == listed[0]
        assert [(m["role"], m["text"]) for m in detail["messages"]] == [
            ("user", "What is a cell?"),
            ("assistant", "Hello from the stub."),
        ]
        # another student's cookie, a guessed id, no cookie
        assert ben.get("/class/conversations").json() == []
        for who, path, status, body in [
            (ben, f"/class/conversations/{mine}", 404, NOT_YOURS),
            (ana, "/class/conversations/" + "0" * 32, 404, NOT_YOURS),
            (nobody, f"/class/conversations/{mine}", 401, JOIN_REQUIRED),
            (nobody, "/class/conversations", 401, JOIN_REQUIRED),
        ]:
            reply = who.get(path)
            assert (reply.status_code, reply.json()) == (status, body), path
        # nor can a student write into another's conversation
        asked = len(stub_engine.requests)
        refused = ben.post("/chat", json={"message": "hi", "conversation_id": mine})
        assert refused.status_code == 404
        assert refused.json() == {
            "error": {
                "code": "conversation_not_found",
                "message": "conversation_id: no such conversation of yours; leave it out to start a new one",
                "field": "conversation_id",
            }
        }
        assert len(stub_engine.requests) == asked
        # the owner continues it
        again = ana.post("/chat", json={"message": "And a tissue?", "conversation_id": mine})
        assert again.json()["conversation_id"] == mine
        stored(room, ana_id, 4)
    assert summary.id == mine


def test_closing_a_class_ends_its_sessions(room: Room, server: LiveBackend, stub_engine: StubEngine) -> None:
    with client(server) as ana:
        join(ana, room.klass.code, "Ana")
        assert ana.post("/chat", json={"message": "hi"}).status_code == 200
        room.store.set_open(room.klass.name, False)  # `edubot class close`, from another process
        # the server's look-up of a session is reused for at most a second (docs/classroom.md)
        assert eventually(lambda: ana.get("/class/me").json()["student"] is None)
        asked = len(stub_engine.requests)
        refused = ana.post("/chat", json={"message": "hi"})
        assert (refused.status_code, refused.json()) == (401, JOIN_REQUIRED)
        assert ana.get("/class/conversations").status_code == 401
        assert len(stub_engine.requests) == asked
        # reopened, the old session stays ended: the students join again
        room.store.set_open(room.klass.name, True)
        assert ana.post("/chat", json={"message": "hi"}).status_code == 401
        join(ana, room.klass.code, "Ana")  # the nickname was freed by the close
        assert ana.post("/chat", json={"message": "hi"}).status_code == 200


def test_leave_ends_the_session_at_once_and_frees_the_nickname(room: Room, server: LiveBackend) -> None:
    with client(server) as ana, client(server) as other:
        join(ana, room.klass.code, "Ana")
        token = ana.cookies["edubot_session"]
        assert ana.get("/class/me").json()["student"] is not None
        left = ana.post("/class/leave", json={})
        assert left.json() == {"left": True}
        assert left.headers["set-cookie"] == "edubot_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"
        assert ana.get("/class/me").json()["student"] is None
        other.cookies.set("edubot_session", token)  # the old token, kept by someone: dead at once
        assert other.post("/chat", json={"message": "hi"}).status_code == 401
        other.cookies.clear()
        join(other, room.klass.code, "ana")
        assert ana.post("/class/leave", json={}).json() == {"left": False}


def test_joining_again_ends_the_browsers_earlier_seat(room: Room, server: LiveBackend) -> None:
    with client(server) as c, client(server) as other:
        join(c, room.klass.code, "Ana")
        join(c, room.klass.code, "Bea")  # one browser, one student: Ana's seat ends, her nickname is free
        assert c.get("/class/me").json()["student"]["nickname"] == "Bea"
        join(other, room.klass.code, "Ana")


# ---- the teacher ------------------------------------------------------------------------------------------------
TEACHER_ROUTES = [
    ("GET", "/teacher/classes"),
    ("GET", "/teacher/classes/{class_id}/students"),
    ("GET", "/teacher/classes/{class_id}/conversations"),
    ("GET", "/teacher/conversations/" + "0" * 32),
    ("GET", "/teacher/events?class_id={class_id}"),
    ("POST", "/teacher/logout"),
]


@pytest.mark.parametrize(("method", "path"), TEACHER_ROUTES)
def test_teacher_routes_need_the_teacher_session(
    room: Room, server: LiveBackend, method: str, path: str
) -> None:
    url = path.format(class_id=room.klass.id)
    with client(server) as anonymous, client(server) as student:
        reply = anonymous.request(method, url, json={} if method == "POST" else None)
        assert (reply.status_code, reply.json()) == (401, TEACHER_REQUIRED)
        join(student, room.klass.code, "Ana")
        reply = student.request(method, url, json={} if method == "POST" else None)
        assert (reply.status_code, reply.json()) == (403, STUDENTS_REFUSED)


def test_a_student_cookie_is_refused_everywhere_under_teacher(room: Room, server: LiveBackend) -> None:
    with client(server) as student:
        join(student, room.klass.code, "Ana")
        for method, path, body in [
            ("GET", "/teacher/session", None),
            ("POST", "/teacher/login", {"key": room.teacher_key}),  # even with the right key
        ]:
            reply = student.request(method, path, json=body)
            assert (reply.status_code, reply.json()) == (403, STUDENTS_REFUSED)
        assert "edubot_teacher" not in student.cookies


def test_teacher_login_logout_and_wrong_keys(
    room: Room, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(room.settings(auth_failures_per_minute=2), [stub_engine.url])
    with client(backend) as c:
        assert c.get("/teacher/session").json() == {"teacher": False}
        for _ in range(2):
            wrong = c.post("/teacher/login", json={"key": "guess"})
            assert wrong.status_code == 401
            assert wrong.json() == {
                "error": {"code": "wrong_teacher_key", "message": "that is not the teacher key (check it)"}
            }
        locked = c.post("/teacher/login", json={"key": room.teacher_key})  # even the right key, now
        assert locked.status_code == 429
        assert locked.json()["error"]["code"] == "too_many_auth_failures"
        assert int(locked.headers["retry-after"]) >= 1
    with client(backend, **{"X-Forwarded-For": "10.9.9.9"}) as c:  # not trusted: still 127.0.0.1
        assert c.post("/teacher/login", json={"key": room.teacher_key}).status_code == 429
    fresh = live_backend(room.settings(), [stub_engine.url])
    with client(fresh) as c:
        reply = c.post("/teacher/login", json={"key": room.teacher_key})
        assert reply.json() == {"teacher": True}
        assert re.fullmatch(
            r"edubot_teacher=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=/; HttpOnly; SameSite=Strict",
            reply.headers["set-cookie"],
        )
        token = c.cookies["edubot_teacher"]
        assert c.get("/teacher/session").json() == {"teacher": True}
        assert c.get("/teacher/classes").status_code == 200
        out = c.post("/teacher/logout", json={})
        assert out.json() == {"teacher": False}
        assert out.headers["set-cookie"] == "edubot_teacher=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"
    with client(fresh) as kept:
        kept.cookies.set("edubot_teacher", token)  # the old cookie, kept: ended at once
        assert (kept.get("/teacher/classes").status_code, kept.get("/teacher/classes").json()) == (
            401,
            TEACHER_REQUIRED,
        )


def test_teacher_login_without_a_key_says_how_to_make_one(
    tmp_path: Path, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    from edubot_cli.classroom.store import Store
    from tests.support.live_backend import isolated_settings

    data_dir = tmp_path / "data"
    with Store.open(isolated_settings({"data_dir": data_dir})) as store:
        store.create_class("Maths")
    backend = live_backend({"data_dir": data_dir}, [stub_engine.url])
    reply = httpx.post(f"{backend.url}/teacher/login", json={"key": "anything"})
    assert reply.status_code == 401
    assert reply.json()["error"]["message"] == (
        "that is not the teacher key (no teacher key is set yet: run `edubot class teacher-key` on the server)"
    )


def test_the_teacher_sees_classes_students_and_any_conversation(room: Room, server: LiveBackend) -> None:
    with client(server) as ana:
        ana_id = join(ana, room.klass.code, "Ana")["student"]["id"]
        mine = ana.post("/chat", json={"message": "What is a cell?"}).json()["conversation_id"]
        stored(room, ana_id, 2)
    with closing(teacher(server.url, room.teacher_key)) as t:
        [klass] = t.get("/teacher/classes").json()
        assert klass == {
            "id": room.klass.id,
            "name": "7B science",
            "code": room.klass.code,
            "mode": "answer",
            "scope": [],
            "daily_limit": None,
            "open": True,
            "created": klass["created"],
            "stats": {"questions_today": 1, "active_students": 1, "ungrounded_answers": 1, "refusals": 0},
        }
        [student] = t.get(f"/teacher/classes/{room.klass.id}/students").json()
        assert student == {
            "id": ana_id,
            "nickname": "Ana",
            "joined": student["joined"],
            "last_active": student["last_active"],
            "messages": 2,
            "flags": 0,
        }
        [conversation] = t.get(f"/teacher/classes/{room.klass.id}/conversations").json()
        assert conversation == {
            "id": mine,
            "title": "What is a cell?",
            "started": conversation["started"],
            "last": conversation["last"],
            "messages": 2,
            "student_id": ana_id,
            "nickname": "Ana",
        }
        detail = t.get(f"/teacher/conversations/{mine}").json()
        assert detail["conversation"] == conversation
        question, answer = detail["messages"]
        assert question == {
            "id": question["id"],
            "conversation_id": mine,
            "role": "user",
            "text": "What is a cell?",
            "created": question["created"],
            "sources": [],
            "mode": "answer",
            "grounded": None,
            "prompt_tokens": None,
            "completion_tokens": None,
            "first_token_s": None,
            "latency_s": None,
            "finish_reason": None,
            "flags": [],
        }
        assert (answer["role"], answer["text"], answer["finish_reason"], answer["grounded"]) == (
            "assistant",
            "Hello from the stub.",
            "stop",
            False,
        )
        for path, code in [
            ("/teacher/conversations/" + "0" * 32, "conversation_not_found"),
            ("/teacher/classes/nope/students", "unknown_class"),
            ("/teacher/classes/nope/conversations", "unknown_class"),
            ("/teacher/events?class_id=nope", "unknown_class"),
        ]:
            reply = t.get(path)
            assert (reply.status_code, reply.json()["error"]["code"]) == (404, code), path


# ---- cookies behind https --------------------------------------------------------------------------------------
def test_cookies_are_secure_behind_a_trusted_https_proxy(
    room: Room, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"}
    proxied = live_backend(room.settings(trusted_proxies=["127.0.0.1"]), [stub_engine.url])
    joined = httpx.post(
        f"{proxied.url}/class/join", json={"code": room.klass.code, "nickname": "Ana"}, headers=https
    )
    assert joined.headers["set-cookie"].endswith("; HttpOnly; SameSite=Strict; Secure")
    login = httpx.post(f"{proxied.url}/teacher/login", json={"key": room.teacher_key}, headers=https)
    assert login.headers["set-cookie"].endswith("; HttpOnly; SameSite=Strict; Secure")
    plain = httpx.post(f"{proxied.url}/class/join", json={"code": room.klass.code, "nickname": "Bea"})
    assert plain.headers["set-cookie"].endswith("; HttpOnly; SameSite=Strict")  # that hop was http


# ---- the log line ----------------------------------------------------------------------------------------------
@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    with caplog.at_level(logging.INFO, logger="edubot.server.access"):
        yield lambda: [r.getMessage() for r in caplog.records if r.name == "edubot.server.access"]


def test_the_log_line_names_the_student_by_id_and_the_teacher(
    room: Room, server: LiveBackend, access_log: Callable[[], list[str]]
) -> None:
    with client(server) as ana:
        ana_id = join(ana, room.klass.code, "Ana")["student"]["id"]
        assert ana.post("/chat", json={"message": "hi"}, headers={"X-Request-ID": "s1"}).status_code == 200
    with closing(teacher(server.url, room.teacher_key)) as t:
        assert t.get("/teacher/classes", headers={"X-Request-ID": "t1"}).status_code == 200
    lines = lambda: [re.sub(r"^\S+ ", "", re.sub(r" \d+\.\d{3} s ", " T ", x)) for x in access_log()]  # noqa: E731
    assert eventually(lambda: len([x for x in lines() if " id=s1 " in x or " id=t1 " in x]) == 2)
    assert [x for x in lines() if " id=s1 " in x or " id=t1 " in x] == [
        f'- "POST /chat" 200 T id=s1 engine_id=chatcmpl-stub-1 who=student:{ana_id}',
        '- "GET /teacher/classes" 200 T id=t1 who=teacher',
    ]
    assert not any("Ana" in x for x in access_log())  # the id, never the child's nickname


def test_a_private_backend_leaves_the_classroom_alone(room: Room, stub_engine: StubEngine) -> None:
    """`edubot eval --local` and `chat --local` run a backend of their own (``classroom=False``) in the project
    folder, where a class may be defined: it asks for no session and records nothing."""
    from edubot_cli.server.app import create_app
    from edubot_cli.server.engine.upstream import Upstream
    from tests.support.live_backend import isolated_settings
    from tests.support.server_thread import ServerThread

    app = create_app(
        isolated_settings(room.settings()), Upstream([stub_engine.url], "external"), classroom=False
    )
    app.state.backend.pool.warm_body = None
    served = ServerThread(app, name="private-backend")
    served.start()
    try:
        assert httpx.post(f"{served.url}/chat", json={"message": "hi"}).status_code == 200
        assert httpx.get(f"{served.url}/class/me").json() == {
            "classes": False,
            "student": None,
            "class": None,
        }
    finally:
        served.stop()
    assert room.store.conversations() == []


def test_a_record_database_that_does_not_answer_is_a_503_not_a_failed_start(
    stub_engine: StubEngine, live_backend: MakeBackend, caplog: pytest.LogCaptureFixture
) -> None:
    # port 1 on this machine: nothing listens, the connection is refused at once
    away = "postgresql+psycopg://edubot@127.0.0.1:1/edubot"
    with caplog.at_level(logging.ERROR, logger="edubot.server"):
        backend = live_backend({"database_url": away, "api_key": "k"}, [stub_engine.url])
    assert any(r.getMessage().startswith("classroom: cannot open the record:") for r in caplog.records)
    unavailable = {
        "error": {
            "code": "classroom_unavailable",
            "message": "the classroom record is not available right now; try again in a moment",
        }
    }
    with client(backend) as c:
        for reply in (
            c.post("/chat", json={"message": "hi"}),
            c.post("/class/join", json={"code": "ABCD-EFGH", "nickname": "Ana"}),
        ):
            assert (reply.status_code, reply.json()) == (503, unavailable)
            assert reply.headers["retry-after"] == "5"
    with client(backend, Authorization="Bearer k") as keyed:  # the key does not depend on the record
        assert keyed.post("/chat", json={"message": "hi"}).status_code == 200


def test_a_class_with_a_daily_limit_refuses_the_question_beyond_it(
    tmp_path: Path, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    room = make_room(tmp_path, daily_limit=2)
    try:
        backend = live_backend(room.settings(), [stub_engine.url])
        with client(backend) as ana, client(backend) as ben:
            ana_id = join(ana, room.klass.code, "Ana")["student"]["id"]
            join(ben, room.klass.code, "Ben")
            for n in (1, 2):
                assert ana.post("/chat", json={"message": f"question {n}"}).status_code == 200
                stored(room, ana_id, 2 * n)  # counted once stored
            refused = ana.post("/chat", json={"message": "question 3"})
            assert refused.status_code == 429
            assert refused.json() == {
                "error": {
                    "code": "daily_limit",
                    "message": "you have asked the 2 questions of today (your class's daily limit); ask again "
                    "tomorrow",
                }
            }
            assert 1 <= int(refused.headers["retry-after"]) <= 86_401  # until midnight, this server's time
            assert ben.post("/chat", json={"message": "question 1"}).status_code == 200  # per student
        assert len(stub_engine.requests) == 3
    finally:
        room.store.close()
