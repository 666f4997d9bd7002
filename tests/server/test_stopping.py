"""The backend's stop (``server.stopping``): once begun, every request is refused with 503 ``stopping``; running
``EngineCall``s get the grace to finish, and those still running are ended with the stop's error (the error
event of a stream, the 503 of an answer not yet begun). `edubot serve` as a whole: tests/serve/test_serve_stop.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from edubot_cli.server.engine.engine_call import EngineCall
from edubot_cli.server.engine.engine_errors import chat_stream_error, openai_stream_error
from edubot_cli.server.engine.sse import event
from edubot_cli.server.stopping import Stopping
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

STOP = {
    "error": {"code": "stopping", "message": "the server is stopping; send the request again in a moment"}
}
CEILING = 30.0  # seconds a condition may take under load; the waits end as soon as it holds
STREAM_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/event-stream")],
}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/chat", {"message": "hi"}),
        ("POST", "/chat", {"message": "hi", "stream": True}),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("GET", "/health", None),
        ("GET", "/v1/models", None),
        ("GET", "/", None),
    ],
)
def test_a_stopping_backend_refuses_every_request(
    live_backend: Callable[..., LiveBackend], stub_engine: StubEngine, method: str, path: str, body: Any
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url + "/v1"])
    assert httpx.get(backend.url + "/health").status_code == 200
    backend.app.state.backend.stopping.begin()
    reply = httpx.request(method, backend.url + path, json=body)
    assert reply.status_code == 503
    assert reply.json() == STOP
    assert reply.headers["retry-after"] == "5"
    assert reply.headers["connection"] == "close"
    assert reply.headers["x-content-type-options"] == "nosniff"  # the guards' headers, as on every answer
    assert stub_engine.requests == []


class Exchange:
    """One request to an ``EngineCall`` in this event loop: what it sent, and a client that stays."""

    def __init__(self, call: EngineCall) -> None:
        self.sent: list[dict[str, Any]] = []
        self._stay = asyncio.Event()
        self.task = asyncio.ensure_future(call({"type": "http"}, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        await self._stay.wait()  # never set: the client never leaves
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.sent if m["type"] == "http.response.body"]


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(CEILING):
        while not condition():
            await asyncio.sleep(0.01)


def _held_stream(started: asyncio.Event, release: asyncio.Event) -> Callable[..., Any]:
    """A stream that sends its first event, then waits for ``release`` before its last."""

    async def work(send: Any, trace: Any) -> None:
        await send(STREAM_START)
        await send({"type": "http.response.body", "body": event({"delta": "One"}), "more_body": True})
        started.set()
        await release.wait()
        await send({"type": "http.response.body", "body": event({"done": True}), "more_body": False})

    return work


@pytest.mark.parametrize(
    ("stream_error", "ending"),
    [
        (
            chat_stream_error,
            b'event: error\ndata: {"error":{"code":"stopping","message":"the server is stopping; '
            b'send the request again in a moment"}}\n\n',
        ),
        (
            openai_stream_error,
            b'data: {"error":{"message":"the server is stopping; send the request again in a '
            b'moment","type":"server_error","param":null,"code":"stopping"}}\n\ndata: [DONE]\n\n',
        ),
    ],
)
def test_a_stream_still_running_after_the_grace_ends_with_the_stop_error(
    stream_error: Any, ending: bytes
) -> None:
    async def scenario() -> None:
        stopping, started, release = Stopping(), asyncio.Event(), asyncio.Event()
        exchange = Exchange(EngineCall(_held_stream(started, release), stopping, stream_error))
        await asyncio.wait_for(started.wait(), CEILING)
        assert stopping.running == 1
        await asyncio.wait_for(stopping.drain(0), CEILING)
        await asyncio.wait_for(exchange.task, CEILING)
        assert exchange.bodies() == [event({"delta": "One"}), ending]
        assert exchange.sent[-1]["more_body"] is False
        assert stopping.running == 0

    asyncio.run(scenario())


def test_an_answer_that_finishes_within_the_grace_ends_as_usual() -> None:
    async def scenario() -> None:
        stopping, started, release = Stopping(), asyncio.Event(), asyncio.Event()
        exchange = Exchange(EngineCall(_held_stream(started, release), stopping, chat_stream_error))
        await asyncio.wait_for(started.wait(), CEILING)
        drain = asyncio.ensure_future(stopping.drain(3600))
        await _until(lambda: stopping.begun)
        assert not drain.done()  # waits for the running answer
        release.set()
        await asyncio.wait_for(drain, CEILING)  # done with the answer, long before the grace
        assert exchange.task.done()
        assert exchange.bodies() == [event({"delta": "One"}), event({"done": True})]

    asyncio.run(scenario())


def test_an_answer_not_begun_is_the_stop_503_and_a_later_one_is_refused_at_once() -> None:
    async def scenario() -> None:
        stopping, waiting = Stopping(), asyncio.Event()
        ran: list[str] = []

        async def queued(send: Any, trace: Any) -> None:
            ran.append("queued")
            waiting.set()
            await asyncio.Event().wait()  # a place in the engine's queue that never comes

        first = Exchange(EngineCall(queued, stopping, chat_stream_error))
        await asyncio.wait_for(waiting.wait(), CEILING)
        await asyncio.wait_for(stopping.drain(0), CEILING)
        await asyncio.wait_for(first.task, CEILING)
        later = Exchange(EngineCall(queued, stopping, chat_stream_error))
        await asyncio.wait_for(later.task, CEILING)
        assert ran == ["queued"]
        for exchange in (first, later):
            start, body = exchange.sent
            assert start["status"] == 503
            assert (b"retry-after", b"5") in start["headers"]
            assert json.loads(body["body"]) == STOP

    asyncio.run(scenario())


def test_a_second_ctrl_c_ends_the_running_answers_without_waiting_for_the_grace() -> None:
    async def scenario() -> None:
        stopping, started, release = Stopping(), asyncio.Event(), asyncio.Event()
        exchange = Exchange(EngineCall(_held_stream(started, release), stopping, chat_stream_error))
        await asyncio.wait_for(started.wait(), CEILING)
        await asyncio.wait_for(stopping.drain(3600, hurry=lambda: True), CEILING)
        await asyncio.wait_for(exchange.task, CEILING)
        assert exchange.bodies()[-1].startswith(b"event: error\n")

    asyncio.run(scenario())


def test_a_json_answer_already_begun_gets_nothing_appended() -> None:
    async def scenario() -> None:
        stopping, started = Stopping(), asyncio.Event()

        async def work(send: Any, trace: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            started.set()
            await asyncio.Event().wait()

        exchange = Exchange(EngineCall(work, stopping))
        await asyncio.wait_for(started.wait(), CEILING)
        await asyncio.wait_for(stopping.drain(0), CEILING)
        await asyncio.wait_for(exchange.task, CEILING)
        assert [m["type"] for m in exchange.sent] == ["http.response.start"]

    asyncio.run(scenario())
