"""The fast lane and the FastAPI routes it stands in for answer alike (the routes stay for /docs and as the
reference implementation); each comparison checks which of the two really handled the requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from edubot_cli.server.api import fastlane
from edubot_cli.server.api.fastlane import FastLane
from edubot_cli.server.api.routes import chat as chat_route
from edubot_cli.server.api.routes import openai as openai_route
from tests.server.helpers import started_line
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import Step, StubEngine

REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("/chat", {"message": "one two"}),
    ("/chat", {"message": "x", "stream": True}),
    ("/chat", {"message": ""}),
    ("/chat", {"message": "x", "conversation_history": [{"role": "robot", "content": "y"}]}),
    ("/chat", {"message": "x", "system_prompt": "no"}),
    ("/chat", {"message": "x", "max_tokens": True}),
    ("/chat", {"message": "x", "max_tokens": "4"}),
    ("/chat", {"message": "x", "stream": 0}),
    ("/chat", {"message": "x", "temperature": True}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/chat/completions", {"messages": []}),
]


def _answers(backend: LiveBackend, stub: StubEngine) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    for path, body in REQUESTS:
        stub.script(Step(chunks=["a", "b"]))
        r = httpx.post(f"{backend.url}{path}", json=body)
        if r.headers["content-type"].startswith("text/event-stream"):
            lines = r.text.splitlines()
            assert lines[0] == started_line(r)
            out.append((r.status_code, [line for line in lines[1:] if '"done"' not in line]))
        else:
            payload = r.json()
            for volatile in ("latency_seconds", "timestamp", "id", "created"):
                payload.pop(volatile, None)
            out.append((r.status_code, payload))
    for raw in (b"{", b'{"message": "a", "message": "b"}'):
        r = httpx.post(f"{backend.url}/chat", content=raw, headers={"content-type": "application/json"})
        # The two JSON parsers word a syntax error differently.
        out.append((r.status_code, r.json()["error"]["code"] if raw == b"{" else r.json()))
    return out


@pytest.fixture
def without_fast_lane(stub_engine: StubEngine) -> Iterator[LiveBackend]:
    backend = LiveBackend({}, [stub_engine.url])
    backend.app.user_middleware = [m for m in backend.app.user_middleware if m.cls is not FastLane]
    with backend:
        yield backend


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The handlers (``chat_call``, ``completions_call``) each side called, in order."""
    seen: dict[str, list[str]] = {"fast lane": [], "routes": []}

    def counted(where: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            seen[where].append(handler.__name__)
            return handler(*args)

        return call

    for where, module, name in (
        ("fast lane", fastlane, "chat_call"),
        ("fast lane", fastlane, "completions_call"),
        ("routes", chat_route, "chat_call"),
        ("routes", openai_route, "completions_call"),
    ):
        monkeypatch.setattr(module, name, counted(where, getattr(module, name)))
    return seen


def test_fast_lane_answers_like_the_fastapi_routes(
    stub_engine: StubEngine,
    live_backend: Any,
    without_fast_lane: LiveBackend,
    handled: dict[str, list[str]],
) -> None:
    fast = live_backend({}, [stub_engine.url])
    assert any(m.cls is FastLane for m in fast.app.user_middleware)
    expected = _answers(without_fast_lane, stub_engine)
    assert [status for status, _ in expected] == [200, 200, 422, 422, 400, *[422] * 4, 200, 422, 400, 422]
    # Requests that pass validation reach a handler: here only through the routes.
    calls = ["chat_call", "chat_call", "chat_call", "completions_call"]
    assert handled == {"fast lane": [], "routes": calls}
    handled["routes"].clear()
    assert _answers(fast, stub_engine) == expected
    assert handled == {"fast lane": calls, "routes": []}
