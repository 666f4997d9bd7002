"""What engines say about errors, as the API says it: ``sanitise`` (no file paths, URLs or tracebacks leave the
backend), the API error for an engine's non-200 answer (``engine_error`` on /chat, ``engine_refusal`` in OpenAI's
format on /v1), and the events that end a stream that failed after it started."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ...errorbody import error_object
from ..api_errors import ApiError
from .sse import event

if TYPE_CHECKING:
    from .upstream import UpstreamEngine

MAX_ERROR_CHARS = 300
_TRACEBACK = "Traceback (most recent call last)"
_SCRUB = [
    (re.compile(r"File \"[^\"]*\", line \d+"), "[source]"),
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+"), "[url]"),
    (re.compile(r"(?<![\w.])(?:~|\.{1,2})?/(?:[\w.+@~-]+/)+[\w.+@~-]*(?::\d+)*"), "[path]"),
    (re.compile(r"\b[A-Za-z]:\\\S+"), "[path]"),
    (
        re.compile(r"\b[\w.-]+\.(?:c|cc|cpp|cxx|h|hh|hpp|cu|py|pyx|rs|go|java|js|ts|m|mm)(?::\d+)+"),
        "[source]",
    ),
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "[address]"),
]
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,63}")


def sanitise(message: str) -> str:
    """A short, single-line version of an engine's error message without file paths, source locations, URLs,
    addresses or tracebacks (of a Python traceback, its last line: the exception)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "no details"
    text = lines[-1] if lines[0].startswith(_TRACEBACK) else lines[0]
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1].rstrip() + "…"
    return text or "no details"


def _message(detail: dict[str, Any]) -> str:
    return sanitise(str(detail.get("message") or ""))


def engine_error(engine: UpstreamEngine, status: int, body: bytes) -> ApiError:
    """The API error for an engine's non-200 answer (its message sanitised and kept, the engine named): a 4xx
    stays a 4xx (400; 429 with Retry-After), except 401/403 (the engine refused the backend's own key) and 404
    (the backend asked the wrong thing), which are the backend's fault: 502, as 5xx answers; 503 stays 503."""
    where = f"{engine.label} answered {status}: {_message(error_object(body))}"
    if status == 503:
        return ApiError(503, where)
    if status == 429:
        return ApiError(429, where, headers={"Retry-After": "1"})
    if 400 <= status < 500 and status not in (401, 403, 404):
        return ApiError(400, where)
    return ApiError(502, where)


class OpenAIError(ApiError):
    """An error answered in OpenAI's format, ``{"error": {"message", "type", "param", "code"}}``: an engine's 4xx
    on /v1, relayed with its status and its message sanitised."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str,
        code: str | int | None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, message, headers=headers, field=param)
        self.kind = kind
        self.openai_code = code

    def body(self) -> bytes:
        return json.dumps(openai_error(self), ensure_ascii=False).encode()


def _openai_kind(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status == 404:
        return "not_found_error"
    if status == 429:
        return "rate_limit_error"
    return "server_error" if status >= 500 else "invalid_request_error"


def openai_error(exc: ApiError) -> dict[str, Any]:
    """``exc`` as an OpenAI error object (what /v1 streams end with)."""
    if isinstance(exc, OpenAIError):
        kind, code = exc.kind, exc.openai_code
    else:
        kind, code = _openai_kind(exc.status), exc.code
    return {"error": {"message": exc.message, "type": kind, "param": exc.field, "code": code}}


def engine_refusal(engine: UpstreamEngine, status: int, body: bytes) -> ApiError:
    """The API error for an engine's non-200 answer on /v1: a 4xx the client caused keeps its status, in OpenAI's
    format with the engine's message sanitised (and its ``type``/``code``/``param`` when they are plain
    identifiers); anything else as ``engine_error``."""
    if not 400 <= status < 500 or status in (401, 403):
        return engine_error(engine, status, body)
    detail = error_object(body)
    kind = detail.get("type")
    code = detail.get("code")
    param = detail.get("param")
    return OpenAIError(
        status,
        _message(detail),
        kind if isinstance(kind, str) and _IDENTIFIER.fullmatch(kind) else _openai_kind(status),
        code if type(code) is int or (isinstance(code, str) and _IDENTIFIER.fullmatch(code)) else status,
        param if isinstance(param, str) and _IDENTIFIER.fullmatch(param) else None,
        headers={"Retry-After": "1"} if status == 429 else None,
    )


def stream_status(body: bytes) -> int:
    """The HTTP status an error event inside an engine's stream stands for: its ``code`` when that is one (llama.cpp
    says 400 for a prompt over the context), else 500."""
    code = error_object(body).get("code")
    return code if type(code) is int and 400 <= code < 600 else 500


def is_error_event(data: bytes) -> bool:
    if b'"error"' not in data:
        return False
    try:
        obj = json.loads(data)
    except ValueError:
        return False
    return isinstance(obj, dict) and "error" in obj and "choices" not in obj


def chat_stream_error(exc: ApiError) -> bytes:
    """The end of a /chat stream that failed: ``event: error`` with the API's error object."""
    return event(exc.payload(), "error")


def openai_stream_error(exc: ApiError) -> bytes:
    """The end of a /v1 stream that failed: an OpenAI error object as a ``data:`` event, then ``[DONE]``."""
    return event(openai_error(exc)) + b"data: [DONE]\n\n"
