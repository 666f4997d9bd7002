"""Talking to the engine on behalf of one client request, as ``EngineCall`` responses (which stop the engine's
work when the client goes away).

A /chat stream starts (headers, then ``data: {"started": {"id": ...}}``) as soon as the request waits for a slot or
has been written to an engine, so that no client waits in silence while the engine reads a long prompt; one that
waited (``data: {"queued": ...}``) says when it is written to the engine after all (``data: {"stage": "writing"}``),
so a page can tell "waiting" from "writing". A /v1 stream, whose clients expect OpenAI's behaviour, starts with
the engine's first event (or a place in the queue).
Failures before a stream starts (no engine reachable, the line full, a restart, a /v1 prompt over the context) are
proper HTTP errors (4xx/502/503/504); failures after it end it with an error event: ``event: error`` on /chat,
an OpenAI error object and ``data: [DONE]`` on /v1. What engines say about errors passes through
``engine_errors`` first. Every engine request carries the client request's id (``request_ids``), and the engine's
completion id is noted beside it for the log line.

A /chat answer that is kept in the classroom's record comes with an ``AnswerHook``: its conversation id goes in
the ``started`` event and the JSON answer, and when the answer ends, however it ends, the hook gets one ``Ending``
(the text the client was shown, the finish reason, the figures). That happens in one place, ``Proxy._metered``,
which sees every way out: done, an error, the client leaving, the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from starlette.types import Send

from ..api_errors import ApiError, send_error
from ..metrics import Metrics
from ..paths import CHAT, COMPLETIONS, MODELS_V1
from ..request_ids import Trace, completion_id
from ..stopping import STOPPING_CODE, Stopping
from .engine_call import EngineCall, StreamError, Work
from .engine_errors import (
    chat_stream_error,
    engine_error,
    engine_refusal,
    is_error_event,
    openai_stream_error,
    stream_status,
)
from .http1 import UpstreamError
from .sse import EventLines, event
from .upstream import RESTARTING, EnginePool, UpstreamEngine

if TYPE_CHECKING:
    from .http1 import Response

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]

STOP, LENGTH = "stop", "length"
CLIENT_LEFT, ENGINE_RESTART, STOPPED, ERROR = "client_left", "engine_restart", "stopping", "error"
"""How an answer ended (``Ending.finish_reason``): complete (``stop``), cut by max_tokens (``length``), or cut short
by the client leaving, an engine restart, the server's stop, or another error."""


@dataclass(frozen=True)
class Ending:
    """How a /chat answer ended, for its ``AnswerHook``: the text the client was shown (all of it, or what came
    before the cut), why it ended, and its figures (``ttft`` and ``latency`` in seconds, None when not reached)."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    ttft: float | None
    latency: float | None


@dataclass(frozen=True)
class AnswerHook:
    """A /chat answer that is recorded: its ``conversation_id`` (said in the ``started`` event and the JSON answer)
    and ``ended``, called once with its ``Ending`` (in the event loop: it must return at once)."""

    conversation_id: str
    ended: Callable[[Ending], None]


class Gate(Protocol):
    """What a /chat answer passes through on its way to the client: ``grounding.gate.Gate``, or the server's
    moderated gate wrapping it (``api.moderated``)."""

    @property
    def faithfulness(self) -> str: ...
    @property
    def truncated(self) -> bool: ...
    @property
    def stopped(self) -> bool: ...
    def feed(self, delta: str) -> str: ...
    def finish(self, finish_reason: str | None = None) -> str: ...
    def run(self, text: str, finish_reason: str | None = None) -> str: ...


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
    shown: list[str] = field(default_factory=list)
    """The answer's text as sent to the client, piece by piece."""
    finish: str = STOP
    """``stop`` or ``length``, once the answer is complete."""


async def _begin_stream(
    send: Send, tally: _Tally, trace: Trace, then: bytes = b"", hook: AnswerHook | None = None
) -> None:
    """Start a /chat stream, once: its headers and the ``started`` event with the request's id (and a recorded
    answer's conversation id), sent as soon as the request waits for a slot or is in an engine, so a client never
    waits in silence for the first token. ``then`` (the first ``queued`` event) goes in the same write: a client
    reads a request that waits as waiting from the start, never as in the engine for a moment."""
    if not tally.started:
        tally.started = True
        started: dict[str, Any] = {"id": trace.id}
        if hook is not None:
            started["conversation_id"] = hook.conversation_id
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        await send(
            {
                "type": "http.response.body",
                "body": event({"started": started}) + then,
                "more_body": True,
            }
        )
    elif then:
        await send({"type": "http.response.body", "body": then, "more_body": True})


class Proxy:
    """The engine-facing handlers of /chat and /v1/*, sharing one pool and one set of metrics; their calls end
    as ``stopping`` says when the backend stops."""

    def __init__(self, pool: EnginePool, metrics: Metrics, stopping: Stopping | None = None) -> None:
        self.pool = pool
        self.metrics = metrics
        self.stopping = stopping or Stopping()

    def _call(self, work: Work, stream_error: StreamError | None = None) -> EngineCall:
        """``work`` as an ``EngineCall`` that the backend's stop may end (a stream with ``stream_error``)."""
        return EngineCall(work, self.stopping, stream_error)

    @contextlib.asynccontextmanager
    async def _metered(
        self,
        endpoint: str,
        send: Send,
        stream_error: Callable[[ApiError], bytes] = chat_stream_error,
        hook: AnswerHook | None = None,
    ) -> AsyncIterator[_Tally]:
        """Count the request in the metrics; answer an ``ApiError`` raised inside (as an HTTP error, or once the
        stream has started as ``stream_error``) and record a cancellation as such. A recorded answer's ``hook``
        gets its ``Ending`` here, whichever way it ends."""
        tally = _Tally()
        self.metrics.begin(endpoint)
        reason = ERROR
        try:
            yield tally
            reason = tally.finish
        except ApiError as exc:
            if exc.code == STOPPING_CODE:
                reason = STOPPED
            elif self.pool.watched() == RESTARTING:
                reason = ENGINE_RESTART
            await _send_failure(send, exc, tally.started, stream_error)
        except asyncio.CancelledError:
            tally.outcome = "cancelled"
            reason = STOPPED if self.stopping.over else CLIENT_LEFT
            raise
        except OSError:
            reason = CLIENT_LEFT  # it left while the answer was being written to it
            raise
        finally:
            self.metrics.finish(
                endpoint, tally.outcome, tally.latency, tally.ttft, tally.prompt, tally.completion
            )
            if hook is not None:
                hook.ended(
                    Ending(
                        "".join(tally.shown),
                        reason,
                        tally.prompt,
                        tally.completion,
                        tally.ttft,
                        tally.latency if tally.latency is not None else time.perf_counter() - tally.start,
                    )
                )

    async def _read_body(self, engine: UpstreamEngine, response: Response) -> bytes:
        """The whole body of the engine's answer; a failure while reading it as the matching API error."""
        try:
            return await response.aread()
        except UpstreamError as exc:
            raise await self.pool.explain(engine, exc) from exc

    # ---- /chat, JSON ------------------------------------------------------------------------------------
    def chat(
        self,
        payload: dict[str, Any],
        gate: Gate,
        sources: list[dict[str, Any]],
        hook: AnswerHook | None = None,
        extra: dict[str, Any] | None = None,
    ) -> EngineCall:
        """The engine call for a /chat ``payload``, whose answer passes ``gate`` and carries ``sources`` (and, when
        it is recorded, ends through ``hook``). ``extra`` is merged into the JSON answer and the ``done`` event as
        it stands when the answer ends (moderation's ``flags``, the ``scope``)."""
        if payload.get("stream"):
            return self._call(
                lambda send, trace: self._chat_stream(payload, gate, sources, send, trace, hook, extra),
                chat_stream_error,
            )
        return self._call(
            lambda send, trace: self._chat_json(payload, gate, sources, send, trace, hook, extra)
        )

    def material_answer(
        self,
        payload: dict[str, Any],
        text: str,
        gate: Gate,
        sources: list[dict[str, Any]],
        hook: AnswerHook | None = None,
        extra: dict[str, Any] | None = None,
    ) -> EngineCall:
        """A /chat answer the engine is not asked for: the material's own (``Gate.direct``), or moderation's and
        the scope's replies (``extra`` as in ``chat``)."""

        async def work(send: Send, trace: Trace) -> None:
            async with self._metered(CHAT, send, hook=hook) as tally:
                tally.latency = tally.ttft = time.perf_counter() - tally.start
                model = str(payload.get("model") or "")
                if payload.get("stream"):
                    await _begin_stream(send, tally, trace, hook=hook)
                    tally.shown.append(text)
                    await send(
                        {"type": "http.response.body", "body": event({"delta": text}), "more_body": True}
                    )
                    done = _done(model, 0, 0, tally, sources, gate, payload, extra)
                    await send({"type": "http.response.body", "body": event(done), "more_body": False})
                else:
                    tally.shown.append(text)
                    answer = _answer(text, model, tally, sources, gate, payload, hook, extra)
                    await _send_json(send, 200, answer)
                tally.outcome = "ok"

        return self._call(work, chat_stream_error if payload.get("stream") else None)

    async def _chat_json(
        self,
        payload: dict[str, Any],
        gate: Gate,
        sources: list[dict[str, Any]],
        send: Send,
        trace: Trace,
        hook: AnswerHook | None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        async with self._metered(CHAT, send, hook=hook) as tally:
            content = json.dumps(payload, ensure_ascii=False).encode()
            async with self.pool.open("POST", COMPLETIONS, content, request_id=trace.id) as (
                engine,
                response,
            ):
                body = await self._read_body(engine, response)
                if response.status_code != 200:
                    raise engine_error(engine, response.status_code, body)
                try:
                    data = json.loads(body)
                    trace.engine_id = completion_id(data)
                    choice = data["choices"][0]
                    text = choice["message"]["content"] or ""
                    finish_reason = choice.get("finish_reason")
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    raise ApiError(
                        502, f"{engine.label} sent an answer that is not a chat completion"
                    ) from exc
            tally.prompt, tally.completion = _usage_counts(data.get("usage"))
            text = gate.run(text, finish_reason)
            tally.latency = time.perf_counter() - tally.start
            model = str(data.get("model") or engine.model or "")
            tally.shown.append(text)
            tally.finish = LENGTH if gate.truncated else STOP
            await _send_json(send, 200, _answer(text, model, tally, sources, gate, payload, hook, extra))
            tally.outcome = "ok"

    # ---- /chat, SSE ---------------------------------------------------------------------------------------
    async def _chat_stream(
        self,
        payload: dict[str, Any],
        gate: Gate,
        sources: list[dict[str, Any]],
        send: Send,
        trace: Trace,
        hook: AnswerHook | None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        async with self._metered(CHAT, send, hook=hook) as tally:
            content = json.dumps(payload, ensure_ascii=False).encode()

            waited = told = False

            async def emit(body: bytes, more: bool = True) -> None:
                # The stream starts once the request waits for a slot or is in an engine: an error before that
                # is still an HTTP error.
                if not tally.started:
                    await _begin_stream(send, tally, trace, hook=hook)
                await send({"type": "http.response.body", "body": body, "more_body": more})

            async def queued(ahead: int) -> None:
                # Waiting for a slot: the page can say "waiting, N ahead".
                nonlocal waited
                waited = True
                await _begin_stream(send, tally, trace, event({"queued": {"ahead": ahead}}), hook)

            async def sent() -> None:
                # In an engine: ``started`` says so; after a wait in line, ``stage`` does (once, though a request
                # resent on a fresh connection is sent twice).
                nonlocal told
                if not tally.started:
                    await _begin_stream(send, tally, trace, hook=hook)
                elif waited and not told:
                    told = True
                    await emit(event({"stage": "writing"}))

            async with self.pool.open(
                "POST", COMPLETIONS, content, queued=queued, sent=sent, request_id=trace.id
            ) as (engine, response):
                if response.status_code != 200:
                    body = await self._read_body(engine, response)
                    raise engine_error(engine, response.status_code, body)
                lines = EventLines()
                finished = False
                finish_reason: str | None = None
                deltas = 0
                usage: Any = None
                model = engine.model or ""
                try:
                    async for chunk in response.aiter_raw():
                        for field, data in lines.feed(chunk):
                            if field == b"error":
                                raise engine_error(engine, stream_status(data), data)
                            if data == b"[DONE]":
                                finished = True
                                continue
                            obj = json.loads(data)
                            if "error" in obj:
                                raise engine_error(engine, stream_status(data), data)
                            if trace.engine_id is None:
                                trace.engine_id = completion_id(obj)
                            model = obj.get("model") or model
                            if obj.get("usage"):
                                usage = obj["usage"]
                            for choice in obj.get("choices") or ():
                                text = (choice.get("delta") or {}).get("content")
                                if text:
                                    deltas += 1
                                    shown = gate.feed(text)
                                    if shown:
                                        if tally.ttft is None:
                                            tally.ttft = time.perf_counter() - tally.start
                                        tally.shown.append(shown)
                                        await emit(event({"delta": shown}))
                                if choice.get("finish_reason"):
                                    finished = True
                                    finish_reason = choice["finish_reason"]
                        if gate.stopped:
                            # the rest would be cut anyway: leaving the ``async with`` stops the engine
                            finished = True
                            break
                except UpstreamError as exc:
                    raise await self.pool.explain(engine, exc) from exc
                except (ValueError, TypeError, AttributeError) as exc:
                    raise ApiError(502, f"{engine.label} sent a malformed stream event") from exc
                if not finished:
                    raise ApiError(502, f"{engine.label} ended the stream before the answer was complete")
            rest = gate.finish(finish_reason)
            if rest:
                if tally.ttft is None:
                    tally.ttft = time.perf_counter() - tally.start
                tally.shown.append(rest)
                await emit(event({"delta": rest}))
            tally.finish = LENGTH if gate.truncated else STOP
            prompt, completion = _usage_counts(usage)
            completion = completion or deltas
            tally.prompt, tally.completion = prompt, completion
            tally.latency = time.perf_counter() - tally.start
            done = _done(str(model), prompt, completion, tally, sources, gate, payload, extra)
            await emit(event(done), more=False)
            tally.outcome = "ok"

    # ---- /v1/* ---------------------------------------------------------------------------------------------
    def models(self) -> EngineCall:
        async def work(send: Send, trace: Trace) -> None:
            async with self.pool.open("GET", MODELS_V1, admit=False, request_id=trace.id) as (
                engine,
                response,
            ):
                body = await self._read_body(engine, response)
            if response.status_code != 200:
                raise engine_refusal(engine, response.status_code, body)
            await _relay(send, response, body)

        return self._call(_errors_as_json(work))

    def completions(self, body: bytes, stream: bool) -> EngineCall:
        """``body`` (built by ``openai_request``) to the engine; its answer relayed."""
        if stream:
            return self._call(
                lambda send, trace: self._completions_stream(body, send, trace), openai_stream_error
            )
        return self._call(lambda send, trace: self._completions_json(body, send, trace))

    async def _completions_json(self, content: bytes, send: Send, trace: Trace) -> None:
        async with self._metered(COMPLETIONS, send) as tally:
            async with self.pool.open("POST", COMPLETIONS, content, request_id=trace.id) as (
                engine,
                response,
            ):
                body = await self._read_body(engine, response)
            if response.status_code != 200:
                raise engine_refusal(engine, response.status_code, body)
            # an answer that is not JSON is relayed as is, without counts
            answer = _parsed(body)
            trace.engine_id = completion_id(answer)
            tally.prompt, tally.completion = _usage_counts(
                answer.get("usage") if isinstance(answer, dict) else None
            )
            tally.latency = time.perf_counter() - tally.start
            await _relay(send, response, body)
            tally.outcome = "ok"

    async def _completions_stream(self, content: bytes, send: Send, trace: Trace) -> None:
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

            async with self.pool.open("POST", COMPLETIONS, content, queued=queued, request_id=trace.id) as (
                engine,
                response,
            ):
                if response.status_code != 200:
                    body = await self._read_body(engine, response)
                    raise engine_refusal(engine, response.status_code, body)
                content_type = response.headers.get("content-type", "text/event-stream").encode()
                lines = EventLines()
                try:
                    async for chunk in response.aiter_raw():
                        out: list[bytes] = []
                        for field, data in lines.feed(chunk):
                            if field == b"error" or is_error_event(data):
                                if out:
                                    await emit(b"".join(out))
                                raise engine_refusal(engine, stream_status(data), data)
                            if trace.engine_id is None:
                                trace.engine_id = completion_id(_parsed(data))
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


def _sampling(payload: dict[str, Any]) -> dict[str, Any]:
    """What a /chat answer was asked with: the request's own temperature and max_tokens where the server lets
    clients choose them (``client_sampling``), else its settings."""
    return {"temperature": payload.get("temperature"), "max_tokens": payload.get("max_tokens")}


def _answer(
    text: str,
    model: str,
    tally: _Tally,
    sources: list[dict[str, Any]],
    gate: Gate,
    payload: dict[str, Any],
    hook: AnswerHook | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON answer of /chat (with a recorded answer's ``conversation_id``, and ``extra``)."""
    answer = {
        "response": text,
        "model": model,
        "tokens_used": tally.prompt + tally.completion,
        "prompt_tokens": tally.prompt,
        "completion_tokens": tally.completion,
        "latency_seconds": round(tally.latency or 0.0, 6),
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "sources": sources,
        "faithfulness": gate.faithfulness,
        "truncated": gate.truncated,
        "sampling": _sampling(payload),
    }
    if hook is not None:
        answer["conversation_id"] = hook.conversation_id
    answer.update(extra or {})
    return answer


def _done(
    model: str,
    prompt: int,
    completion: int,
    tally: _Tally,
    sources: list[dict[str, Any]],
    gate: Gate,
    payload: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The last event of a /chat stream (with ``extra``)."""
    return {
        "done": True,
        "model": model,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
        "latency_seconds": round(tally.latency or 0.0, 6),
        "ttft_seconds": None if tally.ttft is None else round(tally.ttft, 6),
        "sources": sources,
        "faithfulness": gate.faithfulness,
        "truncated": gate.truncated,
        "sampling": _sampling(payload),
        **(extra or {}),
    }


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


def _parsed(data: bytes) -> Any:
    """``data`` as JSON, or None when it is not JSON."""
    try:
        return json.loads(data)
    except ValueError:
        return None


def _errors_as_json(work: Work) -> Work:
    async def wrapped(send: Send, trace: Trace) -> None:
        try:
            await work(send, trace)
        except ApiError as exc:
            await send_error(send, exc)

    return wrapped
