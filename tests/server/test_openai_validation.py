"""POST /v1/chat/completions checks every field (422 naming it, nothing sent to the engine) and sends the engine a
body rebuilt from the validated request: exactly the known fields, never the client's bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from edubot_cli.server.api.schemas import check_json_schema
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

USER = {"role": "user", "content": "hi"}
BASE: dict[str, Any] = {"messages": [USER]}
GRAMMAR_REFUSED = (
    "grammar: not supported: GBNF grammars are refused: the backend cannot check them and a malformed one can "
    "crash the engine; use response_format with a JSON schema"
)
NO_TOOLS = "not supported: tool calling is not supported by the served models"
ROLES = "Input should be 'system', 'developer', 'user', 'assistant' or 'tool'"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[StubEngine, LiveBackend]]:
    with StubEngine() as stub, LiveBackend({}, [stub.url]) as backend:
        yield stub, backend


@pytest.fixture
def stub(served: tuple[StubEngine, LiveBackend]) -> StubEngine:
    served[0].requests.clear()
    return served[0]


@pytest.fixture
def url(served: tuple[StubEngine, LiveBackend]) -> str:
    return served[1].url + "/v1/chat/completions"


def post(url: str, body: Any) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url, content=raw, headers={"content-type": "application/json"}, timeout=30)


def with_message(**fields: Any) -> dict[str, Any]:
    return {"messages": [{**USER, **fields}]}


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "array", "items": schema}
    return schema


# (request body, field, message); the message is what follows "<field>: " unless it starts with the field.
REFUSED: list[tuple[Any, str, str]] = [
    # the probes of the security issue
    (with_message(role="bogus"), "messages.0.role", ROLES),
    (with_message(role=""), "messages.0.role", ROLES),
    (
        with_message(content=[{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]),
        "messages.0.content.0",
        'content parts of type "image_url" are not supported: the served models are text-only (send text parts)',
    ),
    (
        b'{"messages": [{"role": "user", "content": "hi"}], "top_p": NaN}',
        "top_p",
        "Input should be a finite number",
    ),
    ({**BASE, "top_k": -100}, "top_k", "Input should be greater than or equal to 0"),
    ({**BASE, "grammar": "root ::= ((("}, "grammar", GRAMMAR_REFUSED),
    # messages
    ({"model": "m"}, "messages", "Field required"),
    ({"messages": []}, "messages", "List should have at least 1 item after validation, not 0"),
    ({"messages": [USER] * 53}, "messages", "List should have at most 52 items after validation, not 53"),
    ({"messages": USER}, "messages", "Input should be a valid array"),
    ({"messages": [{"content": "hi"}]}, "messages.0.role", "Field required"),
    ({"messages": [{"role": "user"}]}, "messages.0.content", "Field required"),
    (with_message(content=None), "messages.0.content", "Input should be a string or a list of text parts"),
    (with_message(content=5), "messages.0.content", "Input should be a string or a list of text parts"),
    (with_message(content="x" * 8001), "messages.0.content", "String should have at most 8000 characters"),
    (
        with_message(content=[]),
        "messages.0.content",
        "List should have at least 1 item after validation, not 0",
    ),
    (
        with_message(content=[{"type": "text", "text": "x" * 5000}] * 2),
        "messages.0.content",
        "text parts should have at most 8000 characters in all",
    ),
    (
        with_message(content=[{"type": "text", "text": "a"}, {"type": "input_audio", "input_audio": {}}]),
        "messages.0.content.1",
        'content parts of type "input_audio" are not supported: the served models are text-only (send text parts)',
    ),
    (with_message(content=[{"text": "a"}]), "messages.0.content.0.type", "Field required"),
    (
        with_message(content=[{"type": "text", "text": "a", "cache_control": {}}]),
        "messages.0.content.0.cache_control",
        "Extra inputs are not permitted",
    ),
    (
        {"messages": [USER, {"role": "tool", "content": "sunny"}]},
        "messages.1.tool_call_id",
        "Field required for a message whose role is 'tool'",
    ),
    (
        with_message(tool_call_id="call_1"),
        "messages.0.tool_call_id",
        "only messages whose role is 'tool' have a tool_call_id",
    ),
    (
        {"messages": [{"role": "assistant", "content": "", "tool_calls": [{"id": "c"}]}]},
        "messages.0.tool_calls",
        NO_TOOLS,
    ),
    (with_message(name="a b"), "messages.0.name", "String should match pattern '^[A-Za-z0-9_-]+$'"),
    (with_message(weight=1), "messages.0.weight", "Extra inputs are not permitted"),
    # numbers: in range, finite, of the right type
    ({**BASE, "temperature": 2.5}, "temperature", "Input should be less than or equal to 2"),
    ({**BASE, "temperature": -0.1}, "temperature", "Input should be greater than or equal to 0"),
    ({**BASE, "temperature": "0.5"}, "temperature", "Input should be a valid number"),
    ({**BASE, "temperature": True}, "temperature", "Input should be a valid number"),
    (
        b'{"messages": [{"role": "user", "content": "hi"}], "temperature": Infinity}',
        "temperature",
        "Input should be a finite number",
    ),
    (
        b'{"messages": [{"role": "user", "content": "hi"}], "top_p": -Infinity}',
        "top_p",
        "Input should be a finite number",
    ),
    (
        b'{"messages": [{"role": "user", "content": "hi"}], "top_p": 1e400}',
        "top_p",
        "Input should be a finite number",
    ),
    ({**BASE, "top_p": 1.5}, "top_p", "Input should be less than or equal to 1"),
    ({**BASE, "top_k": 1.5}, "top_k", "Input should be a valid integer"),
    ({**BASE, "top_k": 100_001}, "top_k", "Input should be less than or equal to 100000"),
    ({**BASE, "min_p": 1.1}, "min_p", "Input should be less than or equal to 1"),
    ({**BASE, "min_p": -0.1}, "min_p", "Input should be greater than or equal to 0"),
    ({**BASE, "max_tokens": 0}, "max_tokens", "Input should be greater than or equal to 1"),
    ({**BASE, "max_tokens": 1.0}, "max_tokens", "Input should be a valid integer"),
    (
        {**BASE, "max_tokens": 2049},
        "max_tokens",
        "Input should be less than or equal to 2048 (the context_length setting)",
    ),
    (
        {**BASE, "max_tokens": 10**30},
        "max_tokens",
        "Input should be less than or equal to 2048 (the context_length setting)",
    ),
    (
        {**BASE, "max_completion_tokens": 4096},
        "max_completion_tokens",
        "Input should be less than or equal to 2048 (the context_length setting)",
    ),
    (
        {**BASE, "max_tokens": 5, "max_completion_tokens": 6},
        "max_completion_tokens",
        "differs from max_tokens; give one of them",
    ),
    ({**BASE, "n": 2}, "n", "Input should be less than or equal to 1"),
    ({**BASE, "n": True}, "n", "Input should be a valid integer"),
    ({**BASE, "presence_penalty": 2.5}, "presence_penalty", "Input should be less than or equal to 2"),
    ({**BASE, "frequency_penalty": -3}, "frequency_penalty", "Input should be greater than or equal to -2"),
    ({**BASE, "repeat_penalty": 0}, "repeat_penalty", "Input should be greater than or equal to 0.01"),
    ({**BASE, "repeat_penalty": -1}, "repeat_penalty", "Input should be greater than or equal to 0.01"),
    ({**BASE, "repeat_penalty": 11}, "repeat_penalty", "Input should be less than or equal to 10"),
    ({**BASE, "seed": -1}, "seed", "Input should be greater than or equal to 0"),
    ({**BASE, "seed": 2**32}, "seed", "Input should be less than or equal to 4294967295"),
    ({**BASE, "seed": "4"}, "seed", "Input should be a valid integer"),
    # stop
    ({**BASE, "stop": 5}, "stop", "Input should be a string or a list of at most 4 strings"),
    (
        {**BASE, "stop": ["a", "b", "c", "d", "e"]},
        "stop",
        "List should have at most 4 items after validation, not 5",
    ),
    ({**BASE, "stop": [""]}, "stop.0", "String should have at least 1 character"),
    ({**BASE, "stop": ""}, "stop", "String should have at least 1 character"),
    ({**BASE, "stop": [1]}, "stop.0", "Input should be a valid string"),
    ({**BASE, "stop": "x" * 257}, "stop", "String should have at most 256 characters"),
    # logprobs
    ({**BASE, "logprobs": "yes"}, "logprobs", "Input should be a valid boolean"),
    (
        {**BASE, "logprobs": True, "top_logprobs": 21},
        "top_logprobs",
        "Input should be less than or equal to 20",
    ),
    (
        {**BASE, "logprobs": True, "top_logprobs": -1},
        "top_logprobs",
        "Input should be greater than or equal to 0",
    ),
    ({**BASE, "top_logprobs": 2}, "top_logprobs", "only allowed with logprobs: true"),
    ({**BASE, "logprobs": False, "top_logprobs": 2}, "top_logprobs", "only allowed with logprobs: true"),
    # stream
    ({**BASE, "stream": "true"}, "stream", "Input should be a valid boolean"),
    ({**BASE, "stream": 1}, "stream", "Input should be a valid boolean"),
    ({**BASE, "stream_options": {"include_usage": True}}, "stream_options", "only allowed with stream: true"),
    (
        {**BASE, "stream": True, "stream_options": {"include_usage": "yes"}},
        "stream_options.include_usage",
        "Input should be a valid boolean",
    ),
    (
        {**BASE, "stream": True, "stream_options": {"continuous_usage_stats": True}},
        "stream_options.continuous_usage_stats",
        "Extra inputs are not permitted",
    ),
    # response_format and json_schema
    (
        {**BASE, "response_format": {"type": "xml"}},
        "response_format",
        "Input should be an object whose type is 'text', 'json_object' or 'json_schema'",
    ),
    (
        {**BASE, "response_format": "json"},
        "response_format",
        "Input should be an object whose type is 'text', 'json_object' or 'json_schema'",
    ),
    ({**BASE, "response_format": {"type": "json_schema"}}, "response_format.json_schema", "Field required"),
    (
        {**BASE, "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
        "response_format.json_schema.schema",
        "Field required",
    ),
    (
        {**BASE, "response_format": {"type": "json_schema", "json_schema": {"schema": "{}"}}},
        "response_format.json_schema.schema",
        "Input should be an object",
    ),
    (
        {**BASE, "response_format": {"type": "json_object", "schema": {"type": "object"}}},
        "response_format.schema",
        "Extra inputs are not permitted",
    ),
    (
        {**BASE, "response_format": {"type": "json_schema", "json_schema": {"schema": {"maxLength": 5000}}}},
        "response_format.json_schema.schema",
        "maxLength: should be an integer from 0 to 1000",
    ),
    (
        {**BASE, "json_schema": {"type": "array", "items": {"type": "string"}, "minItems": 100000}},
        "json_schema",
        "minItems: should be an integer from 0 to 1000",
    ),
    (
        {**BASE, "json_schema": {"type": "string", "maxLength": 10.5}},
        "json_schema",
        "maxLength: should be an integer from 0 to 1000",
    ),
    (
        {**BASE, "json_schema": {"properties": {"code": {"type": "string", "pattern": "^(a{999999})$"}}}},
        "json_schema",
        "properties.code.pattern: regular-expression patterns are not supported",
    ),
    (
        {**BASE, "json_schema": {"patternProperties": {"^x": {}}}},
        "json_schema",
        "patternProperties: regular-expression patterns are not supported",
    ),
    (
        {**BASE, "json_schema": {"$ref": "https://example.com/s.json"}},
        "json_schema",
        "$ref: only local references (#/...) are supported",
    ),
    (
        {**BASE, "json_schema": {"$ref": "#"}},
        "json_schema",
        "$ref: only local references (#/...) are supported",
    ),
    (
        {**BASE, "json_schema": nested(21)},
        "json_schema",
        ".".join(["items"] * 21) + ": nested more than 20 levels deep",
    ),
    (
        {**BASE, "json_schema": {"enum": list(range(2001))}},
        "json_schema",
        "schema: more than 2000 values",
    ),
    (
        {**BASE, "json_schema": {"type": "integer", "maximum": 1e308}},
        "json_schema",
        "maximum: numbers should be finite and at most 2**53 in size",
    ),
    (
        b'{"messages": [{"role": "user", "content": "hi"}], "json_schema": {"type": "number", "minimum": NaN}}',
        "json_schema",
        "minimum: numbers should be finite and at most 2**53 in size",
    ),
    (
        {**BASE, "json_schema": {}, "response_format": {"type": "json_object"}},
        "json_schema",
        "give either json_schema or response_format, not both",
    ),
    # logit_bias
    (
        {**BASE, "logit_bias": {"abc": 1}},
        "logit_bias.abc.[key]",
        "keys should be token ids: decimal integers from 0 to 2147483647",
    ),
    (
        {**BASE, "logit_bias": {"99999999999": 1}},
        "logit_bias.99999999999.[key]",
        "keys should be token ids: decimal integers from 0 to 2147483647",
    ),
    ({**BASE, "logit_bias": {"15": 101}}, "logit_bias.15", "Input should be less than or equal to 100"),
    ({**BASE, "logit_bias": {"15": False}}, "logit_bias.15", "Input should be a valid number"),
    (
        b'{"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"15": NaN}}',
        "logit_bias.15",
        "Input should be a finite number",
    ),
    (
        {**BASE, "logit_bias": {str(i): 1 for i in range(301)}},
        "logit_bias",
        "Dictionary should have at most 300 items after validation, not more",
    ),
    ({**BASE, "logit_bias": [[15, 1]]}, "logit_bias", "Input should be an object"),
    # fields the backend does not forward
    ({**BASE, "tools": [{"type": "function", "function": {"name": "f"}}]}, "tools", NO_TOOLS),
    ({**BASE, "tool_choice": "auto"}, "tool_choice", NO_TOOLS),
    (
        {**BASE, "modalities": ["text", "audio"]},
        "modalities",
        "not supported: the served models are text-only",
    ),
    ({**BASE, "n_probs": 5}, "n_probs", "Extra inputs are not permitted"),
    ({**BASE, "id_slot": 0}, "id_slot", "Extra inputs are not permitted"),
    ({**BASE, "mirostat": 2}, "mirostat", "Extra inputs are not permitted"),
    ({**BASE, "model": 5}, "model", "Input should be a valid string"),
    ({**BASE, "model": "m" * 257}, "model", "String should have at most 256 characters"),
    ({**BASE, "user": "u" * 257}, "user", "String should have at most 256 characters"),
]


@pytest.mark.parametrize(("body", "field", "message"), REFUSED)
def test_a_refused_field_is_a_422_naming_it(
    stub: StubEngine, url: str, body: Any, field: str, message: str
) -> None:
    r = post(url, body)
    assert r.status_code == 422, r.text
    expected = message if message.startswith(field + ":") else f"{field}: {message}"
    assert r.json() == {"error": {"code": "validation_error", "message": expected, "field": field}}
    assert stub.requests == []


def test_several_problems_are_named_together(stub: StubEngine, url: str) -> None:
    r = post(url, {"messages": [{"role": "bogus", "content": 5}], "top_k": -1, "grammar": ""})
    assert r.status_code == 422
    assert r.json()["error"] == {
        "code": "validation_error",
        "message": f"messages.0.role: {ROLES}; messages.0.content: Input should be a string or a list of text "
        f"parts; top_k: Input should be greater than or equal to 0; {GRAMMAR_REFUSED}",
        "field": "messages.0.role",
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"messages": [{"role": "user", "content": "a"}], "max_tokens": 1, "max_tokens": 9}', "max_tokens"),
        (b'{"messages": [{"role": "user", "content": "a", "content": "b"}]}', "messages.0.content"),
    ],
)
def test_a_field_given_twice_is_a_422_naming_it(stub: StubEngine, url: str, raw: bytes, field: str) -> None:
    r = post(url, raw)
    assert r.status_code == 422, r.text
    message = f"{field}: given more than once; send each field once"
    assert r.json() == {"error": {"code": "validation_error", "message": message, "field": field}}
    assert stub.requests == []


def test_a_body_that_is_not_json_is_400(stub: StubEngine, url: str) -> None:
    for raw in (b'{"messages": ', b'{"messages": [{"role": "user", "content": "\\ud800"}]}', b"\xff"):
        r = post(url, raw)
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "bad_request"
        assert r.json()["error"]["message"].startswith("request body is not valid JSON: ")
    assert stub.requests == []


# (request body, what the engine must receive)
FORWARDED: list[tuple[Any, dict[str, Any]]] = [
    (BASE, {"messages": [USER]}),
    (
        {
            "model": "edubot",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "system", "content": "You are a tutor.", "name": "setup"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "What is "}, {"type": "text", "text": "2+2?"}],
                },
                {"role": "assistant", "content": "4"},
                {"role": "tool", "content": "4", "tool_call_id": "call_1"},
                {"role": "user", "content": ""},
            ],
            "stream": False,
            "max_completion_tokens": 2048,
            "temperature": 0,
            "top_p": 1,
            "top_k": 0,
            "min_p": 0.05,
            "presence_penalty": -2,
            "frequency_penalty": 2,
            "repeat_penalty": 1.1,
            "seed": 4294967295,
            "stop": ["\n\n", "END"],
            "n": 1,
            "logprobs": True,
            "top_logprobs": 20,
            "logit_bias": {"15": -100, "2147483647": 100},
            "response_format": {"type": "json_object"},
            "user": "student-7",
        },
        {
            "model": "edubot",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "system", "content": "You are a tutor.", "name": "setup"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "What is "}, {"type": "text", "text": "2+2?"}],
                },
                {"role": "assistant", "content": "4"},
                {"role": "tool", "content": "4", "tool_call_id": "call_1"},
                {"role": "user", "content": ""},
            ],
            "stream": False,
            "max_tokens": 2048,
            "temperature": 0,
            "top_p": 1,
            "top_k": 0,
            "min_p": 0.05,
            "presence_penalty": -2,
            "frequency_penalty": 2,
            "repeat_penalty": 1.1,
            "seed": 4294967295,
            "stop": ["\n\n", "END"],
            "n": 1,
            "logprobs": True,
            "top_logprobs": 20,
            "logit_bias": {"15": -100, "2147483647": 100},
            "response_format": {"type": "json_object"},
        },
    ),
    (
        {
            **BASE,
            "max_tokens": 7,
            "max_completion_tokens": 7,
            "stop": "END",
            "temperature": None,
            "model": None,
        },
        {"messages": [USER], "max_tokens": 7, "stop": "END"},
    ),
    (
        {
            **BASE,
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "answer",
                    "description": "One number.",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {
                            "n": {"type": "integer", "maximum": 100},
                            "maxLength": {"type": "string"},
                        },
                        "required": ["n"],
                        "$defs": {"x": {"type": "string", "maxLength": 1000}},
                    },
                },
            },
        },
        {
            "messages": [USER],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "answer",
                    "description": "One number.",
                    "schema": {
                        "type": "object",
                        "properties": {
                            "n": {"type": "integer", "maximum": 100},
                            "maxLength": {"type": "string"},
                        },
                        "required": ["n"],
                        "$defs": {"x": {"type": "string", "maxLength": 1000}},
                    },
                    "strict": True,
                },
            },
        },
    ),
    (
        {
            **BASE,
            "json_schema": {
                "type": "array",
                "items": {"$ref": "#/$defs/x"},
                "$defs": {"x": {"type": "string"}},
            },
        },
        {
            "messages": [USER],
            "json_schema": {
                "type": "array",
                "items": {"$ref": "#/$defs/x"},
                "$defs": {"x": {"type": "string"}},
            },
        },
    ),
    (
        {**BASE, "response_format": {"type": "text"}},
        {"messages": [USER], "response_format": {"type": "text"}},
    ),
]


@pytest.mark.parametrize(("body", "forwarded"), FORWARDED)
def test_the_engine_gets_exactly_the_validated_fields(
    stub: StubEngine, url: str, body: Any, forwarded: dict[str, Any]
) -> None:
    r = post(url, body)
    assert r.status_code == 200, r.text
    assert stub.requests == [forwarded]


def test_a_stream_forwards_its_options(stub: StubEngine, url: str) -> None:
    body = {**BASE, "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", url, json=body, timeout=30) as r:
        assert r.status_code == 200
        r.read()
    assert stub.requests == [body]


def test_messages_and_sizes_at_the_limits_are_accepted(stub: StubEngine, url: str) -> None:
    messages = [{"role": "user", "content": "x" * 8000}] + [USER] * 51
    parts = [{"type": "text", "text": "y" * 250}] * 32
    messages[1] = {"role": "user", "content": parts}
    body = {"messages": messages, "stop": ["a", "b", "c", "d"], "logit_bias": {str(i): 1 for i in range(300)}}
    assert post(url, body).status_code == 200
    assert stub.requests == [body]


def test_the_context_limit_is_the_servers_setting(stub: StubEngine, live_backend: Any) -> None:
    backend = live_backend({"context_length": 4096}, [stub.url])
    assert post(f"{backend.url}/v1/chat/completions", {**BASE, "max_tokens": 4096}).status_code == 200
    r = post(f"{backend.url}/v1/chat/completions", {**BASE, "max_tokens": 4097})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "max_tokens: Input should be less than or equal to 4096 (the context_length setting)"
    )


def test_refusals_are_counted_as_422(served: tuple[StubEngine, LiveBackend], url: str) -> None:
    metrics = served[1].app.state.backend.metrics
    before = metrics.rejected.get("422", 0)
    post(url, {**BASE, "top_k": -100})  # a single field
    post(url, {**BASE, "top_logprobs": 1})  # fields that do not fit together
    assert metrics.rejected.get("422", 0) == before + 2


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object", "properties": {"pattern": {"type": "string"}}}, None),
        ({"type": "string", "minLength": 0, "maxLength": 1000}, None),
        ({"type": "integer", "minimum": -(2**53), "maximum": 2**53}, None),
        ({"allOf": [{"$ref": "#/$defs/a"}], "$defs": {"a": {"type": "boolean"}}}, None),
        ({"type": "string", "maxLength": True}, "maxLength: should be an integer from 0 to 1000"),
        ({"type": "string", "minLength": -1}, "minLength: should be an integer from 0 to 1000"),
        ({"items": [{"maxItems": 1001}]}, "items.0.maxItems: should be an integer from 0 to 1000"),
        (
            {"type": "integer", "minimum": -(2**53) - 1},
            "minimum: numbers should be finite and at most 2**53 in size",
        ),
        ({"enum": [float("inf")]}, "enum.0: numbers should be finite and at most 2**53 in size"),
    ],
)
def test_json_schema_check(schema: dict[str, Any], problem: str | None) -> None:
    from pydantic_core import PydanticCustomError

    if problem is None:
        assert check_json_schema(schema) is schema
    else:
        with pytest.raises(PydanticCustomError) as caught:
            check_json_schema(schema)
        assert caught.value.message() == problem
