"""One streamed chat answer: ``ChatStream`` (OpenAI ``/v1/chat/completions``) and ``BackendChatStream`` (the
backend's ``/chat``), iterated by the caller.

Streams are iterated in the caller's thread; closing one (``ChatStream.close``, leaving its ``with`` block, or a
``KeyboardInterrupt`` while reading) closes the HTTP connection, which is how the backend and the engines learn
that the answer is no longer wanted and stop generating.

While a request waits in the backend's admission queue the stream has already started and carries SSE comments
``: queued {"ahead": N}`` (``/v1``) or ``data: {"queued": {"ahead": N}}`` events (``/chat``) (N = requests ahead in line, sent again whenever it changes); they are reported to the
stream's ``on_queued`` callback. Other comments, and malformed ``queued`` ones, are skipped as OpenAI clients do.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Protocol

import httpx

from ..errorbody import error_fields, message_and_code
from ..errors import ChatError
from ..grounding.sources import Source, sources_from_json
from .failures import ContextOverflowError, StreamFailure, is_overflow, status_error
from .session import AnswerStats


class StreamClient(Protocol):
    """What a stream needs from the client that opens it (``chat.client.ChatClient`` is one): where to ask, the
    HTTP connection pool, and how to word a failed connection."""

    @property
    def api_base(self) -> str:
        """The OpenAI API root, ``.../v1``."""

    @property
    def base_url(self) -> str:
        """The server's root (where the backend's ``/chat`` is)."""

    @property
    def http(self) -> httpx.Client: ...

    def transport_error(self, exc: httpx.HTTPError, url: str) -> ChatError:
        """The error to raise for ``exc`` on ``url``."""


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


class ChatStream:
    """One streamed answer. ``with client.stream_chat(...) as stream: for delta in stream: ...``; afterwards
    ``stats`` holds the figures, ``text`` the whole answer, ``stopped`` whether it was cut short by ``close`` and
    ``finish_reason`` why the engine ended it."""

    def __init__(
        self,
        client: StreamClient,
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
        self.faithfulness: str | None = None  # the backend's check of a grounded answer (/chat's done event)
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
        self._cm = self._client.http.stream("POST", self.url, json=self.payload)
        try:
            response = self._cm.__enter__()
        except httpx.HTTPError as exc:
            raise self._client.transport_error(exc, self.url) from exc
        self._response = response
        if response.status_code != 200:
            try:
                body = response.read()
            except httpx.HTTPError:
                body = b""
            self.close()
            raise status_error(response.status_code, body, response.headers, self.url)
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
                    raise StreamFailure(f"{self.url} closed the stream without an answer")
        except httpx.HTTPError as exc:
            if self._closing.is_set():
                return
            raise self._client.transport_error(exc, self.url) from exc
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
            raise StreamFailure(f"{self.url} sent a malformed stream event: {data[:80]!r}") from exc
        if not isinstance(event, dict):
            return None
        if "error" in event:
            message, code = message_and_code(error_fields(event) or {})
            if is_overflow(message, code):
                raise ContextOverflowError(f"the conversation no longer fits the model's context: {message}")
            when = "mid-answer" if self.text else "before the answer began"
            raise StreamFailure(f"{self.url} failed {when}: {message or 'unknown error'}")
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
                response = self._client.http.post(self.url, json=payload)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                # the server may have dropped the pooled connection the failed stream used: once more, afresh
                response = self._client.http.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            raise self._client.transport_error(exc, self.url) from exc
        if response.status_code != 200:
            raise status_error(response.status_code, response.content, response.headers, self.url)

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
    {"ahead": N}}`` while it waits for a slot, then ``data: {"done": true, "usage", "sources", "sampling", ...}``;
    a failure after the stream began is ``event: error`` + ``data: {"error": {...}}``. Events it does not know
    (``started``, ``stage``, and any a newer backend adds) are skipped. ``sampling`` holds the temperature and
    max_tokens the backend used (its own, unless it lets clients choose: ``client_sampling``)."""

    sampling: dict[str, Any] | None = None

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
            faithfulness = event.get("faithfulness")
            self.faithfulness = faithfulness if isinstance(faithfulness, str) else None
            sampling = event.get("sampling")
            self.sampling = sampling if isinstance(sampling, dict) else None
            completion = (self._usage or {}).get("completion_tokens")
            # the limit the backend used: its own max_tokens unless it lets clients choose (older backends say
            # nothing and honour the request's)
            limit = (self.sampling or {}).get("max_tokens", self.payload.get("max_tokens"))
            # /chat does not relay the engine's finish_reason: an answer as long as max_tokens was cut by it
            cut = type(completion) is int and type(limit) is int and completion >= limit
            self.finish_reason = "length" if cut else "stop"
            return _DONE
        return None

    def _diagnose_empty_stream(self) -> None:
        """The backend reports failures itself (an HTTP error, or an ``event: error``): nothing to diagnose."""
