"""A small streaming chat client: the edubot backend's own ``POST /chat`` (grounded answers with their sources) or
an OpenAI-compatible ``/v1/chat/completions`` (the backend's, an engine's).

``ChatClient.stream_answer`` picks the route: through the backend (``via_backend``) it asks ``/chat``, whose
answers are grounded in the taxonomy and end with their ``sources``; it falls back to the backend's ungrounded
``/v1/chat/completions`` (saying why in ``ChatStream.note``) when ``/chat`` cannot take the request as asked: a
custom system prompt the server does not allow, another model than the backend's, a message over ``/chat``'s
limits, or a backend without ``/chat``. Engines (``--engine-url``, ``--local``) are always asked through ``/v1``.

Streams are iterated in the caller's thread; closing one (``ChatStream.close``, leaving its ``with`` block, or a
``KeyboardInterrupt`` while reading) closes the HTTP connection, which is how the backend and the engines learn
that the answer is no longer wanted and stop generating.

While a request waits in the backend's admission queue the stream has already started and carries SSE comments
``: queued {"ahead": N}`` (``/v1``) or ``data: {"queued": {"ahead": N}}`` events (``/chat``) (N = requests ahead in line, sent again whenever it changes); they are reported to the
stream's ``on_queued`` callback. Other comments, and malformed ``queued`` ones, are skipped as OpenAI clients do.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import httpx

from ..errors import ChatError
from .session import AnswerStats, Conversation, Source, sources_from_json

CONNECT_TIMEOUT = 5.0
_OVERFLOW = re.compile(
    r"context (length|window)|maximum context|too many tokens|exceeds? the (available )?context", re.I
)
# 503s that are worth waiting out rather than investigating: the backend's queue is full, or the engine restarts
_TRANSIENT_503 = re.compile(r"\b(is busy|is restarting)\b", re.I)
_ENGINE_HINT = "check that the engine behind the backend is running (`edubot serve` logs)"


class ContextOverflowError(ChatError):
    """The engine refused the request because the conversation does not fit its context window."""


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
        self.api_base = self.url if self.url.endswith("/v1") else f"{self.url}/v1"
        self.via_backend = via_backend
        self.timeout = timeout
        # the model the backend's /chat answers with (set by `edubot chat`); None: whichever model is asked for
        self.grounded_model: str | None = None
        self._backend_chat: dict[str, Any] | None = None
        self._backend_checked = False
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            transport=transport,
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_models(self) -> list[str]:
        """The model ids ``GET /v1/models`` announces; also proves something answers at the URL."""
        url = f"{self.api_base}/models"
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, url) from exc
        if response.status_code != 200:
            raise self._status_error(response.status_code, response.content, response.headers, url)
        try:
            data = response.json()
            return [str(item["id"]) for item in data.get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
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
                response = self._http.get(f"{self.base_url}/", headers={"Accept": "application/json"})
                data = response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                data = None
            chat = data.get("chat") if isinstance(data, dict) else None
            self._backend_chat = chat if isinstance(chat, dict) else None
        return self._backend_chat

    @property
    def base_url(self) -> str:
        """The server's root (``url`` without a trailing ``/v1``)."""
        return self.url[: -len("/v1")] if self.url.endswith("/v1") else self.url

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

    def _transport_error(self, exc: httpx.HTTPError, url: str) -> ChatError:
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

    def _status_error(self, status: int, body: bytes, headers: httpx.Headers, url: str) -> ChatError:
        message, code = _error_details(body)
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
        if 400 <= status < 500 and (code == "context_length_exceeded" or _OVERFLOW.search(message or "")):
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


class ChatStream:
    """One streamed answer. ``with client.stream_chat(...) as stream: for delta in stream: ...``; afterwards
    ``stats`` holds the figures, ``text`` the whole answer, ``stopped`` whether it was cut short by ``close`` and
    ``finish_reason`` why the engine ended it."""

    def __init__(
        self,
        client: ChatClient,
        payload: dict[str, Any],
        *,
        on_queued: Callable[[int], None] | None = None,
    ) -> None:
        self._client = client
        self.payload = payload
        self.on_queued = on_queued  # called with the places ahead while the backend queues this request
        self.queued: int | None = None  # the last place in line the backend reported (None: never queued)
        self.url = self._url()
        self.text = ""
        self.sources: list[Source] = []  # a grounded answer's sources (only /chat has them)
        self.note: str | None = None  # why an answer through the backend is not grounded
        self.stopped = False
        self.finished = False
        self.finish_reason: str | None = None  # "stop", or "length" when max_tokens cut the answer
        self._response: httpx.Response | None = None
        self._cm: Any = None
        self._closing = threading.Event()
        self._chunks = 0
        self._events = 0
        self._usage: dict[str, Any] | None = None
        self._started = 0.0
        self._first: float | None = None
        self._ended: float | None = None

    def _url(self) -> str:
        return f"{self._client.api_base}/chat/completions"

    def __enter__(self) -> ChatStream:
        self._started = time.perf_counter()
        self._cm = self._client._http.stream("POST", self.url, json=self.payload)
        try:
            response = self._cm.__enter__()
        except httpx.HTTPError as exc:
            raise self._client._transport_error(exc, self.url) from exc
        self._response = response
        if response.status_code != 200:
            try:
                body = response.read()
            except httpx.HTTPError:
                body = b""
            self.close()
            raise self._client._status_error(response.status_code, body, response.headers, self.url)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.finished:
            self.stopped = True
        self.close()

    def close(self) -> None:
        """Stop reading and close the connection (the server sees the disconnect and stops generating).
        Safe to call from another thread while the stream is being read."""
        self._closing.set()
        if self._ended is None:
            self._ended = time.perf_counter()
        if self._cm is not None:
            cm, self._cm = self._cm, None
            cm.__exit__(None, None, None)

    def __iter__(self) -> Iterator[str]:
        if self._response is None:
            raise RuntimeError("use the stream in a `with` block")
        try:
            for line in self._response.iter_lines():
                if self._closing.is_set():
                    break
                delta = self._parse_line(line)
                if delta is None:
                    continue
                if delta is _DONE:
                    break
                self._chunks += 1
                if self._first is None:
                    self._first = time.perf_counter()
                self.text += delta
                yield delta
            else:
                # the server closed the stream without [DONE]: an answer so far counts as complete
                if not self._closing.is_set() and self._usage is None and not self.text:
                    if not self._events:
                        self._diagnose_empty_stream()
                    raise ChatError(f"{self.url} closed the stream without an answer", hint="/retry")
        except httpx.HTTPError as exc:
            if self._closing.is_set():
                return
            raise self._client._transport_error(exc, self.url) from exc
        if not self._closing.is_set():
            self.finished = True
            self._ended = time.perf_counter()

    def _parse_line(self, line: str) -> Any:
        if line.startswith(":"):
            ahead = parse_queued(line)
            if ahead is not None:
                self.queued = ahead
                if self.on_queued is not None:
                    self.on_queued(ahead)
            return None
        if not line.startswith("data:"):
            return None  # blank separators, ids, "event:" lines
        self._events += 1
        data = line[5:].strip()
        if data == "[DONE]":
            return _DONE
        try:
            event = json.loads(data)
        except ValueError as exc:
            raise ChatError(
                f"{self.url} sent a malformed stream event: {data[:80]!r}", hint="/retry"
            ) from exc
        if not isinstance(event, dict):
            return None
        if "error" in event:
            message, code = _error_details(json.dumps(event).encode())
            if code == "context_length_exceeded" or _OVERFLOW.search(message or ""):
                raise ContextOverflowError(f"the conversation no longer fits the model's context: {message}")
            when = "mid-answer" if self.text else "before the answer began"
            raise ChatError(f"{self.url} failed {when}: {message or 'unknown error'}", hint="/retry")
        if isinstance(event.get("usage"), dict):
            self._usage = event["usage"]
        choices = event.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            return None
        if choices[0].get("finish_reason"):
            self.finish_reason = str(choices[0]["finish_reason"])
        content = (choices[0].get("delta") or {}).get("content")
        return content if isinstance(content, str) and content else None

    def _diagnose_empty_stream(self) -> None:
        """An empty 200 stream is how llama.cpp's server reports a failure found after it started streaming
        (a prompt longer than its context, for one); the same request unstreamed, for one token, returns the
        error itself. Raises it (``ContextOverflowError`` included); returns if that request succeeds."""
        payload = {**self.payload, "stream": False, "max_tokens": 1}
        payload.pop("stream_options", None)
        self.close()
        try:
            try:
                response = self._client._http.post(self.url, json=payload)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                # the server may have dropped the pooled connection the failed stream used: once more, afresh
                response = self._client._http.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            raise self._client._transport_error(exc, self.url) from exc
        if response.status_code != 200:
            raise self._client._status_error(
                response.status_code, response.content, response.headers, self.url
            )

    @property
    def stats(self) -> AnswerStats:
        """Tokens (the server's usage count, else the number of streamed chunks), decode speed, TTFT, latency."""
        end = self._ended if self._ended is not None else time.perf_counter()
        tokens: int | None = self._chunks
        if self._usage and isinstance(self._usage.get("completion_tokens"), int):
            tokens = self._usage["completion_tokens"]
        ttft = None if self._first is None else self._first - self._started
        latency = end - self._started
        speed = None
        if tokens and ttft is not None and latency - ttft > 0:
            speed = tokens / (latency - ttft)
        return AnswerStats(
            completion_tokens=tokens,
            tokens_per_second=None if speed is None else round(speed, 2),
            ttft_seconds=None if ttft is None else round(ttft, 4),
            latency_seconds=round(latency, 4),
        )


class BackendChatStream(ChatStream):
    """One answer streamed by the backend's own ``POST /chat``: ``data: {"delta"}`` events, ``data: {"queued":
    {"ahead": N}}`` while it waits for a slot, then ``data: {"done": true, "usage", "sources", ...}``; a failure
    after the stream began is ``event: error`` + ``data: {"error": {...}}``."""

    def _url(self) -> str:
        return f"{self._client.base_url}/chat"

    def _parse_line(self, line: str) -> Any:
        if not line.startswith("data:"):
            return super()._parse_line(line)  # comments (a queued one too), blank lines, "event:" lines
        try:
            event = json.loads(line[5:].strip())
        except ValueError:
            event = None
        if not isinstance(event, dict) or "error" in event:
            return super()._parse_line(line)  # malformed events and errors are reported as on /v1
        self._events += 1
        if isinstance(event.get("delta"), str):
            return event["delta"] or None
        queued = event.get("queued")
        if isinstance(queued, dict):
            ahead = queued.get("ahead")
            if type(ahead) is int and ahead >= 0:
                self.queued = ahead
                if self.on_queued is not None:
                    self.on_queued(ahead)
            return None
        if event.get("done") is True:
            if isinstance(event.get("usage"), dict):
                self._usage = event["usage"]
            self.sources = sources_from_json(event.get("sources")) or []
            completion = (self._usage or {}).get("completion_tokens")
            limit = self.payload.get("max_tokens")
            # /chat does not relay the engine's finish_reason: an answer as long as max_tokens was cut by it
            cut = type(completion) is int and type(limit) is int and completion >= limit
            self.finish_reason = "length" if cut else "stop"
            return _DONE
        return None

    def _diagnose_empty_stream(self) -> None:
        """The backend reports failures itself (an HTTP error, or an ``event: error``): nothing to diagnose."""


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


_DONE = object()


def parse_queued(line: str) -> int | None:
    """The place in line from the backend's SSE comment ``: queued {"ahead": N}`` (N >= 0); ``None`` for any
    other line, a malformed ``queued`` comment included."""
    if not line.startswith(":"):
        return None
    name, _, rest = line[1:].strip().partition(" ")
    if name != "queued":
        return None
    try:
        data = json.loads(rest)
    except ValueError:
        return None
    ahead = data.get("ahead") if isinstance(data, dict) else None
    if type(ahead) is not int or ahead < 0:  # bool is an int subclass: rejected too
        return None
    return ahead


def _retry_hint(headers: httpx.Headers) -> str | None:
    """``wait N s and try again`` from a ``Retry-After`` in seconds; ``None`` when absent or a date."""
    wait = headers.get("retry-after", "").strip()
    if not (wait.isascii() and wait.isdigit()):
        return None
    return f"wait {int(wait)} s and try again"


def _error_details(body: bytes) -> tuple[str | None, str | None]:
    """``(message, code)`` from an error body: OpenAI/edubot ``{"error": {...}}``, FastAPI ``{"detail": ...}``."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:200] or None), None
    if isinstance(data, dict):
        error = data.get("error", data.get("detail"))
        if isinstance(error, dict):
            message = error.get("message")
            code = error.get("code")
            return (str(message) if message else None), (str(code) if code else None)
        if isinstance(error, str):
            return error, None
        if isinstance(error, list) and error:
            return json.dumps(error)[:200], None
    return None, None
