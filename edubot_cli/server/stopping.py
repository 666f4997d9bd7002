"""``Stopping``: how the backend stops without cutting answers off.

From the moment ``edubot serve`` is asked to stop (SIGTERM, Ctrl-C, a hangup), every new request is refused with
503 ``stopping`` and ``Retry-After`` (``stopping_error``), while answers already running get ``shutdown_grace``
seconds to finish. Those still running then are ended by their ``EngineCall``: the engine's work is cancelled and
the client is told why (a stream ends with its error event, an answer not yet begun is the 503). Then what was
registered in ``drained`` runs (the classroom writes its pending records and ends the teachers' live views). Only
after that does uvicorn close the connections and the engine get stopped, so uvicorn never has a request task to
cancel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .api_errors import ApiError

STOPPING_CODE = "stopping"
RETRY_AFTER = "5"
"""Seconds a refused client is told to wait (a restarted backend is usually back by then)."""
POLL = 0.05
"""Seconds between checks, while draining, that the running answers are done."""
SETTLE = 5.0
"""Seconds the answers ended at the end of the grace may take to send their last event."""
log = logging.getLogger("edubot.server")


def stopping_error() -> ApiError:
    """The answer to a request the stop refuses or ends before its answer began: 503 ``stopping``."""
    return ApiError(
        503,
        "the server is stopping; send the request again in a moment",
        code=STOPPING_CODE,
        headers={"Retry-After": RETRY_AFTER},
    )


class Stopping:
    """The stop of one backend: ``begun`` (new requests are refused), ``over`` (the grace is spent: running
    answers are ended), and the answers running meanwhile (``watch``)."""

    def __init__(self) -> None:
        self.begun = False
        self.over = False
        self._ends: dict[object, Callable[[], None]] = {}
        self.drained: list[Callable[[], Awaitable[None]]] = []
        """Run, in order, once the running answers have ended (``drain``): what must happen before the process
        exits (the classroom's pending writes)."""

    @property
    def running(self) -> int:
        """Answers running now."""
        return len(self._ends)

    def watch(self, end: Callable[[], None]) -> Callable[[], None]:
        """Note a running answer whose ``end`` ends it with the stop's error; returns the call that forgets it
        (when the answer is done)."""
        key = object()
        self._ends[key] = end

        def forget() -> None:
            self._ends.pop(key, None)

        return forget

    def begin(self) -> None:
        """Refuse new requests from now on."""
        self.begun = True

    def end_all(self) -> int:
        """The grace is over: end every running answer (and any that starts later); returns how many."""
        self.over = True
        ends = list(self._ends.values())
        for end in ends:
            end()
        return len(ends)

    async def drain(self, grace: float, hurry: Callable[[], bool] = lambda: False) -> None:
        """The whole stop: refuse new requests, wait up to ``grace`` seconds (less once ``hurry()`` is true,
        a second Ctrl-C) for running answers to finish, end the rest and wait until they have sent their ending."""
        self.begin()
        loop = asyncio.get_running_loop()
        if self._ends:
            log.info("Stopping: %d answer(s) running get up to %g s to finish", len(self._ends), grace)
        deadline = loop.time() + grace
        while self._ends and loop.time() < deadline and not hurry():
            await asyncio.sleep(POLL)
        ended = self.end_all()
        if ended:
            log.info("Stopping: ended %d answer(s) still running after %g s", ended, grace)
        deadline = loop.time() + SETTLE
        while self._ends and loop.time() < deadline:
            await asyncio.sleep(POLL)
        for finish in self.drained:
            await finish()
