"""The body ``POST /v1/chat/completions`` sends to the engine, rebuilt from the validated request.

``schemas.OpenAIChatRequest`` checks each field on its own; ``engine_body`` adds the checks that involve several
fields or the server's settings and then builds the engine's body from the model, field by field: the client's
bytes are never forwarded, so a field the backend does not know (or a duplicate key, or a NaN) cannot reach the
engine. ``developer`` messages become ``system`` ones, ``max_completion_tokens`` becomes ``max_tokens`` (what every
engine reads), and ``user`` is not forwarded.
"""

from __future__ import annotations

import json
from typing import Any

from ..api_errors import ApiError
from .schemas import (
    MAX_MESSAGE_CHARS,
    JsonObjectFormat,
    JsonSchemaFormat,
    OpenAIChatRequest,
    OpenAIMessage,
)

SAMPLING_FIELDS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "presence_penalty",
    "frequency_penalty",
    "repeat_penalty",
    "seed",
    "stop",
    "n",
    "logprobs",
    "top_logprobs",
    "logit_bias",
)
"""Forwarded as they are once validated (after ``model``, ``messages``, ``stream``, ``stream_options`` and
``max_tokens``; followed by ``response_format`` and ``json_schema``)."""


def invalid(problems: list[tuple[str, str]]) -> ApiError:
    """The 422 for ``(field, message)`` problems, worded like pydantic's (see ``fastlane.validation_failure``)."""
    return ApiError(
        422, "; ".join(f"{field}: {message}" for field, message in problems), field=problems[0][0]
    )


def problems_of(body: OpenAIChatRequest, context_length: int) -> list[tuple[str, str]]:
    """What is wrong with ``body`` beyond its fields one by one: ``(field, message)`` pairs."""
    found: list[tuple[str, str]] = []
    for index, message in enumerate(body.messages):
        where = f"messages.{index}"
        if message.role == "tool" and message.tool_call_id is None:
            found.append((f"{where}.tool_call_id", "Field required for a message whose role is 'tool'"))
        if message.role != "tool" and message.tool_call_id is not None:
            found.append((f"{where}.tool_call_id", "only messages whose role is 'tool' have a tool_call_id"))
        if isinstance(message.content, list):
            chars = sum(len(part.text) for part in message.content)
            if chars > MAX_MESSAGE_CHARS:
                found.append(
                    (
                        f"{where}.content",
                        f"text parts should have at most {MAX_MESSAGE_CHARS} characters in all",
                    )
                )
    for name in ("max_tokens", "max_completion_tokens"):
        value = getattr(body, name)
        if value is not None and value > context_length:
            found.append(
                (name, f"Input should be less than or equal to {context_length} (the context_length setting)")
            )
    if (
        body.max_tokens is not None
        and body.max_completion_tokens is not None
        and body.max_tokens != body.max_completion_tokens
    ):
        found.append(("max_completion_tokens", "differs from max_tokens; give one of them"))
    if body.stream_options is not None and not body.stream:
        found.append(("stream_options", "only allowed with stream: true"))
    if body.top_logprobs is not None and not body.logprobs:
        found.append(("top_logprobs", "only allowed with logprobs: true"))
    if body.json_schema is not None and body.response_format is not None:
        found.append(("json_schema", "give either json_schema or response_format, not both"))
    return found


def _message(message: OpenAIMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "system" if message.role == "developer" else message.role}
    if isinstance(message.content, str):
        out["content"] = message.content
    else:
        out["content"] = [{"type": "text", "text": part.text} for part in message.content]
    if message.name is not None:
        out["name"] = message.name
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def _response_format(body: OpenAIChatRequest) -> dict[str, Any] | None:
    form = body.response_format
    if form is None:
        return None
    if isinstance(form, JsonSchemaFormat):
        spec = form.json_schema
        json_schema: dict[str, Any] = {}
        if spec.name is not None:
            json_schema["name"] = spec.name
        if spec.description is not None:
            json_schema["description"] = spec.description
        json_schema["schema"] = spec.schema_
        if spec.strict is not None:
            json_schema["strict"] = spec.strict
        return {"type": "json_schema", "json_schema": json_schema}
    return {"type": "json_object" if isinstance(form, JsonObjectFormat) else "text"}


def engine_payload(body: OpenAIChatRequest, context_length: int) -> dict[str, Any]:
    """The engine's body for a validated request, as a dict; raises ``ApiError`` 422 naming the field when the
    fields do not fit together or a token limit is over ``context_length``."""
    found = problems_of(body, context_length)
    if found:
        raise invalid(found)
    out: dict[str, Any] = {}
    if body.model is not None:
        out["model"] = body.model
    out["messages"] = [_message(m) for m in body.messages]
    if body.stream is not None:
        out["stream"] = body.stream
    if body.stream_options is not None and body.stream_options.include_usage is not None:
        out["stream_options"] = {"include_usage": body.stream_options.include_usage}
    max_tokens = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
    if max_tokens is not None:
        out["max_tokens"] = max_tokens
    for name in SAMPLING_FIELDS:
        value = getattr(body, name)
        if value is not None:
            out[name] = value
    response_format = _response_format(body)
    if response_format is not None:
        out["response_format"] = response_format
    if body.json_schema is not None:
        out["json_schema"] = body.json_schema
    return out


def engine_body(body: OpenAIChatRequest, context_length: int) -> bytes:
    """``engine_payload`` as the JSON bytes sent to the engine."""
    payload = engine_payload(body, context_length)
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
