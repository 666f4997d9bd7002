"""Request ids: taken from ``X-Request-ID`` (or made), answered, passed to the engine and logged with the engine's
completion id, on the fast lane and on the FastAPI routes alike."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from edubot_cli.server.api.fastlane import FastLane
from edubot_cli.server.request_ids import accepted, completion_id
from tests.support.live_backend import LiveBackend
from tests.support.poll import eventually
from tests.support.stub_engine import StubEngine

MakeBackend = Callable[..., LiveBackend]
GIVEN = "lesson-42.a:B_7"
HEX_ID = re.compile(r"[0-9a-f]{32}")
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("/chat", {"message": "hi"}),
    ("/chat", {"message": "hi", "stream": True}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "stream": True}),
]


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    with caplog.at_level(logging.INFO, logger="edubot.server.access"):
        yield lambda: [r.getMessage() for r in caplog.records if r.name == "edubot.server.access"]


@pytest.fixture(params=["fast lane", "routes"])
def backend(request: pytest.FixtureRequest, stub_engine: StubEngine) -> Iterator[LiveBackend]:
    made = LiveBackend({}, [stub_engine.url])
    if request.param == "routes":
        made.app.user_middleware = [m for m in made.app.user_middleware if m.cls is not FastLane]
    with made:
        yield made


def engine_ids(stub: StubEngine, path: str) -> list[str | None]:
    return [given for method, at, given in stub.request_ids if at == path]


@pytest.mark.parametrize(("path", "body"), CALLS)
def test_the_id_reaches_the_engine_comes_back_and_is_logged_with_the_engine_id(
    backend: LiveBackend,
    stub_engine: StubEngine,
    access_log: Callable[[], list[str]],
    path: str,
    body: dict[str, Any],
) -> None:
    r = httpx.post(f"{backend.url}{path}", json=body, headers={"X-Request-ID": GIVEN})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == GIVEN
    assert engine_ids(stub_engine, "/v1/chat/completions") == [GIVEN]
    assert eventually(lambda: len(access_log()) == 1)
    line = access_log()[0]
    pattern = rf'127\.0\.0\.1:\d+ - "POST {path}" 200 \d+\.\d{{3}} s id={GIVEN} engine_id=chatcmpl-stub-1'
    assert re.fullmatch(pattern, line), line


@pytest.mark.parametrize("given", ["has space", "x" * 65, "naïve", "a/b", "tab\there", ""], ids=repr)
def test_an_invalid_id_is_replaced_everywhere(
    stub_engine: StubEngine,
    live_backend: MakeBackend,
    access_log: Callable[[], list[str]],
    given: str,
) -> None:
    backend = live_backend({}, [stub_engine.url])
    raw = given.encode("utf-8")
    r = httpx.post(f"{backend.url}/chat", json={"message": "hi"}, headers=[(b"X-Request-ID", raw)])
    assert r.status_code == 200
    made = r.headers["x-request-id"]
    assert HEX_ID.fullmatch(made)
    assert engine_ids(stub_engine, "/v1/chat/completions") == [made]
    assert eventually(lambda: len(access_log()) == 1)
    assert f" id={made} engine_id=chatcmpl-stub-1" in access_log()[0]


def test_without_an_id_each_request_gets_its_own(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({}, [stub_engine.url])
    first = httpx.post(f"{backend.url}/chat", json={"message": "hi"}).headers["x-request-id"]
    second = httpx.post(f"{backend.url}/chat", json={"message": "hi"}).headers["x-request-id"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second
    assert engine_ids(stub_engine, "/v1/chat/completions") == [first, second]


def test_models_and_refusals_carry_the_id_too(
    stub_engine: StubEngine, live_backend: MakeBackend, access_log: Callable[[], list[str]]
) -> None:
    backend = live_backend({}, [stub_engine.url])
    models = httpx.get(f"{backend.url}/v1/models", headers={"X-Request-ID": "m1"})
    assert (models.status_code, models.headers["x-request-id"]) == (200, "m1")
    assert engine_ids(stub_engine, "/v1/models")[-1] == "m1"
    refused = httpx.post(
        f"{backend.url}/chat", content=b"hi", headers={"X-Request-ID": "r1", "Content-Type": "text/plain"}
    )
    assert (refused.status_code, refused.headers["x-request-id"]) == (415, "r1")
    assert eventually(lambda: len(access_log()) == 2)
    assert [re.sub(r"^\S+ ", "", re.sub(r" \d+\.\d{3} s ", " T ", line)) for line in access_log()] == [
        '- "GET /v1/models" 200 T id=m1',
        '- "POST /chat" 415 T id=r1',
    ]


def test_the_log_line_says_who_asked_when_the_request_proved_it(
    stub_engine: StubEngine, live_backend: MakeBackend, access_log: Callable[[], list[str]]
) -> None:
    backend = live_backend({"api_key": "k3y"}, [stub_engine.url])
    with_key = {"X-Request-ID": "a1", "Authorization": "Bearer k3y"}
    assert httpx.post(f"{backend.url}/chat", json={"message": "hi"}, headers=with_key).status_code == 200
    wrong = {"X-Request-ID": "a2", "Authorization": "Bearer nope"}
    assert httpx.post(f"{backend.url}/chat", json={"message": "hi"}, headers=wrong).status_code == 401
    assert httpx.get(f"{backend.url}/health", headers={"X-Request-ID": "a3"}).status_code == 200
    assert eventually(lambda: len(access_log()) == 3)
    assert [re.sub(r"^\S+ ", "", re.sub(r" \d+\.\d{3} s ", " T ", line)) for line in access_log()] == [
        '- "POST /chat" 200 T id=a1 engine_id=chatcmpl-stub-1 who=key',
        '- "POST /chat" 401 T id=a2',
        '- "GET /health" 200 T id=a3',
    ]


def test_accepted_ids() -> None:
    assert accepted("Abc-1.2_3:4") == "Abc-1.2_3:4"
    assert accepted("x" * 64) == "x" * 64
    assert HEX_ID.fullmatch(accepted("x" * 65))
    assert HEX_ID.fullmatch(accepted(None))
    assert HEX_ID.fullmatch(accepted("a b"))


def test_completion_ids_are_logged_only_when_safe() -> None:
    assert completion_id({"id": "chatcmpl-AbC_1.2:3"}) == "chatcmpl-AbC_1.2:3"
    assert completion_id({"id": "x\ninjected"}) is None
    assert completion_id({"id": "x" * 129}) is None
    assert completion_id({"id": 7}) is None
    assert completion_id(["chatcmpl-1"]) is None
    assert completion_id(None) is None
