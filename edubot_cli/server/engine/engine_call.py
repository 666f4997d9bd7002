"""``EngineCall``: an ASGI response that talks to the engine and stops doing so when the client goes away, or
when the backend stops.

It runs the upstream exchange in the request's task and, alongside, waits for ``http.disconnect``: when the
client goes away (closed tab, Stop button, Ctrl-C) the task is cancelled, which closes the upstream connection,
which makes the engine stop generating. While the backend stops (``stopping``) the call is watched: once the
stop's grace is over it is cancelled the same way, and the client is told (a stream ends with ``stream_error``
of the stop's error, an answer not yet begun is the stop's 503).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.responses import Response as StarletteResponse
from starlette.types import Message, Receive, Scope, Send

from ..api_errors import ApiError, send_error
from ..request_ids import Trace, trace_of
from ..stopping import Stopping, stopping_error

Work = Callable[[Send, Trace], Awaitable[None]]
"""The body of an ``EngineCall``: answers through ``send``, for the request ``Trace`` names."""
StreamError = Callable[[ApiError], bytes]
"""The last bytes of a stream that ends with an error (``engine_errors.chat_stream_error`` ...)."""

GONE = "gone"
STOPPED = "stopped"


class EngineCall(StarletteResponse):
    """An ASGI response whose body comes from ``work(send, trace)``; cancelled as soon as the client
    disconnects, or, with ``stopping``, when the backend's stop ends it (then ended with ``stream_error`` once
    the response has begun; ``None`` for a JSON answer, which is then left to end with the connection)."""

    def __init__(
        self, work: Work, stopping: Stopping | None = None, stream_error: StreamError | None = None
    ) -> None:
        # Deliberately not Response.__init__: status and headers are decided by ``work``.
        self.work = work
        self.stopping = stopping
        self.stream_error = stream_error
        self.background = None
        self.status_code = 200
        self.raw_headers = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.stopping is not None and self.stopping.over:
            await send_error(send, stopping_error())
            return
        # The work runs in this task; a watcher task cancels it when the client disconnects (one extra task
        # per request, not two).
        current = asyncio.current_task()
        assert current is not None
        reason: str | None = None
        started = False

        def end(why: str) -> None:
            nonlocal reason
            if reason is None:
                reason = why
                current.cancel()

        def client_gone(_: object) -> None:
            end(GONE)

        async def noted(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        watcher.add_done_callback(client_gone)
        forget = self.stopping.watch(lambda: end(STOPPED)) if self.stopping is not None else None
        try:
            await self.work(send if forget is None else noted, trace_of(scope))
        except asyncio.CancelledError:
            if reason is None:
                raise
            current.uncancel()
            if reason == STOPPED:
                await self._stopped(send, started)
        except OSError:
            pass  # the client left while we were writing to it
        finally:
            if forget is not None:
                forget()
            watcher.remove_done_callback(client_gone)
            watcher.cancel()

    async def _stopped(self, send: Send, started: bool) -> None:
        """Tell the client that the stop ended its answer."""
        try:
            if not started:
                await send_error(send, stopping_error())
            elif self.stream_error is not None:
                body = self.stream_error(stopping_error())
                await send({"type": "http.response.body", "body": body, "more_body": False})
        except OSError:
            pass


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
