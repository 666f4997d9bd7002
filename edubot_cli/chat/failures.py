"""What a server's refusal or a failed stream means for the chat: the ``ChatError`` to show, with a hint, and
``ContextOverflowError`` for a conversation that no longer fits the model's context."""

from __future__ import annotations

import re

import httpx

from ..errorbody import error_object, message_and_code
from ..errors import ChatError

_OVERFLOW = re.compile(
    r"context (length|window)|maximum context|too many tokens|exceeds? the (available )?context", re.I
)
# 503s that are worth waiting out rather than investigating: the backend's queue is full, or the engine restarts
_TRANSIENT_503 = re.compile(r"\b(is busy|is restarting)\b", re.I)
_ENGINE_HINT = "check that the engine behind the backend is running (`edubot serve` logs)"


class StreamFailure(ChatError):
    """A stream that failed after it started (an error event, a malformed event, no answer at all); in the chat,
    ``/retry`` asks again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="/retry")


class ContextOverflowError(ChatError):
    """The engine refused the request because the conversation does not fit its context window."""


def is_overflow(message: str | None, code: str | None) -> bool:
    """Whether an error (its message and code) says the conversation does not fit the context window."""
    return code == "context_length_exceeded" or _OVERFLOW.search(message or "") is not None


def status_error(status: int, body: bytes, headers: httpx.Headers, url: str) -> ChatError:
    """The error to show for ``url``'s non-200 answer ``status`` (with its body and headers)."""
    message, code = message_and_code(error_object(body, limit=200))  # a text body (HTML) is cut short
    if status == 401 or status == 403:
        return ChatError(
            f"{url} refused the request ({status}): {message or 'unauthorised'}",
            hint="pass the server's key with --api-key (or set EDUBOT_API_KEY)",
        )
    if status == 429:
        return ChatError(
            f"{url} is rate limiting this client (429): {message or 'too many requests'}",
            hint=_retry_hint(headers) or "wait a little and try again",
        )
    if status == 404:
        return ChatError(
            f"{url} was not found (404){': ' + message if message else ''}",
            hint="check the URL (the OpenAI API lives under /v1) and the model name (/model)",
        )
    if 400 <= status < 500 and is_overflow(message, code):
        return ContextOverflowError(f"the conversation no longer fits the model's context: {message}")
    if status in (502, 503, 504):
        # 503 busy (the queue is full) or restarting: waiting is the fix, not looking for a dead engine
        transient = status == 503 and _TRANSIENT_503.search(message or "") is not None
        retry = _retry_hint(headers) if status == 503 else None
        if transient:
            hint = retry or "wait a few seconds and try again"
        else:
            hint = f"{retry}; if it keeps failing, {_ENGINE_HINT}" if retry else _ENGINE_HINT
        return ChatError(f"{url} answered {status}: {message or 'the engine is unavailable'}", hint=hint)
    return ChatError(f"{url} answered {status}: {message or 'no details'}", hint="check the server's log")


def _retry_hint(headers: httpx.Headers) -> str | None:
    """``wait N s and try again`` from a ``Retry-After`` in seconds; ``None`` when absent or a date."""
    wait = headers.get("retry-after", "").strip()
    if not (wait.isascii() and wait.isdigit()):
        return None
    return f"wait {int(wait)} s and try again"
