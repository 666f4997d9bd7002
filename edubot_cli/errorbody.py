"""What an error body says, whoever wrote it: the one reader of engine and server error answers, shared by the chat
client (``chat.failures``) and the backend (``server.engine_errors``). No FastAPI, no Typer: plain JSON.

The shapes met in practice: ``{"error": {"message", "type", "code", "param"}}`` (OpenAI, vLLM, llama.cpp's HTTP
errors, edubot's own API), ``{"error": "text"}``, FastAPI's ``{"detail": "text"}`` and ``{"detail": [...]}`` (a
validation error), the bare ``{"message", "code"}`` object of llama.cpp's ``error:`` stream lines, and plain text
(a proxy's HTML page, a traceback).
"""

from __future__ import annotations

import json
from typing import Any

TEXT_LIMIT = 2000
"""Characters of a body that is not an error object kept as its message."""


def error_fields(data: Any) -> dict[str, Any] | None:
    """The error object inside parsed JSON ``data`` (see the module doc), with a ``message`` when it has one as
    text; None when ``data`` is no error at all."""
    if not isinstance(data, dict):
        return None
    error = data.get("error", data.get("detail", data))
    if isinstance(error, dict):
        return error if error is not data or "message" in data else None
    if isinstance(error, str):
        return {"message": error}
    if isinstance(error, list) and error:
        return {"message": json.dumps(error)}
    return None


def error_object(body: bytes, limit: int = TEXT_LIMIT) -> dict[str, Any]:
    """The error object of an answer's ``body``; when it holds none, its text (at most ``limit`` characters,
    stripped) as ``message``."""
    try:
        found = error_fields(json.loads(body or b"null"))
    except ValueError:
        found = None
    if found is not None:
        return found
    return {"message": body.decode("utf-8", "replace").strip()[:limit]}


def message_and_code(error: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(message, code)`` of an error object as text, None where it has none (or an empty one)."""
    message, code = error.get("message"), error.get("code")
    return (str(message) if message else None), (str(code) if code else None)
