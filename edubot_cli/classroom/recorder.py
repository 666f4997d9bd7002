"""The record's writer: one thread that stores each finished exchange (a student's question and the answer it got)
so that recording never blocks an answer's stream or the server's event loop.

The server hands the recorder an ``Exchange`` when an answer ends, however it ends (``finish_reason``: ``stop``,
``length``, or ``client_left``, ``engine_restart``, ``stopping``, ``error`` for one cut short); ``record`` only puts
it in a queue. The thread lets answers gather for ``GATHER_SECONDS``, writes them, each question then its answer,
in one statement (``Store.add_messages``), and then tells ``on_stored`` (the teacher's live view) what it stored.
A write that fails (the database away for a moment) is tried again ``ATTEMPTS`` times, a little later each time;
one that still fails is logged and counted in ``lost``.
``flush`` waits until everything recorded before it is written: the server calls it when it stops (SIGTERM), after
the running answers have ended and before the process exits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import NewMessage, Store

ATTEMPTS = 3
"""Tries of one exchange's write before it is given up (logged, counted in ``Recorder.lost``)."""
RETRY_DELAY = 0.2
"""Seconds before the second try; doubled before each later one."""
BATCH = 512
"""Most exchanges written in one statement: those waiting when the thread comes to write (a class's answers
ending together), so that the record's cost per answer falls as the load grows."""
GATHER_SECONDS = 0.2
"""How long the writer lets answers gather after the first before it writes them (cut short by ``flush``): one
write costs about 0.4 ms of CPU and each exchange in it 0.06 ms, time taken from the event loop that streams the
answers (the GIL), so a busy class's answers are written a few dozen at a time."""
FINISH_REASONS = ("stop", "length", "client_left", "engine_restart", "stopping", "error")
log = logging.getLogger("edubot.server.classroom")


@dataclass(frozen=True)
class Exchange:
    """One question and the answer it got, as the server saw them end: who asked (``student_id`` of
    ``class_id``, in ``conversation_id``), the question and when it was asked, and the answer with its figures."""

    conversation_id: str
    class_id: str
    student_id: str
    nickname: str
    question: str
    asked: datetime
    answer: str
    finish_reason: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    mode: str | None = None
    grounded: bool | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_s: float | None = None
    latency_s: float | None = None
    flags: tuple[str, ...] = ()
    """The answer's flags (``refused``, ``out_of_scope``, what moderation found in the answer)."""
    question_flags: tuple[str, ...] = ()
    """The question's flags: what moderation found in it (``self_harm:high`` ...), for the teacher's page."""
    answered: datetime | None = None
    """When the answer ended (None: when it is written)."""


@dataclass(frozen=True)
class Stored:
    """An exchange once written: the ids the store gave its two messages."""

    exchange: Exchange
    question_id: int
    answer_id: int


class Recorder:
    """Writes ``Exchange``s to ``store`` from its own thread (see the module docstring); ``on_stored`` is called in
    that thread after each one is written."""

    def __init__(self, store: Store, on_stored: Callable[[Stored], None] | None = None) -> None:
        self.store = store
        self.on_stored = on_stored
        self.written = 0
        """Exchanges written."""
        self.lost = 0
        """Exchanges given up after ``ATTEMPTS`` failed writes."""
        self._queue: queue.SimpleQueue[Exchange | None] = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._hurry = threading.Event()
        self._thread = threading.Thread(target=self._run, name="classroom-recorder", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Exchanges recorded and not yet written (or given up)."""
        return self._pending

    def record(self, exchange: Exchange) -> None:
        """Queue ``exchange`` for writing; returns at once (safe from the event loop and from any thread)."""
        with self._idle:
            self._pending += 1
        self._queue.put(exchange)

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until everything recorded so far is written; False when some is not."""
        self._hurry.set()
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float) -> bool:
        """``flush``, then end the thread; False when writes were still pending after ``timeout`` seconds."""
        flushed = self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout=max(0.1, timeout) if flushed else 0.1)
        if not flushed:
            log.warning("classroom: %d exchange(s) were not written before the server stopped", self._pending)
        return flushed

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            self._hurry.wait(GATHER_SECONDS)
            batch, last = [first], False
            while len(batch) < BATCH:
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    last = True
                    break
                batch.append(waiting)
            try:
                for stored in self._write_batch(batch):
                    if self.on_stored is not None:
                        try:
                            self.on_stored(stored)
                        except Exception:  # a listener's fault must not stop the record
                            log.exception("classroom: a listener failed on a stored message")
            finally:
                with self._idle:
                    self._pending -= len(batch)
                    if self._pending == 0:
                        self._hurry.clear()
                    self._idle.notify_all()
            if last:
                return

    def _write_batch(self, batch: list[Exchange]) -> list[Stored]:
        """``batch`` in one statement (``write_exchanges``); if that fails, each exchange on its own (with its
        retries)."""
        if len(batch) > 1:
            try:
                stored = write_exchanges(self.store, batch)
            except Exception:  # one bad exchange, or the database away: each on its own below
                pass
            else:
                self.written += len(stored)
                return stored
        written = [self._write(exchange) for exchange in batch]
        return [stored for stored in written if stored is not None]

    def _write(self, exchange: Exchange) -> Stored | None:
        delay = RETRY_DELAY
        for attempt in range(1, ATTEMPTS + 1):
            try:
                stored = write_exchange(self.store, exchange)
            except Exception as exc:  # the database's own errors (locked, gone): tried again, then logged
                if attempt == ATTEMPTS:
                    self.lost += 1
                    log.error(
                        "classroom: could not store a message of conversation %s after %d tries: %s",
                        exchange.conversation_id,
                        ATTEMPTS,
                        exc,
                    )
                    return None
                time.sleep(delay)
                delay *= 2
            else:
                self.written += 1
                return stored
        return None  # pragma: no cover (the loop returns)


def _messages(exchange: Exchange) -> list[NewMessage]:
    """The question (when it was asked) and the answer with its figures, as ``Store.add_messages`` takes them."""
    question: NewMessage = (
        exchange.conversation_id,
        "user",
        exchange.question,
        {"created": exchange.asked, "mode": exchange.mode, "flags": list(exchange.question_flags)},
    )
    answer: NewMessage = (
        exchange.conversation_id,
        "assistant",
        exchange.answer,
        {
            "sources": exchange.sources,
            "mode": exchange.mode,
            "grounded": exchange.grounded,
            "prompt_tokens": exchange.prompt_tokens,
            "completion_tokens": exchange.completion_tokens,
            "first_token_s": exchange.first_token_s,
            "latency_s": exchange.latency_s,
            "finish_reason": exchange.finish_reason,
            "flags": list(exchange.flags),
            "created": exchange.answered,
        },
    )
    return [question, answer]


def write_exchanges(store: Store, exchanges: Sequence[Exchange]) -> list[Stored]:
    """Store the exchanges' messages (question, then answer, of each) in one transaction; the conversation of an
    exchange is made with its first one. All stored, or none (raises what the store raised)."""
    owners = {exchange.conversation_id: exchange.student_id for exchange in exchanges}
    ids = store.add_messages(owners, [message for exchange in exchanges for message in _messages(exchange)])
    return [Stored(exchange, ids[2 * i], ids[2 * i + 1]) for i, exchange in enumerate(exchanges)]


def write_exchange(store: Store, exchange: Exchange) -> Stored:
    """Store ``exchange``'s two messages (``write_exchanges`` of one)."""
    return write_exchanges(store, [exchange])[0]
