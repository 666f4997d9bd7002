"""The probes of the security issue against the real llama-server behind the backend: each is a 4xx naming the
field (the malformed grammar never reaches the engine), engine refusals stay 4xx with clean messages, a prompt
over the context is the same 400 streamed or not, and the engine is still the one that started."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edubot_cli.engines.lifecycle import Running
from tests.server.helpers import chat_events
from tests.support.live_backend import LiveBackend, served_embedded
from tests.support.poll import ENGINE_CEILING

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1800)]

USER = {"role": "user", "content": "Say hi."}
BASE: dict[str, Any] = {"messages": [USER], "max_tokens": 4, "temperature": 0}
ROLES = "Input should be 'system', 'developer', 'user', 'assistant' or 'tool'"
TOO_LONG = " ".join(f"w{i}" for i in range(2000))[:8000]  # about 5,000 tokens: more than the 2,048 of a slot


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, LiveBackend, int]]:
    with served_embedded(
        tmp_path_factory.mktemp("logs"), {"max_tokens": 8, "temperature": 0.0}, parallel=1, max_queue=4
    ) as (launch, live):
        yield launch, live, launch.engine.pid  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def url(served: tuple[Running, LiveBackend, int]) -> str:
    return served[1].url


def post(url: str, body: Any, path: str = "/v1/chat/completions") -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        url + path, content=raw, headers={"content-type": "application/json"}, timeout=ENGINE_CEILING
    )


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**BASE, "messages": [{"role": "bogus", "content": "hi"}]}, "messages.0.role", ROLES),
        ({**BASE, "messages": [{"role": "", "content": "hi"}]}, "messages.0.role", ROLES),
        (
            {
                **BASE,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}],
                    }
                ],
            },
            "messages.0.content.0",
            'content parts of type "image_url" are not supported: the served models are text-only (send text parts)',
        ),
        (
            b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "top_p": NaN}',
            "top_p",
            "Input should be a finite number",
        ),
        ({**BASE, "top_k": -100}, "top_k", "Input should be greater than or equal to 0"),
        (
            {**BASE, "grammar": "root ::= ((("},
            "grammar",
            "not supported: GBNF grammars are refused: the backend cannot check them and a malformed one can crash "
            "the engine; use response_format with a JSON schema",
        ),
        (
            {**BASE, "json_schema": {"type": "array", "items": {"type": "string"}, "minItems": 100000}},
            "json_schema",
            "minItems: should be an integer from 0 to 1000",
        ),
    ],
)
def test_the_probes_are_refused_naming_the_field(url: str, body: Any, field: str, message: str) -> None:
    r = post(url, body)
    assert r.status_code == 422, r.text
    assert r.json() == {
        "error": {"code": "validation_error", "message": f"{field}: {message}", "field": field}
    }


def test_an_engine_refusal_stays_a_4xx_with_a_clean_message(url: str) -> None:
    r = post(url, {**BASE, "json_schema": {"type": "zzz"}})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, 400)
    assert "unrecognized type zzz" in error["message"]
    assert "/" not in error["message"] and "\n" not in error["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_v1_prompt_over_the_context_is_a_400(url: str, stream: bool) -> None:
    r = post(url, {**BASE, "messages": [{"role": "user", "content": TOO_LONG}], "stream": stream})
    assert (r.status_code, r.headers["content-type"]) == (400, "application/json"), r.text
    error = r.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("exceed_context_size_error", None, 400)
    assert error["message"].endswith("exceeds the available context size (2048 tokens), try increasing it")


def test_a_chat_prompt_over_the_context_is_the_same_error_streamed_or_not(url: str) -> None:
    plain = post(url, {"message": TOO_LONG}, "/chat")
    streamed = post(url, {"message": TOO_LONG, "stream": True}, "/chat")
    assert (plain.status_code, streamed.status_code) == (
        400,
        200,
    )  # the stream started once the engine had it
    assert chat_events(streamed) == [("error", plain.json())]
    error = plain.json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith("engine 1 answered 400: request (")
    assert error["message"].endswith("exceeds the available context size (2048 tokens), try increasing it")


def test_every_accepted_field_works_on_the_engine(url: str) -> None:
    body = {
        "model": "edubot",
        "messages": [
            {"role": "developer", "content": "Answer with JSON."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Give a number "}, {"type": "text", "text": "n."}],
            },
        ],
        "max_completion_tokens": 12,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 0,
        "min_p": 0.05,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.1,
        "repeat_penalty": 1.1,
        "seed": 7,
        "stop": ["\n\n"],
        "n": 1,
        "logprobs": True,
        "top_logprobs": 2,
        "logit_bias": {"0": -100},
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "number",
                "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
            },
        },
        "user": "student-1",
    }
    r = post(url, body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["choices"][0]["message"]["content"].startswith("{")
    assert 0 < answer["usage"]["completion_tokens"] <= 12
    assert answer["choices"][0]["logprobs"]["content"]


def test_a_stream_ends_with_done(url: str) -> None:
    body = {**BASE, "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=ENGINE_CEILING) as r:
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    usage = [json.loads(line[6:])["usage"] for line in lines[:-1] if '"usage"' in line]
    assert usage and usage[-1]["completion_tokens"] > 0


def test_the_engine_survived_every_probe(served: tuple[Running, LiveBackend, int], url: str) -> None:
    launch, _, pid = served
    assert launch.engine.pid == pid  # type: ignore[attr-defined]
    assert launch.restarts == 0
    health = httpx.get(url + "/health", timeout=30).json()
    assert (health["status"], health["engine"]) == ("healthy", "ok")
    assert post(url, BASE).status_code == 200


def test_the_logs_hold_no_refused_request(served: tuple[Running, LiveBackend, int]) -> None:
    # The grammar never reached the engine: llama-server logs every grammar it fails to parse.
    log = served[0].engine.log_path
    assert isinstance(log, Path)
    assert "failed to parse grammar" not in log.read_text()
