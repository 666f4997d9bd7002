"""Talking to the engine on behalf of one client request, as ASGI responses that watch the client.

``EngineCall`` runs the upstream exchange in a task and, alongside, waits for ``http.disconnect``: when the
client goes away (closed tab, Stop button, Ctrl-C) the task is cancelled, which closes the upstream connection,
which makes the engine stop generating. Nothing is sent to the client until the engine has answered with
headers, so failures before that are proper HTTP errors (502/503/504); failures after the stream has started
end it with an ``event: error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response as StarletteResponse

from .api_errors import ApiError
from .http1 import UpstreamError
from .metrics import Metrics
from .security import Message, Receive, Scope, Send, send_error
from .sse import LineSplitter, event
from .upstream import Engine, EnginePool

if TYPE_CHECKING:
    from .http1 import Response

COMPLETIONS = "/v1/chat/completions"
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


def engine_error(engine: Engine, status: int, body: bytes) -> ApiError:
    """The API error for an engine's non-200 answer (its own message kept, the engine named)."""
    try:
        detail = json.loads(body)["error"]
        message = detail["message"] if isinstance(detail, dict) else str(detail)
    except (ValueError, KeyError, TypeError):
        message = body[:200].decode("utf-8", "replace").strip() or "no details"
    where = f"{engine.label} answered {status}: {message}"
    if status == 503:
        return ApiError(503, where)
    if status == 429:
        return ApiError(429, where, headers={"Retry-After": "1"})
    if 400 <= status < 500 and status != 404:
        return ApiError(400, where)
    return ApiError(502, where)


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


async def _send_failure(send: Send, exc: ApiError, started: bool) -> None:
    """Answer with ``exc`` as an HTTP error, or, once a stream has started, end it with an error event."""
    if not started:
        await send_error(send, exc)
    else:
        await send({"type": "http.response.body", "body": event(exc.payload(), "error"), "more_body": False})


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
    async def _metered(self, endpoint: str, send: Send) -> AsyncIterator[_Tally]:
        """Count the request in the metrics; answer an ``ApiError`` raised inside (as an HTTP error, or as an
        error event once the stream has started) and record a cancellation as such."""
        tally = _Tally()
        self.metrics.begin(endpoint)
        try:
            yield tally
        except ApiError as exc:
            await _send_failure(send, exc, tally.started)
        except asyncio.CancelledError:
            tally.outcome = "cancelled"
            raise
        finally:
            self.metrics.finish(
                endpoint, tally.outcome, tally.latency, tally.ttft, tally.prompt, tally.completion
            )

    async def _read_body(self, engine: Engine, response: Response) -> bytes:
        """The whole body of the engine's answer; a failure while reading it as the matching API error."""
        try:
            return await response.aread()
        except UpstreamError as exc:
            raise await self.pool.explain(engine, exc) from exc

    # ---- /chat, JSON ------------------------------------------------------------------------------------
    def chat(self, payload: dict[str, Any]) -> EngineCall:
        content = json.dumps(payload, ensure_ascii=False).encode()
        if payload.get("stream"):
            return EngineCall(lambda send: self._chat_stream(content, send))
        return EngineCall(lambda send: self._chat_json(content, send))

    async def _chat_json(self, content: bytes, send: Send) -> None:
        async with self._metered("/chat", send) as tally:
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
                },
            )
            tally.outcome = "ok"

    # ---- /chat, SSE ---------------------------------------------------------------------------------------
    async def _chat_stream(self, content: bytes, send: Send) -> None:
        async with self._metered("/chat", send) as tally:

            async def queued(ahead: int) -> None:
                # Waiting for a slot: the stream starts now, so the page can say "waiting, N ahead".
                if not tally.started:
                    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
                    tally.started = True
                body = event({"queued": {"ahead": ahead}})
                await send({"type": "http.response.body", "body": body, "more_body": True})

            async with self.pool.open("POST", COMPLETIONS, content, queued=queued) as (engine, response):
                if response.status_code != 200:
                    body = await self._read_body(engine, response)
                    raise engine_error(engine, response.status_code, body)
                if not tally.started:
                    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
                    tally.started = True
                splitter = LineSplitter()
                finished = False
                deltas = 0
                usage: Any = None
                model = engine.model or ""
                try:
                    async for chunk in response.aiter_raw():
                        for data in splitter.feed(chunk):
                            if data == b"[DONE]":
                                finished = True
                                continue
                            obj = json.loads(data)
                            if "error" in obj:
                                raise engine_error(engine, 500, data)
                            model = obj.get("model") or model
                            if obj.get("usage"):
                                usage = obj["usage"]
                            for choice in obj.get("choices") or ():
                                text = (choice.get("delta") or {}).get("content")
                                if text:
                                    if tally.ttft is None:
                                        tally.ttft = time.perf_counter() - tally.start
                                    deltas += 1
                                    await send(
                                        {
                                            "type": "http.response.body",
                                            "body": event({"delta": text}),
                                            "more_body": True,
                                        }
                                    )
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
            }
            await send({"type": "http.response.body", "body": event(done), "more_body": False})
            tally.outcome = "ok"

    # ---- /v1/* pass-through -------------------------------------------------------------------------------
    def models(self) -> EngineCall:
        async def work(send: Send) -> None:
            async with self.pool.open("GET", "/v1/models", admit=False) as (engine, response):
                body = await self._read_body(engine, response)
                await self._relay(send, engine, response, body)

        return EngineCall(_errors_as_json(work))

    def completions(self, raw: bytes, stream: bool) -> EngineCall:
        if stream:
            return EngineCall(lambda send: self._passthrough_stream(raw, send))
        return EngineCall(lambda send: self._passthrough_json(raw, send))

    async def _relay(self, send: Send, engine: Engine, response: Response, body: bytes) -> bool:
        status = response.status_code
        if status >= 500:
            await send_error(send, engine_error(engine, status, body))
            return False
        content_type = response.headers.get("content-type", "application/json").encode()
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return status == 200

    async def _passthrough_json(self, raw: bytes, send: Send) -> None:
        async with self._metered(COMPLETIONS, send) as tally:
            async with self.pool.open("POST", COMPLETIONS, raw) as (engine, response):
                body = await self._read_body(engine, response)
            if response.status_code == 200:
                # not JSON: relayed as is, without counts
                tally.prompt, tally.completion = _usage_from(body, 0, 0)
            tally.latency = time.perf_counter() - tally.start
            if await self._relay(send, engine, response, body):
                tally.outcome = "ok"

    async def _passthrough_stream(self, raw: bytes, send: Send) -> None:
        async with self._metered(COMPLETIONS, send) as tally:

            async def queued(ahead: int) -> None:
                # Waiting for a slot: an SSE comment, which OpenAI clients skip and `edubot chat` shows.
                if not tally.started:
                    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
                    tally.started = True
                body = b": queued " + json.dumps({"ahead": ahead}).encode() + b"\n\n"
                await send({"type": "http.response.body", "body": body, "more_body": True})

            async with self.pool.open("POST", COMPLETIONS, raw, queued=queued) as (engine, response):
                if response.status_code != 200:
                    body = await self._read_body(engine, response)
                    if tally.started:
                        raise engine_error(engine, response.status_code, body)
                    await self._relay(send, engine, response, body)
                    return
                if not tally.started:
                    content_type = response.headers.get("content-type", "text/event-stream").encode()
                    headers = [(b"content-type", content_type), *SSE_HEADERS[1:]]
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    tally.started = True
                splitter = LineSplitter()
                try:
                    async for chunk in response.aiter_raw():
                        for data in splitter.feed(chunk):
                            if tally.ttft is None and b'"content"' in data:
                                tally.ttft = _first_content(data, tally.start)
                            if b'"usage"' in data:
                                tally.prompt, tally.completion = _usage_from(
                                    data, tally.prompt, tally.completion
                                )
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except UpstreamError as exc:
                    raise await self.pool.explain(engine, exc) from exc
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            tally.latency = time.perf_counter() - tally.start
            tally.outcome = "ok"


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


__all__ = ["EngineCall", "Message", "Proxy"]
