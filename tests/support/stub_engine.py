"""A scripted, in-process OpenAI-compatible engine for tests.

``StubEngine`` serves ``GET /v1/models``, ``GET /health`` and ``POST /v1/chat/completions`` (streamed or not, with
``usage``) from uvicorn in a thread. Each chat request pops the next scripted ``Step``; once the queue is empty
``default`` applies. Token counts are deterministic: prompt tokens = whitespace-separated words across all
message contents, completion tokens = number of chunks.

It is a plain ASGI app (no framework) so that it watches ``http.disconnect`` while it waits or streams: a client
that goes away is noticed at once and counted in ``cancelled``.

Run it as a separate process (benchmarks): ``python -m tests.support.stub_engine --port 9100``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .poll import CEILING
from .server_thread import ServerThread, hide_logged

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _default_chunks() -> list[str]:
    return ["Hello", " from", " the", " stub."]


@dataclass
class Step:
    """One scripted reply."""

    chunks: list[str] = field(default_factory=_default_chunks)  # content deltas
    delay: float = 0.0  # seconds between chunks
    first_byte_delay: float = 0.0  # seconds before the response starts (headers included)
    status: int = 200  # non-200: an OpenAI-style error JSON body with this status
    fail_after: int | None = None  # drop the connection abruptly after this many chunks
    error_message: str = "stub failure"
    # With a gate the reply starts only once the test sets it (its slot held until then); with ``gate_after``
    # too, that many chunks are streamed first (an answer paused half-way). ``wait_held`` sees either hold.
    gate: threading.Event | None = None
    gate_after: int | None = None


class StubDrop(Exception):
    """Raised inside the app to make uvicorn close the connection without finishing the response."""


hide_logged(StubDrop)


def _json_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


class StubEngine:
    """In-process OpenAI-compatible server on 127.0.0.1:<free port> (``url``; the OpenAI base is ``url + "/v1"``)."""

    def __init__(self, model: str = "stub-model", port: int = 0) -> None:
        self.model = model
        self.default = Step()
        self.healthy = True  # False: /health and /v1/models answer 503
        self.requests: list[dict[str, Any]] = []
        self.request_ids: list[tuple[str, str, str | None]] = []
        """(method, path, X-Request-ID header or None) of every HTTP request, in order."""
        self.cancelled = 0
        self.completed = 0
        self.held = 0
        """Streams that reached their step's ``gate`` (and wait there until it is set)."""
        self._steps: deque[Step] = deque()
        self._cond = threading.Condition()
        self._server = ServerThread(self, port=port, name=f"stub-engine-{model}")
        self._ids = 0

    # ---- lifecycle ----------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> StubEngine:
        """Start serving (again on the same port after ``stop``)."""
        self._server.start()
        return self

    def stop(self, abrupt: bool = False) -> None:
        """Stop serving; the port stays reserved for a later ``start``."""
        self._server.stop(abrupt=abrupt)

    def __enter__(self) -> StubEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop(abrupt=True)

    # ---- scripting and inspection -------------------------------------------------------------------------
    def script(self, *steps: Step) -> None:
        """Replace the queue of scripted replies."""
        with self._cond:
            self._steps = deque(steps)

    def wait_cancelled(self, n: int = 1, timeout: float = CEILING) -> bool:
        """Wait until at least ``n`` requests were abandoned by their client; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.cancelled >= n, timeout=timeout)

    def wait_completed(self, n: int = 1, timeout: float = CEILING) -> bool:
        """Wait until at least ``n`` replies were sent to the end; False on timeout.

        The client may read the whole reply a moment before the stub counts it, so tests wait rather than read.
        """
        with self._cond:
            return self._cond.wait_for(lambda: self.completed >= n, timeout=timeout)

    def wait_held(self, n: int = 1, timeout: float = CEILING) -> bool:
        """Wait until at least ``n`` replies are held at their gate; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.held >= n, timeout=timeout)

    def wait_requests(self, n: int = 1, timeout: float = CEILING) -> bool:
        """Wait until at least ``n`` chat requests have arrived; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.requests) >= n, timeout=timeout)

    def _next_step(self) -> Step:
        with self._cond:
            return self._steps.popleft() if self._steps else self.default

    def _record(self, attr: str) -> None:
        with self._cond:
            setattr(self, attr, getattr(self, attr) + 1)
            self._cond.notify_all()

    # ---- ASGI ---------------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-request-id"), None)
        self.request_ids.append((method, path, given))
        if method == "GET" and path == "/health":
            ok = self.healthy
            await self._send_json(send, 200 if ok else 503, {"status": "ok" if ok else "unavailable"})
        elif method == "GET" and path == "/v1/models":
            if not self.healthy:
                await self._send_error(send, 503, "stub engine unhealthy")
                return
            models = {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "stub"}],
            }
            await self._send_json(send, 200, models)
        elif method == "POST" and path == "/v1/chat/completions":
            await self._chat(receive, send)
        else:
            await self._send_error(send, 404, f"no route {method} {path}")

    async def _send_json(self, send: Send, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status, "headers": _json_headers(body)})
        await send({"type": "http.response.body", "body": body})

    async def _send_error(self, send: Send, status: int, message: str) -> None:
        error = {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error"}
        await self._send_json(send, status, {"error": {**error, "code": status}})

    async def _chat(self, receive: Receive, send: Send) -> None:
        raw = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            payload = json.loads(raw)
        except ValueError:
            await self._send_error(send, 400, "request body is not JSON")
            return
        with self._cond:
            self.requests.append(payload)
            self._cond.notify_all()
        step = self._next_step()
        finished = False

        async def produce() -> None:
            nonlocal finished
            if step.gate_after is None:
                await self._hold(step.gate)
            if step.first_byte_delay:
                await asyncio.sleep(step.first_byte_delay)
            if step.status != 200:
                await self._send_error(send, step.status, step.error_message)
            elif payload.get("stream"):
                await self._stream(send, payload, step)
            else:
                await self._complete(send, payload, step)
            finished = True

        producer = asyncio.ensure_future(produce())
        listener = asyncio.ensure_future(_wait_disconnect(receive))
        await asyncio.wait({producer, listener}, return_when=asyncio.FIRST_COMPLETED)
        if producer.done():
            listener.cancel()
            producer.result()  # re-raises StubDrop so uvicorn drops the connection
            self._record("completed")
            return
        producer.cancel()
        await asyncio.wait({producer})  # let it unwind; a send failing on the closed connection is expected
        if not producer.cancelled():
            producer.exception()
        if not finished:
            self._record("cancelled")

    def _usage(self, payload: dict[str, Any], step: Step) -> dict[str, int]:
        prompt = sum(len(str(m.get("content", "")).split()) for m in payload.get("messages", []))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": len(step.chunks),
            "total_tokens": prompt + len(step.chunks),
        }

    def _new_id(self) -> str:
        self._ids += 1
        return f"chatcmpl-stub-{self._ids}"

    async def _complete(self, send: Send, payload: dict[str, Any], step: Step) -> None:
        if step.gate_after is not None:  # nothing is sent before the whole answer
            await self._hold(step.gate)
        if step.delay:
            await asyncio.sleep(step.delay * len(step.chunks))
        body = json.dumps(
            {
                "id": self._new_id(),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(step.chunks)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": self._usage(payload, step),
            }
        ).encode()
        await send({"type": "http.response.start", "status": 200, "headers": _json_headers(body)})
        if step.fail_after is not None:
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise StubDrop("dropping the connection as scripted")
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, send: Send, payload: dict[str, Any], step: Step) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        base = {
            "id": self._new_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
        }

        async def event(data: Any) -> None:
            text = data if isinstance(data, str) else json.dumps(data)
            await send(
                {"type": "http.response.body", "body": f"data: {text}\n\n".encode(), "more_body": True}
            )

        def choice(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        await event(choice({"role": "assistant", "content": ""}))
        for i, chunk in enumerate(step.chunks):
            if step.fail_after is not None and i >= step.fail_after:
                raise StubDrop("dropping the connection as scripted")
            if i and step.delay:
                await asyncio.sleep(step.delay)
            if i == step.gate_after:
                await self._hold(step.gate)
            await event(choice({"content": chunk}))
        if step.fail_after is not None and step.fail_after >= len(step.chunks):
            raise StubDrop("dropping the connection as scripted")
        await event(choice({}, "stop"))
        await event({**base, "choices": [], "usage": self._usage(payload, step)})
        await event("[DONE]")
        await send({"type": "http.response.body", "body": b""})

    async def _hold(self, gate: threading.Event | None) -> None:
        """Until the test sets ``gate`` (a threading.Event, set by the test's thread); at once without one."""
        if gate is None:
            return
        self._record("held")
        await _opened(gate)


async def _opened(gate: threading.Event | None) -> None:
    """Until the test sets ``gate`` (at once without one)."""
    while gate is not None and not gate.is_set():
        await asyncio.sleep(0.01)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def main() -> None:
    """Serve a stub engine in the foreground (for benchmarks that need it in its own process)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=4, help="content deltas per reply")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between chunks")
    args = parser.parse_args()
    stub = StubEngine()
    stub.default = Step(chunks=[f" tok{i}" for i in range(args.chunks)], delay=args.delay)
    uvicorn.run(stub, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
