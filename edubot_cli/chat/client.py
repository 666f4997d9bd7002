"""A small streaming chat client: the edubot backend's own ``POST /chat`` (grounded answers with their sources) or
an OpenAI-compatible ``/v1/chat/completions`` (the backend's, an engine's).

``ChatClient.stream_answer`` picks the route: through the backend (``via_backend``) it asks ``/chat``, whose
answers are grounded in the taxonomy and end with their ``sources``; it falls back to the backend's ungrounded
``/v1/chat/completions`` (saying why in ``ChatStream.note``) when ``/chat`` cannot take the request as asked: a
custom system prompt the server does not allow, another model than the backend's, a message over ``/chat``'s
limits, or a backend without ``/chat``. Engines (``--engine-url``, ``--local``) are always asked through ``/v1``.

The streams themselves (reading, stopping, the queue notices) are in ``chat.stream``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ..errors import ChatError
from ..openai_http import http_client, model_ids
from ..urls import openai_base, server_root
from .failures import status_error
from .session import Conversation
from .stream import BackendChatStream, ChatStream

CONNECT_TIMEOUT = 5.0


class ChatClient:
    """Talks to ``{url}/v1``: the edubot backend (``via_backend=True``) or any OpenAI-compatible engine."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        via_backend: bool = True,
        timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_base = openai_base(self.url)
        self.via_backend = via_backend
        self.timeout = timeout
        # the model the backend's /chat answers with (set by `edubot chat`); None: whichever model is asked for
        self.grounded_model: str | None = None
        self._backend_chat: dict[str, Any] | None = None
        self._backend_checked = False
        # the streams this client opens use it too
        self.http = http_client(api_key, httpx.Timeout(timeout, connect=CONNECT_TIMEOUT), transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_models(self) -> list[str]:
        """The model ids ``GET /v1/models`` announces; also proves something answers at the URL."""
        url = f"{self.api_base}/models"
        try:
            response = self.http.get(url)
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, url) from exc
        if response.status_code != 200:
            raise status_error(response.status_code, response.content, response.headers, url)
        try:
            return model_ids(response.json())
        except ValueError as exc:
            raise ChatError(
                f"{url} did not answer like an OpenAI-compatible server",
                hint="point --url at the edubot backend or --engine-url at an OpenAI-compatible engine",
            ) from exc

    def backend_chat(self) -> dict[str, Any] | None:
        """The ``chat`` section of the backend's ``GET /`` (``system_prompt_override``, ``max_message_chars``,
        ``max_history``...), asked once; ``None`` when not via the backend or it does not describe ``/chat``."""
        if not self.via_backend:
            return None
        if not self._backend_checked:
            self._backend_checked = True
            try:
                response = self.http.get(f"{self.base_url}/", headers={"Accept": "application/json"})
                data = response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                data = None
            chat = data.get("chat") if isinstance(data, dict) else None
            self._backend_chat = chat if isinstance(chat, dict) else None
        return self._backend_chat

    @property
    def base_url(self) -> str:
        """The server's root (``url`` without a trailing ``/v1``)."""
        return server_root(self.url)

    def stream_answer(
        self,
        conversation: Conversation,
        default_system: str | None,
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        on_queued: Callable[[int], None] | None = None,
    ) -> ChatStream:
        """Start streaming the answer to ``conversation``'s unanswered last question: through the backend's
        ``/chat`` (grounded, with sources) when it can take it, else through ``/v1/chat/completions`` (see the
        module's doc); ``stream.note`` says why an answer through the backend is not grounded."""
        note = None
        chat = self.backend_chat()
        if chat is not None:
            note = _why_not_chat(chat, conversation, model, self.grounded_model)
            if note is None:
                return self._stream_backend_chat(
                    conversation, chat, temperature=temperature, max_tokens=max_tokens, on_queued=on_queued
                )
        stream = self.stream_chat(
            conversation.api_messages(default_system),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            on_queued=on_queued,
        )
        stream.note = note
        return stream

    def _stream_backend_chat(
        self,
        conversation: Conversation,
        chat: dict[str, Any],
        *,
        temperature: float | None,
        max_tokens: int | None,
        on_queued: Callable[[int], None] | None,
    ) -> ChatStream:
        turns = conversation.messages
        # as the web page does: /chat takes at most `max_history` earlier turns of at most `max_message_chars`
        # characters each; the oldest go, and longer ones are cut (the question itself is never cut, see below)
        limit, chars = chat.get("max_history", 50), chat.get("max_message_chars", 8000)
        earlier = [m for m in turns[:-1] if m.content]
        if type(limit) is int:
            earlier = (
                earlier[len(earlier) - limit :] if 0 < limit < len(earlier) else earlier[: max(limit, 0)]
            )
        history = [
            {"role": m.role, "content": m.content[:chars] if type(chars) is int else m.content}
            for m in earlier
        ]
        payload: dict[str, Any] = {
            "message": turns[-1].content,
            "conversation_history": history,
            "stream": True,
        }
        if conversation.system is not None:
            payload["system_prompt"] = conversation.system
        if temperature is not None:
            payload["temperature"] = temperature
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        return BackendChatStream(self, payload, on_queued=on_queued)

    def stream_chat(
        self,
        messages: list[dict[str, str]],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        on_queued: Callable[[int], None] | None = None,
    ) -> ChatStream:
        """Start a streamed chat completion; use the result as a context manager and iterate its text deltas.
        ``on_queued(ahead)`` is called (in the iterating thread) each time the backend says the request is waiting
        for a free engine slot, with the number of requests ahead of it."""
        payload: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if temperature is not None:
            payload["temperature"] = temperature
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        return ChatStream(self, payload, on_queued=on_queued)

    # --- errors ---

    def _start_hint(self) -> str:
        if self.via_backend:
            return "start the backend with `edubot serve` (or chat with the embedded model: `edubot chat --local`)"
        return "check --engine-url, start the backend with `edubot serve`, or use `edubot chat --local`"

    def transport_error(self, exc: httpx.HTTPError, url: str) -> ChatError:
        """The ``ChatError`` for a request to ``url`` that failed below HTTP (refused, timed out, cut off)."""
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return ChatError(f"nothing answers at {self.url}", hint=self._start_hint())
        if isinstance(exc, httpx.TimeoutException):
            return ChatError(
                f"no answer from {url} within {self.timeout:g} s",
                hint="the engine may be overloaded; try again or lower /max",
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return ChatError(f"the connection to {url} broke off", hint="check the server's log, then /retry")
        return ChatError(f"cannot talk to {url}: {exc}", hint=self._start_hint())


def _why_not_chat(
    chat: dict[str, Any], conversation: Conversation, model: str, grounded_model: str | None
) -> str | None:
    """Why the backend's ``/chat`` cannot take this request as asked (the answer comes from ``/v1``, ungrounded),
    or ``None`` when it can."""
    if not conversation.messages or conversation.messages[-1].role != "user":
        return "no question to ask /chat"
    if conversation.system is not None and chat.get("system_prompt_override") is not True:
        return (
            "answers are not grounded: the server does not allow a custom system prompt on /chat "
            "(/system --default goes back to grounded answers)"
        )
    if grounded_model is not None and model != grounded_model:
        return f"answers are not grounded: /chat answers with {grounded_model} (/model {grounded_model})"
    limit = chat.get("max_message_chars", 8000)
    if type(limit) is int and len(conversation.messages[-1].content) > limit:
        return f"this answer is not grounded: /chat takes questions of at most {limit} characters"
    if not conversation.messages[-1].content.strip():
        return "this answer is not grounded: /chat needs a question"
    return None
