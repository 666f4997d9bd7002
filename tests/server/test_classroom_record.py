"""The classroom's record, as the server keeps it: a student's question and its answer are stored once the answer
ends, with its figures and however it ended (complete, the client leaving, an engine failure, the server's stop);
`edubot serve` writes what is pending before it exits on SIGTERM; retention runs by itself; the teacher's live
feed gets each exchange as it is stored."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from edubot_cli.classroom.recorder import Exchange, Stored
from edubot_cli.classroom.store import Store
from edubot_cli.grounding.gate import NOT_FOUND
from edubot_cli.procgroup import free_port
from edubot_cli.server.api.recording import answer_hook
from edubot_cli.server.api_errors import ApiError
from edubot_cli.server.classroom import LiveFeed
from edubot_cli.server.engine.proxy import AnswerHook, Ending, Proxy
from edubot_cli.server.metrics import Metrics
from edubot_cli.server.paths import CHAT
from edubot_cli.server.stopping import Stopping, stopping_error
from tests.grounding.conftest import PLANTS, age, write
from tests.server.helpers import iter_sse_events
from tests.support.classroom import Room, join, make_room
from tests.support.live_backend import LiveBackend, isolated_settings
from tests.support.poll import CEILING, eventually
from tests.support.serve_process import serve_env, start_serve, wait_healthy
from tests.support.stub_engine import Step, StubEngine

MakeBackend = Callable[..., LiveBackend]


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    made = make_room(tmp_path)
    yield made
    made.store.close()


def messages_of(room: Room, student_id: str, count: int) -> list[Any]:
    """The messages of the student's (one) conversation once ``count`` are stored."""

    def found() -> list[Any]:
        conversations = room.store.conversations(student_id=student_id)
        return room.store.messages(conversations[0].id) if conversations else []

    assert eventually(lambda: len(found()) >= count), f"{len(found())} messages stored, not {count}"
    return found()


def test_a_streamed_grounded_answer_is_stored_with_its_fields(
    room: Room,
    stub_engine: StubEngine,
    live_backend: MakeBackend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "taxonomy"
    write(root, "knowledge/botany/plants/qna.yaml", PLANTS)
    age(root)
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    backend = live_backend(
        room.settings(taxonomy_path=root, grounding=None, grounding_answer="check"), [stub_engine.url]
    )
    stub_engine.script(Step(chunks=["Roots take up ", "water [1]."]))
    with httpx.Client(base_url=backend.url, timeout=60) as ana:
        student_id = join(ana, room.klass.code, "Ana")["student"]["id"]
        question = "What do roots take up from the soil?"
        with ana.stream("POST", "/chat", json={"message": question, "stream": True}) as reply:
            events = [data for _, data in iter_sse_events(reply)]
    started, *deltas, done = events
    conversation_id = started["started"]["conversation_id"]
    assert started == {"started": {"id": reply.headers["x-request-id"], "conversation_id": conversation_id}}
    assert done["done"] is True and done["sources"]
    asked, answered = messages_of(room, student_id, 2)
    assert (asked.conversation_id, asked.role, asked.text, asked.mode, asked.finish_reason) == (
        conversation_id,
        "user",
        question,
        "answer",
        None,
    )
    assert asked.created <= answered.created
    assert answered.conversation_id == conversation_id
    assert answered.role == "assistant"
    assert answered.text == "".join(d["delta"] for d in deltas)  # what the student was shown
    assert answered.sources == done["sources"]
    assert (answered.mode, answered.grounded, answered.finish_reason, answered.flags) == (
        "answer",
        True,
        "stop",
        [],
    )
    assert (answered.prompt_tokens, answered.completion_tokens) == (
        done["usage"]["prompt_tokens"],
        done["usage"]["completion_tokens"],
    )
    assert answered.first_token_s == done["ttft_seconds"]
    assert answered.latency_s == done["latency_seconds"]
    assert 0 < answered.first_token_s <= answered.latency_s


def test_a_client_that_leaves_mid_stream_is_stored_as_client_left(
    room: Room, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(room.settings(), [stub_engine.url])
    gate = threading.Event()
    stub_engine.script(Step(chunks=["One", " two", " three."], gate=gate, gate_after=1))
    try:
        with httpx.Client(base_url=backend.url, timeout=60) as ana:
            student_id = join(ana, room.klass.code, "Ana")["student"]["id"]
            with ana.stream("POST", "/chat", json={"message": "count", "stream": True}) as reply:
                for _, data in iter_sse_events(reply):
                    if "delta" in data:
                        break  # the student closes the tab after the first word
        assert stub_engine.wait_cancelled(1)
        asked, answered = messages_of(room, student_id, 2)
    finally:
        gate.set()
    assert (asked.role, asked.text) == ("user", "count")
    assert (answered.text, answered.finish_reason, answered.completion_tokens) == ("One", "client_left", 0)
    assert answered.first_token_s is not None and answered.latency_s is not None


def test_an_engine_that_breaks_off_is_stored_as_error(
    room: Room, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(room.settings(), [stub_engine.url])
    stub_engine.script(Step(chunks=["One", " two"], fail_after=1))
    with httpx.Client(base_url=backend.url, timeout=60) as ana:
        student_id = join(ana, room.klass.code, "Ana")["student"]["id"]
        with ana.stream("POST", "/chat", json={"message": "count", "stream": True}) as reply:
            events = list(iter_sse_events(reply))
        assert events[-1][0] == "error"
        conversation_id = events[0][1]["started"]["conversation_id"]
        # the engine is fine again: a JSON answer, in the same conversation
        again = ana.post("/chat", json={"message": "again", "conversation_id": conversation_id})
        assert again.json()["conversation_id"] == conversation_id
    _, answered, _, again = messages_of(room, student_id, 4)
    assert (answered.text, answered.finish_reason) == ("One", "error")
    assert (again.text, again.finish_reason, again.first_token_s) == ("Hello from the stub.", "stop", None)


class _Pool:
    """The engine pool as ``Proxy._metered`` sees it when an answer fails: whether a restart is under way."""

    def __init__(self, watched: str | None) -> None:
        self._watched = watched

    def watched(self) -> str | None:
        return self._watched


async def _end_with(
    raised: BaseException | None, *, watched: str | None = None, over: bool = False
) -> Ending:
    stopping = Stopping()
    stopping.over = over
    proxy = Proxy(_Pool(watched), Metrics(), stopping)  # type: ignore[arg-type]
    ended: list[Ending] = []
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    try:
        async with proxy._metered(CHAT, send, hook=AnswerHook("c1", ended.append)) as tally:
            tally.shown.append("Part")
            tally.started = True
            if raised is None:
                tally.finish = "length"
                tally.outcome = "ok"
            else:
                raise raised
    except (asyncio.CancelledError, OSError):
        pass
    [end] = ended
    return end


@pytest.mark.parametrize(
    ("raised", "watched", "over", "reason"),
    [
        (None, None, False, "length"),
        (ApiError(502, "broke off"), None, False, "error"),
        (ApiError(503, "restarting"), "restarting", False, "engine_restart"),
        (stopping_error(), None, False, "stopping"),
        (asyncio.CancelledError(), None, False, "client_left"),
        (asyncio.CancelledError(), None, True, "stopping"),
        (OSError("broken pipe"), None, False, "client_left"),
    ],
)
def test_the_hook_is_told_how_an_answer_ended(
    raised: BaseException | None, watched: str | None, over: bool, reason: str
) -> None:
    end = asyncio.run(_end_with(raised, watched=watched, over=over))
    assert (end.text, end.finish_reason, end.prompt_tokens, end.completion_tokens, end.ttft) == (
        "Part",
        reason,
        0,
        0,
        None,
    )
    assert end.latency is not None and end.latency >= 0


def test_an_answer_that_says_the_notes_do_not_cover_it_is_flagged_refused(room: Room) -> None:
    recorded: list[Exchange] = []

    class Classroom:
        def record(self, exchange: Exchange) -> None:
            recorded.append(exchange)

    seat = room.store.join(room.klass.code, "Ana")[0]
    hook = answer_hook(Classroom(), seat, "c1", "Who won in 1066?", [], True)  # type: ignore[arg-type]
    hook.ended(Ending(NOT_FOUND, "stop", 10, 0, 0.1, 0.1))
    hook.ended(Ending("Harold lost.", "stop", 10, 3, 0.1, 0.2))
    assert [(x.answer, x.flags, x.grounded, x.mode) for x in recorded] == [
        (NOT_FOUND, ("refused",), True, "answer"),
        ("Harold lost.", (), True, "answer"),
    ]
    assert (recorded[0].class_id, recorded[0].student_id, recorded[0].nickname) == (
        room.klass.id,
        seat.student.id,
        "Ana",
    )


# ---- SIGTERM ----------------------------------------------------------------------------------------------------
def test_sigterm_writes_the_pending_records_before_the_process_exits(tmp_path: Path) -> None:
    """`edubot serve` stopped while a student's answer streams: the answer ends with the stop (its grace over),
    and the question and what was shown of the answer are in the store after the process has exited."""
    room = make_room(tmp_path)
    room.store.close()
    port = free_port()
    env = serve_env(
        tmp_path, EDUBOT_SHUTDOWN_GRACE="0.5", EDUBOT_SYSTEM_PROMPT="", EDUBOT_DATA_DIR=str(room.data_dir)
    )
    url = f"http://127.0.0.1:{port}"
    held = threading.Event()
    with StubEngine() as stub, (tmp_path / "serve.out").open("w") as sink:
        stub.script(Step(chunks=["One", " two."], gate=held, gate_after=1))
        proc = start_serve(port, "--engine-url", stub.url + "/v1", cwd=tmp_path, env=env, sink=sink)
        try:
            wait_healthy(url, proc, timeout=120)
            with httpx.Client(base_url=url, timeout=120) as ana:
                student_id = join(ana, room.klass.code, "Ana")["student"]["id"]
                with ana.stream("POST", "/chat", json={"message": "count", "stream": True}) as reply:
                    events = iter_sse_events(reply)
                    for _, data in events:
                        if "delta" in data:
                            break
                    assert stub.wait_held(1)
                    proc.send_signal(signal.SIGTERM)
                    rest = list(events)
            assert rest[-1] == (
                "error",
                {
                    "error": {
                        "code": "stopping",
                        "message": "the server is stopping; send the request again in a moment",
                    }
                },
            )
            assert proc.wait(timeout=CEILING) == 0
        finally:
            held.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    with Store.open(isolated_settings(room.settings())) as store:
        [conversation] = store.conversations(student_id=student_id)
        asked, answered = store.messages(conversation.id)
    assert (asked.role, asked.text) == ("user", "count")
    assert (answered.role, answered.text, answered.finish_reason) == ("assistant", "One", "stopping")


# ---- retention --------------------------------------------------------------------------------------------------
def test_the_server_applies_retain_days_at_start(
    room: Room, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    from datetime import UTC, datetime, timedelta

    seat = room.store.join(room.klass.code, "Ana")[0]
    conversation = room.store.new_conversation(seat.student.id)
    now = datetime.now(UTC)
    room.store.add_message(conversation, "user", "old", created=now - timedelta(days=40))
    room.store.add_message(conversation, "user", "recent", created=now - timedelta(days=2))
    live_backend(room.settings(retain_days=30), [stub_engine.url])
    assert eventually(lambda: [m.text for m in room.store.messages(conversation)] == ["recent"])


def test_retention_runs_again_every_hour_in_its_thread(room: Room, monkeypatch: pytest.MonkeyPatch) -> None:
    from edubot_cli.server import classroom as classroom_module

    calls: list[int] = []
    monkeypatch.setattr(classroom_module, "RETENTION_EVERY", 0.01)  # an hour, shortened
    monkeypatch.setattr(Store, "apply_retention", lambda self, days, now=None: calls.append(days) or 0)
    room_settings = isolated_settings(room.settings(retain_days=30))
    kept = classroom_module.Classroom(room_settings)
    assert kept.open() is not None
    assert eventually(lambda: len(calls) >= 3)
    kept.close()  # and the thread ends with the server
    after = len(calls)
    assert kept._retention is not None and not kept._retention.is_alive()
    assert len(calls) == after and set(calls) == {30}
    never = classroom_module.Classroom(isolated_settings(room.settings(retain_days=0)))
    never.open()
    assert never._retention is None  # 0 keeps messages until purged: no thread at all
    never.close()


def test_the_stop_writes_the_pending_records_once_the_answers_have_ended() -> None:
    order: list[str] = []

    async def scenario() -> None:
        stopping = Stopping()

        async def flush() -> None:
            order.append(f"flush, {stopping.running} answer(s) running")

        def end() -> None:  # the grace is over: the running answer ends (and records how)
            order.append("answer ended")
            forget()

        stopping.drained.append(flush)
        forget = stopping.watch(end)
        await asyncio.wait_for(stopping.drain(0), CEILING)

    asyncio.run(scenario())
    assert order == ["answer ended", "flush, 0 answer(s) running"]


# ---- the teacher's live feed -----------------------------------------------------------------------------------
def test_the_teachers_live_feed_gets_each_exchange_as_it_is_stored(
    room: Room, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(room.settings(), [stub_engine.url])
    other = room.store.create_class("8A history")
    teacher = httpx.Client(base_url=backend.url, timeout=60)
    assert teacher.post("/teacher/login", json={"key": room.teacher_key}).status_code == 200
    feed = backend.app.state.backend.classroom.live
    with (
        closing(teacher),
        teacher.stream("GET", f"/teacher/events?class_id={room.klass.id}") as live,
        httpx.Client(base_url=backend.url, timeout=60) as ana,
        httpx.Client(base_url=backend.url, timeout=60) as bob,
    ):
        assert live.headers["content-type"] == "text/event-stream; charset=utf-8"
        events = iter_sse_events(live)
        assert next(events) == ("message", {"live": {"class_id": room.klass.id}})
        assert eventually(lambda: feed.views == 1)
        join(bob, other.code, "Bob")
        bob.post("/chat", json={"message": "Not this class"})  # another class: not in this feed
        student_id = join(ana, room.klass.code, "Ana")["student"]["id"]
        conversation_id = ana.post("/chat", json={"message": "What is a cell?"}).json()["conversation_id"]
        name, data = next(events)
        stored = room.store.messages(conversation_id)
    question, answer = data["messages"]
    assert name == "message"
    assert data == {
        "class_id": room.klass.id,
        "conversation_id": conversation_id,
        "student": {"id": student_id, "nickname": "Ana"},
        "messages": [question, answer],
    }
    assert [(m["id"], m["role"], m["text"]) for m in data["messages"]] == [
        (stored[0].id, "user", "What is a cell?"),
        (stored[1].id, "assistant", "Hello from the stub."),
    ]
    assert (answer["finish_reason"], answer["mode"], answer["grounded"], answer["sources"]) == (
        "stop",
        "answer",
        False,
        [],
    )
    assert eventually(lambda: feed.views == 0)  # the teacher left: the view is gone


def test_the_live_feed_ends_every_view_when_the_server_stops(room: Room) -> None:
    async def scenario() -> list[Any]:
        feed = LiveFeed()
        _, mine = feed.subscribe("c1")
        _, theirs = feed.subscribe("c2")
        exchange = Exchange("k1", "c1", "s1", "Ana", "hi", _now(), "Hello.", "stop")
        await asyncio.to_thread(feed.publish, Stored(exchange, 1, 2))  # from the recorder's thread
        first = await asyncio.wait_for(mine.get(), CEILING)
        feed.close()
        ends = [await asyncio.wait_for(q.get(), CEILING) for q in (mine, theirs)]
        _, late = feed.subscribe("c1")  # a view opened after the end ends at once
        ends.append(await asyncio.wait_for(late.get(), CEILING))
        return [first["messages"][1]["text"], *(e is LiveFeed.CLOSED for e in ends)]

    assert asyncio.run(scenario()) == ["Hello.", True, True, True]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
