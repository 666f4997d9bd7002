"""``EngineCall``: an ASGI response that talks to the engine and stops doing so when the client goes away.

It runs the upstream exchange in the request's task and, alongside, waits for ``http.disconnect``: when the
client goes away (closed tab, Stop button, Ctrl-C) the task is cancelled, which closes the upstream connection,
which makes the engine stop generating.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.responses import Response as StarletteResponse
from starlette.types import Receive, Scope, Send

from .request_ids import Trace, trace_of

Work = Callable[[Send, Trace], Awaitable[None]]
"""The body of an ``EngineCall``: answers through ``send``, for the request ``Trace`` names."""


class EngineCall(StarletteResponse):
    """An ASGI response whose body comes from ``work(send, trace)``; cancelled as soon as the client
    disconnects."""

    def __init__(self, work: Work) -> None:
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
            await self.work(send, trace_of(scope))
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
