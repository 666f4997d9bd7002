"""Talking to the engine on behalf of one client request, as ASGI responses that watch the client.

``EngineCall`` runs the upstream exchange in a task and, alongside, waits for ``http.disconnect``: when the
client goes away (closed tab, Stop button, Ctrl-C) the task is cancelled, which closes the upstream connection,
which makes the engine stop generating. Nothing is sent to the client until the engine has answered with
headers, and a stream starts only with the engine's first event (or a place in the queue), so failures before
that, an error the engine reports as its first stream event included, are proper HTTP errors (4xx/502/503/504);
failures after the stream has started end it with an error event: ``event: error`` on /chat, an OpenAI error
object and ``data: [DONE]`` on /v1. What engines say about errors passes through ``sanitise`` first: no file
paths, URLs or tracebacks leave the backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response as StarletteResponse
from starlette.types import Message, Receive, Scope, Send

from .api_errors import ApiError, send_error
from .http1 import UpstreamError
from .metrics import Metrics
from .sse import event
from .upstream import EnginePool, UpstreamEngine

if TYPE_CHECKING:
    from .http1 import Response

COMPLETIONS = "/v1/chat/completions"
Prepare = Callable[[dict[str, Any]], Awaitable[tuple[dict[str, Any], list[dict[str, Any]]]]]
"""Rewrites a /chat payload before it goes to the engine and names its sources (grounding)."""
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class EngineCall(StarletteResponse):
    """An ASGI response whose body comes from ``work(send)``; cancelled as soon as the client disconnects."""

    def __init__(self, work: Callable[[Send], Awaitable[None]]) -> None:
        # Deliberately not Response.__init__: status and headers are decided by ``work``.
        self.work = work
        self.background = None
        self.status_code = 200
        self.raw_headers = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The work runs in this task; a watcher task cancels it when the client disconnects (one extra task
        # per request, not two).
        current = asyncio.current_task()
        assert current is not None
        gone = False

        def client_gone(_: object) -> None:
            nonlocal gone
            gone = True
            current.cancel()

        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        watcher.add_done_callback(client_gone)
        try:
            await self.work(send)
        except asyncio.CancelledError:
            if not gone:
                raise
            current.uncancel()
        except OSError:
            pass  # the client left while we were writing to it
        finally:
            watcher.remove_done_callback(client_gone)
            watcher.cancel()


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


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


def _detail(body: bytes) -> dict[str, Any]:
    """The error object of an engine's answer: ``{"error": {...}}`` (OpenAI, vLLM, llama.cpp's HTTP errors), or the
    object itself when it has a ``message`` (llama.cpp's ``error:`` stream events); else the text as message."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        detail = data.get("error", data)
        if isinstance(detail, dict) and "message" in detail:
            return detail
        if isinstance(detail, str):
            return {"message": detail}
    return {"message": body[:2000].decode("utf-8", "replace")}


def _message(detail: dict[str, Any]) -> str:
    return sanitise(str(detail.get("message") or ""))


def engine_error(engine: UpstreamEngine, status: int, body: bytes) -> ApiError:
    """The API error for an engine's non-200 answer (its message sanitised and kept, the engine named): a 4xx
    stays a 4xx (400; 429 with Retry-After), except 401/403 (the engine refused the backend's own key) and 404
    (the backend asked the wrong thing), which are the backend's fault: 502, as 5xx answers; 503 stays 503."""
    where = f"{engine.label} answered {status}: {_message(_detail(body))}"
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
    detail = _detail(body)
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


def _stream_status(body: bytes) -> int:
    """The HTTP status an error event inside an engine's stream stands for: its ``code`` when that is one (llama.cpp
    says 400 for a prompt over the context), else 500."""
    code = _detail(body).get("code")
    return code if type(code) is int and 400 <= code < 600 else 500


def _is_error_event(data: bytes) -> bool:
    if b'"error"' not in data:
        return False
    try:
        obj = json.loads(data)
    except ValueError:
        return False
    return isinstance(obj, dict) and "error" in obj and "choices" not in obj


class EventLines:
    """Complete SSE lines of an engine's stream from arbitrary byte chunks: ``(b"data", payload)`` for ``data:``
    lines and ``(b"error", payload)`` for the ``error:`` lines llama.cpp uses for an error after its stream started;
    other lines (comments, ``event:``, ``id:``) are skipped."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[bytes, bytes]]:
        self._buffer += chunk
        if b"\n" not in chunk:
            return []
        *lines, self._buffer = self._buffer.split(b"\n")
        out = []
        for line in lines:
            field, colon, value = line.rstrip(b"\r").partition(b":")
            if colon and field in (b"data", b"error"):
                out.append((field, value.strip()))
        return out


def _usage_counts(usage: Any) -> tuple[int, int]:
    if not isinstance(usage, dict):
        return 0, 0
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (prompt if isinstance(prompt, int) else 0), (completion if isinstance(completion, int) else 0)


async def _send_json(send: Send, status: int, payload: Any) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def chat_stream_error(exc: ApiError) -> bytes:
    """The end of a /chat stream that failed: ``event: error`` with the API's error object."""
    return event(exc.payload(), "error")


def openai_stream_error(exc: ApiError) -> bytes:
    """The end of a /v1 stream that failed: an OpenAI error object as a ``data:`` event, then ``[DONE]``."""
    return event(openai_error(exc)) + b"data: [DONE]\n\n"


async def _send_failure(
    send: Send, exc: ApiError, started: bool, stream_error: Callable[[ApiError], bytes]
) -> None:
    """Answer with ``exc`` as an HTTP error, or, once a stream has started, end it with ``stream_error(exc)``."""
    if not started:
        await send_error(send, exc)
    else:
        await send({"type": "http.response.body", "body": stream_error(exc), "more_body": False})


@dataclass
class _Tally:
    """What one handled request reports to the metrics; handlers fill it in as they go."""

    start: float = field(default_factory=time.perf_counter)
    outcome: str = "error"
    prompt: int = 0
    completion: int = 0
    latency: float | None = None
    ttft: float | None = None
    started: bool = False
    """Whether the response has begun (an error then ends the stream instead of being an HTTP error)."""


class Proxy:
    """The engine-facing handlers of /chat and /v1/*, sharing one pool and one set of metrics."""

    def __init__(self, pool: EnginePool, metrics: Metrics) -> None:
        self.pool = pool
        self.metrics = metrics

    @contextlib.asynccontextmanager
    async def _metered(
        self, endpoint: str, send: Send, stream_error: Callable[[ApiError], bytes] = chat_stream_error
    ) -> AsyncIterator[_Tally]:
        """Count the request in the metrics; answer an ``ApiError`` raised inside (as an HTTP error, or once the
        stream has started as ``stream_error``) and record a cancellation as such."""
        tally = _Tally()
        self.metrics.begin(endpoint)
        try:
            yield tally
        except ApiError as exc:
            await _send_failure(send, exc, tally.started, stream_error)
        except asyncio.CancelledError:
            tally.outcome = "cancelled"
            raise
        finally:
            self.metrics.finish(
                endpoint, tally.outcome, tally.latency, tally.ttft, tally.prompt, tally.completion
            )

    async def _read_body(self, engine: UpstreamEngine, response: Response) -> bytes:
        """The whole body of the engine's answer; a failure while reading it as the matching API error."""
        try:
            return await response.aread()
        except UpstreamError as exc:
            raise await self.pool.explain(engine, exc) from exc

    # ---- /chat, JSON ------------------------------------------------------------------------------------
    def chat(self, payload: dict[str, Any], prepare: Prepare | None = None) -> EngineCall:
        """The engine call for a /chat ``payload``; ``prepare`` (grounding) may rewrite its messages first and
        names the sources the answer carries."""
        if payload.get("stream"):
            return EngineCall(lambda send: self._chat_stream(payload, prepare, send))
        return EngineCall(lambda send: self._chat_json(payload, prepare, send))

    async def _chat_json(self, payload: dict[str, Any], prepare: Prepare | None, send: Send) -> None:
        async with self._metered("/chat", send) as tally:
            payload, sources = await prepare(payload) if prepare is not None else (payload, [])
            content = json.dumps(payload, ensure_ascii=False).encode()
            async with self.pool.open("POST", COMPLETIONS, content) as (engine, response):
                body = await self._read_body(engine, response)
                if response.status_code != 200:
                    raise engine_error(engine, response.status_code, body)
                try:
                    data = json.loads(body)
                    text = data["choices"][0]["message"]["content"] or ""
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    raise ApiError(
                        502, f"{engine.label} sent an answer that is not a chat completion"
                    ) from exc
            tally.prompt, tally.completion = _usage_counts(data.get("usage"))
            tally.latency = time.perf_counter() - tally.start
            await _send_json(
                send,
                200,
                {
                    "response": text,
                    "model": str(data.get("model") or engine.model or ""),
                    "tokens_used": tally.prompt + tally.completion,
                    "prompt_tokens": tally.prompt,
                    "completion_tokens": tally.completion,
                    "latency_seconds": round(tally.latency, 6),
                    "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "sources": sources,
                },
            )
            tally.outcome = "ok"

    # ---- /chat, SSE ---------------------------------------------------------------------------------------
    async def _chat_stream(self, payload: dict[str, Any], prepare: Prepare | None, send: Send) -> None:
        async with self._metered("/chat", send) as tally:
            payload, sources = await prepare(payload) if prepare is not None else (payload, [])
            content = json.dumps(payload, ensure_ascii=False).encode()

            async def emit(body: bytes, more: bool = True) -> None:
                # The stream starts with its first event: an error before that is still an HTTP error.
                if not tally.started:
                    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
                    tally.started = True
                await send({"type": "http.response.body", "body": body, "more_body": more})

            async def queued(ahead: int) -> None:
                # Waiting for a slot: the stream starts now, so the page can say "waiting, N ahead".
                await emit(event({"queued": {"ahead": ahead}}))

            async with self.pool.open("POST", COMPLETIONS, content, queued=queued) as (engine, response):
                if response.status_code != 200:
                    body = await self._read_body(engine, response)
                    raise engine_error(engine, response.status_code, body)
                lines = EventLines()
                finished = False
                deltas = 0
                usage: Any = None
                model = engine.model or ""
                try:
                    async for chunk in response.aiter_raw():
                        for field, data in lines.feed(chunk):
                            if field == b"error":
                                raise engine_error(engine, _stream_status(data), data)
                            if data == b"[DONE]":
                                finished = True
                                continue
                            obj = json.loads(data)
                            if "error" in obj:
                                raise engine_error(engine, _stream_status(data), data)
                            model = obj.get("model") or model
                            if obj.get("usage"):
                                usage = obj["usage"]
                            for choice in obj.get("choices") or ():
                                text = (choice.get("delta") or {}).get("content")
                                if text:
                                    if tally.ttft is None:
                                        tally.ttft = time.perf_counter() - tally.start
                                    deltas += 1
                                    await emit(event({"delta": text}))
                                if choice.get("finish_reason"):
                                    finished = True
                except UpstreamError as exc:
                    raise await self.pool.explain(engine, exc) from exc
                except (ValueError, TypeError, AttributeError) as exc:
                    raise ApiError(502, f"{engine.label} sent a malformed stream event") from exc
                if not finished:
                    raise ApiError(502, f"{engine.label} ended the stream before the answer was complete")
            prompt, completion = _usage_counts(usage)
            completion = completion or deltas
            tally.prompt, tally.completion = prompt, completion
            tally.latency = time.perf_counter() - tally.start
            done = {
                "done": True,
                "model": str(model),
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
                "latency_seconds": round(tally.latency, 6),
                "ttft_seconds": None if tally.ttft is None else round(tally.ttft, 6),
                "sources": sources,
            }
            await emit(event(done), more=False)
            tally.outcome = "ok"

    # ---- /v1/* ---------------------------------------------------------------------------------------------
    def models(self) -> EngineCall:
        async def work(send: Send) -> None:
            async with self.pool.open("GET", "/v1/models", admit=False) as (engine, response):
                body = await self._read_body(engine, response)
            if response.status_code != 200:
                raise engine_refusal(engine, response.status_code, body)
            await _relay(send, response, body)

        return EngineCall(_errors_as_json(work))

    def completions(self, body: bytes, stream: bool) -> EngineCall:
        """``body`` (built by ``openai_request``) to the engine; its answer relayed."""
        if stream:
            return EngineCall(lambda send: self._completions_stream(body, send))
        return EngineCall(lambda send: self._completions_json(body, send))

    async def _completions_json(self, content: bytes, send: Send) -> None:
        async with self._metered(COMPLETIONS, send) as tally:
            async with self.pool.open("POST", COMPLETIONS, content) as (engine, response):
                body = await self._read_body(engine, response)
            if response.status_code != 200:
                raise engine_refusal(engine, response.status_code, body)
            # an answer that is not JSON is relayed as is, without counts
            tally.prompt, tally.completion = _usage_from(body, 0, 0)
            tally.latency = time.perf_counter() - tally.start
            await _relay(send, response, body)
            tally.outcome = "ok"

    async def _completions_stream(self, content: bytes, send: Send) -> None:
        async with self._metered(COMPLETIONS, send, openai_stream_error) as tally:
            content_type = SSE_HEADERS[0][1]

            async def emit(body: bytes) -> None:
                # The stream starts with its first event: an error before that is still an HTTP error.
                if not tally.started:
                    headers = [(b"content-type", content_type), *SSE_HEADERS[1:]]
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    tally.started = True
                if body:
                    await send({"type": "http.response.body", "body": body, "more_body": True})

            async def queued(ahead: int) -> None:
                # Waiting for a slot: an SSE comment, which OpenAI clients skip and `edubot chat` shows.
                await emit(b": queued " + json.dumps({"ahead": ahead}).encode() + b"\n\n")

            async with self.pool.open("POST", COMPLETIONS, content, queued=queued) as (engine, response):
                if response.status_code != 200:
                    body = await self._read_body(engine, response)
                    raise engine_refusal(engine, response.status_code, body)
                content_type = response.headers.get("content-type", "text/event-stream").encode()
                lines = EventLines()
                try:
                    async for chunk in response.aiter_raw():
                        out: list[bytes] = []
                        for field, data in lines.feed(chunk):
                            if field == b"error" or _is_error_event(data):
                                if out:
                                    await emit(b"".join(out))
                                raise engine_refusal(engine, _stream_status(data), data)
                            if tally.ttft is None and b'"content"' in data:
                                tally.ttft = _first_content(data, tally.start)
                            if b'"usage"' in data:
                                tally.prompt, tally.completion = _usage_from(
                                    data, tally.prompt, tally.completion
                                )
                            out.append(b"data: " + data + b"\n\n")
                        if out:
                            await emit(b"".join(out))
                except UpstreamError as exc:
                    raise await self.pool.explain(engine, exc) from exc
            await emit(b"")  # an engine that sent no event at all: an empty stream, as it did
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            tally.latency = time.perf_counter() - tally.start
            tally.outcome = "ok"


async def _relay(send: Send, response: Response, body: bytes) -> None:
    """An engine's 200 answer, unchanged."""
    content_type = response.headers.get("content-type", "application/json").encode()
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _first_content(data: bytes, start: float) -> float | None:
    try:
        choices = json.loads(data).get("choices") or ()
    except (ValueError, AttributeError):
        return None
    if any((c.get("delta") or {}).get("content") for c in choices if isinstance(c, dict)):
        return time.perf_counter() - start
    return None


def _usage_from(data: bytes, prompt: int, completion: int) -> tuple[int, int]:
    try:
        usage = json.loads(data).get("usage")
    except (ValueError, AttributeError):
        return prompt, completion
    return _usage_counts(usage) if usage else (prompt, completion)


def _errors_as_json(work: Callable[[Send], Awaitable[None]]) -> Callable[[Send], Awaitable[None]]:
    async def wrapped(send: Send) -> None:
        try:
            await work(send)
        except ApiError as exc:
            await send_error(send, exc)

    return wrapped


__all__ = ["EngineCall", "Message", "OpenAIError", "Proxy", "engine_error", "sanitise"]
