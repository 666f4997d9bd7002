"""The classroom behind one backend: the store (``classroom.store``), opened when there is one; brief caches of
who a session cookie belongs to; the recorder that writes finished answers; the retention thread; and the live
feed of the teacher's page.

Every store call runs in a worker thread (``asyncio.to_thread``), never in the event loop. The answers to "which
seat does this cookie hold", "is this a teacher's session" and "are there classes" are kept ``CACHE_SECONDS``, so a
busy class costs one look-up per student per second at most; a change made through this server (a student leaving,
a teacher logging out) is seen at once, one made elsewhere (``edubot class close`` in a terminal, another backend
on the same database) within ``CACHE_SECONDS``.

With the SQLite default the store is opened only once its file exists (``edubot class create`` makes it): a server
that never had a class creates nothing, imports no SQLAlchemy, and behaves as before. ``database_url`` opens the
store at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..classroom.recorder import Exchange, Recorder, Stored
from ..classroom.store import SQLITE_FILE, new_conversation_id
from .api_errors import ApiError

if TYPE_CHECKING:
    from ..classroom.store import MessageRecord, Seat, Store
    from ..config import Settings

T = TypeVar("T")

CACHE_SECONDS = 1.0
"""How long a session's or the class list's look-up is reused (see the module docstring)."""
OWNER_SECONDS = 600.0
"""How long "this conversation is this student's" is reused (a conversation never changes hands; a purge may
remove it, and then the next question starts a new one)."""
CACHE_LIMIT = 10_000
"""Cached sessions at most; beyond that the cache starts again empty."""
RETENTION_EVERY = 3600.0
"""Seconds between two applications of ``retain_days`` (the first is at start)."""
REOPEN_AFTER = 5.0
"""Seconds after a failed opening of the store (a PostgreSQL server away) before the next try."""
SETTLE_SECONDS = 5.0
"""How long a read of the record waits for the exchanges recorded before it to be written (``Classroom.run``)."""
FLUSH_TIMEOUT = 30.0
"""Seconds the stop waits for the recorder's pending writes."""
LIVE_QUEUE = 1000
"""Events one teacher's live view may have waiting; a view that falls further behind is ended (it reloads)."""
log = logging.getLogger("edubot.server")


def unavailable() -> ApiError:
    """The answer when the store does not answer (a PostgreSQL server away, a disk error)."""
    return ApiError(
        503,
        "the classroom record is not available right now; try again in a moment",
        code="classroom_unavailable",
        headers={"Retry-After": "5"},
    )


class _Unopened(Exception):
    """Opening the store failed (its cause says why)."""


class _Cache:
    """Values by key for ``ttl`` seconds of ``clock``."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self.clock = clock
        self._values: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> tuple[bool, Any]:
        hit = self._values.get(key)
        if hit is None or self.clock() - hit[0] >= self.ttl:
            return False, None
        return True, hit[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self._values) >= CACHE_LIMIT:
            self._values.clear()
        self._values[key] = (self.clock(), value)

    def drop(self, key: Any) -> None:
        self._values.pop(key, None)

    def clear(self) -> None:
        self._values.clear()


class Classroom:
    """The classroom of one backend (see the module docstring). ``enabled`` False (``edubot eval --local``'s private
    backend) never opens the store: no class, no record."""

    def __init__(
        self, settings: Settings, *, enabled: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.enabled = enabled
        self.path = Path(settings.data_dir) / SQLITE_FILE
        self.live = LiveFeed()
        self.recorder: Recorder | None = None
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._retention: threading.Thread | None = None
        self._clock = clock
        self._failed_at: float | None = None
        self._seats = _Cache(CACHE_SECONDS, clock)
        self._teachers = _Cache(CACHE_SECONDS, clock)
        self._classes = _Cache(CACHE_SECONDS, clock)
        self._owners = _Cache(OWNER_SECONDS, clock)

    # ---- the store -------------------------------------------------------------------------------------
    def start(self) -> None:
        """At the server's start: open the store when there is one (blocking: call it in a thread). A bad setting
        stops the start (``ConfigError``); a database that does not answer is logged, and the classroom's routes
        answer 503 until it does."""
        from ..errors import ConfigError

        try:
            self.open()
        except ConfigError:
            raise
        except Exception as exc:  # the database away: tried again on the next request that needs it
            log.error("classroom: cannot open the record: %s", exc)

    def open(self) -> Store | None:
        """The store, opened (and migrated) the first time it exists; None while there is none. Blocking: call it
        in a thread. Raises what opening it raised; after a failure, the next try waits ``REOPEN_AFTER`` s."""
        if self._store is not None or not self.enabled:
            return self._store
        with self._lock:
            if (
                self._store is None
                and not self._closed
                and (self.settings.database_url or self.path.is_file())
            ):
                from ..classroom.store import Store

                if self._failed_at is not None and self._clock() - self._failed_at < REOPEN_AFTER:
                    raise unavailable()
                try:
                    store = Store.open(self.settings)
                except Exception:
                    self._failed_at = self._clock()
                    raise
                self._failed_at = None
                self.recorder = Recorder(store, on_stored=self.live.publish)
                self._store = store
                if self.settings.retain_days > 0:
                    self._retention = threading.Thread(
                        target=self._retain, args=(store,), name="classroom-retention", daemon=True
                    )
                    self._retention.start()
        return self._store

    async def run(self, work: Callable[[Store], T], *, settled: bool = False) -> T | None:
        """``work(store)`` in a worker thread; None when there is no store. ``settled``: first wait (up to
        ``SETTLE_SECONDS``) until the exchanges already recorded are written, so that a read of the record shows
        the answer just given (the recorder lets answers gather before it writes them). A ``ClassroomError`` of
        ``work`` (an unknown code, a closed class ...) passes through; a store that cannot be opened, or any other
        failure of it, is logged and answered 503 (``unavailable``)."""
        from ..errors import ClassroomError

        def call() -> T | None:
            try:
                store = self.open()
            except ApiError:
                raise
            except Exception as exc:
                raise _Unopened(exc) from exc
            if store is None:
                return None
            if settled and self.recorder is not None and self.recorder.pending:
                self.recorder.flush(SETTLE_SECONDS)
            return work(store)

        try:
            return await asyncio.to_thread(call)
        except ApiError:
            raise
        except _Unopened as exc:
            log.error("classroom: cannot open the record: %s", exc.__cause__)
            raise unavailable() from exc
        except ClassroomError:
            raise
        except Exception as exc:  # the database's own errors: the request gets a 503, the log the cause
            log.error("classroom: the store failed: %s", exc, exc_info=exc)
            raise unavailable() from exc

    async def classes_on(self) -> bool:
        """Whether any class is defined (open or closed): /chat then needs a student's session."""
        if not self.enabled:
            return False
        hit, value = self._classes.get(None)
        if hit:
            return bool(value)
        found = bool(await self.run(lambda store: store.has_classes()))
        self._classes.put(None, found)
        return found

    async def seat(self, token: str) -> Seat | None:
        """The seat a student's session token holds, or None (unknown, expired, or its class closed)."""
        hit, value = self._seats.get(token)
        if hit:
            return value
        seat = await self.run(lambda store: store.seat(token))
        self._seats.put(token, seat)
        return seat

    async def teacher(self, token: str) -> bool:
        """Whether ``token`` is a teacher's session."""
        hit, value = self._teachers.get(token)
        if hit:
            return bool(value)
        valid = bool(await self.run(lambda store: store.teacher_session(token)))
        self._teachers.put(token, valid)
        return valid

    async def conversation(self, student_id: str, conversation_id: str | None) -> str | None:
        """The conversation a student's question goes into: ``conversation_id`` when it is theirs (None when it
        is not: unknown or someone else's alike), else a new one."""
        if conversation_id is None:
            # Made in the record with its first exchange (recorder.write_exchanges): no write on the answer's path.
            created = new_conversation_id()
            self._owners.put(created, student_id)
            return created
        hit, owner = self._owners.get(conversation_id)
        if not hit:
            found = await self.run(lambda store: store.conversation_of(conversation_id, student_id))
            if found is None:
                return None
            owner = student_id
            self._owners.put(conversation_id, owner)
        return conversation_id if owner == student_id else None

    def forget(self, token: str) -> None:
        """Forget what is cached of ``token`` (its session just ended here)."""
        self._seats.drop(token)
        self._teachers.drop(token)

    def changed(self) -> None:
        """Forget every cached answer (a class was closed, a code rotated ... through this server)."""
        self._seats.clear()
        self._teachers.clear()
        self._classes.clear()

    # ---- the record ------------------------------------------------------------------------------------
    def record(self, exchange: Exchange) -> None:
        """Hand ``exchange`` to the recorder (returns at once)."""
        if self.recorder is not None:
            self.recorder.record(exchange)
        else:  # a seat was found, so the store is open: this cannot happen
            log.error("classroom: no recorder for conversation %s", exchange.conversation_id)

    def flush(self, timeout: float = FLUSH_TIMEOUT) -> bool:
        """Wait until every recorded exchange is written (blocking: call it in a thread)."""
        return self.recorder.flush(timeout) if self.recorder is not None else True

    async def stopped(self) -> None:
        """The backend's stop is over (``Stopping.drain``): write what is pending, end the teachers' live views."""
        await asyncio.to_thread(self.flush)
        self.live.close()

    def close(self) -> None:
        """Write what is pending, stop the threads, close the store (blocking)."""
        with self._lock:
            self._closed = True
        self._stop.set()
        if self.recorder is not None:
            self.recorder.close(FLUSH_TIMEOUT)
        if self._retention is not None:
            self._retention.join(timeout=FLUSH_TIMEOUT)
        self.live.close()
        if self._store is not None:
            self._store.close()

    def _retain(self, store: Store) -> None:
        days = self.settings.retain_days
        while not self._stop.is_set():
            try:
                removed = store.apply_retention(days)
            except Exception as exc:  # the database away: tried again at the next hour
                log.error("classroom: applying retain_days failed: %s", exc)
            else:
                if removed:
                    log.info(
                        "classroom: deleted %d message(s) older than %d days (retain_days)", removed, days
                    )
            self._stop.wait(RETENTION_EVERY)


# ---- what the API and the live feed say of a message -----------------------------------------------------------
def stamp(moment: datetime | None) -> str | None:
    """An aware time as ISO 8601 in UTC with a ``Z`` (``2026-03-01T08:30:00.123Z``)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_json(record: MessageRecord) -> dict[str, Any]:
    """A stored message as the API shows it."""
    return {
        "id": record.id,
        "conversation_id": record.conversation_id,
        "role": record.role,
        "text": record.text,
        "created": stamp(record.created),
        "sources": record.sources,
        "mode": record.mode,
        "grounded": record.grounded,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "first_token_s": record.first_token_s,
        "latency_s": record.latency_s,
        "finish_reason": record.finish_reason,
        "flags": list(record.flags),
    }


def stored_json(stored: Stored, answered: datetime) -> dict[str, Any]:
    """The live feed's event for an exchange just written: its class, conversation, student, and its two
    messages as ``message_json`` shows them."""
    x: Exchange = stored.exchange
    common = {"conversation_id": x.conversation_id, "mode": x.mode}
    question: dict[str, Any] = {
        **common,
        "id": stored.question_id,
        "role": "user",
        "text": x.question,
        "created": stamp(x.asked),
        "sources": [],
        "grounded": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "first_token_s": None,
        "latency_s": None,
        "finish_reason": None,
        "flags": sorted(x.question_flags),
    }
    answer = {
        **common,
        "id": stored.answer_id,
        "role": "assistant",
        "text": x.answer,
        "created": stamp(answered),
        "sources": x.sources,
        "grounded": x.grounded,
        "prompt_tokens": x.prompt_tokens,
        "completion_tokens": x.completion_tokens,
        "first_token_s": x.first_token_s,
        "latency_s": x.latency_s,
        "finish_reason": x.finish_reason,
        "flags": list(x.flags),
    }
    return {
        "class_id": x.class_id,
        "conversation_id": x.conversation_id,
        "student": {"id": x.student_id, "nickname": x.nickname},
        "messages": [question, answer],
    }


class LiveFeed:
    """The teachers' live views: each subscribes to one class and gets every exchange of it as it is stored.
    ``publish`` is called in the recorder's thread; each view's queue lives in its event loop."""

    CLOSED: Any = object()
    """What a view's queue gets when the feed ends (the server stops) or the view fell too far behind."""

    def __init__(self) -> None:
        self._views: dict[int, tuple[str, asyncio.Queue[Any], asyncio.AbstractEventLoop]] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._closed = False

    def subscribe(self, class_id: str) -> tuple[int, asyncio.Queue[Any]]:
        """A new view of ``class_id`` (in the running event loop): its number and its queue."""
        queue: asyncio.Queue[Any] = asyncio.Queue(LIVE_QUEUE)
        with self._lock:
            self._next += 1
            if self._closed:
                queue.put_nowait(self.CLOSED)
            else:
                self._views[self._next] = (class_id, queue, asyncio.get_running_loop())
            return self._next, queue

    def unsubscribe(self, number: int) -> None:
        with self._lock:
            self._views.pop(number, None)

    @property
    def views(self) -> int:
        """Views open now."""
        return len(self._views)

    def publish(self, stored: Stored) -> None:
        """Send ``stored`` to the views of its class (from any thread)."""
        with self._lock:
            views = [(n, q, loop) for n, (c, q, loop) in self._views.items() if c == stored.exchange.class_id]
        if not views:
            return
        event = stored_json(stored, datetime.now(UTC))
        for number, queue, loop in views:
            try:
                loop.call_soon_threadsafe(self._offer, number, queue, event)
            except RuntimeError:  # that view's loop has closed
                self.unsubscribe(number)

    def _offer(self, number: int, queue: asyncio.Queue[Any], event: Any) -> None:
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            self.unsubscribe(number)
            queue.get_nowait()  # room for the end, which the view reads after what it has
            queue.put_nowait(self.CLOSED)

    def close(self) -> None:
        """End every view (the server stops)."""
        with self._lock:
            self._closed = True
            views = list(self._views.items())
            self._views.clear()
        for _, (_, queue, loop) in views:
            # a view whose loop has closed (RuntimeError) has nothing waiting on it
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_end, queue)


def _end(queue: asyncio.Queue[Any]) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(LiveFeed.CLOSED)
