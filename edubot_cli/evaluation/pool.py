"""Jobs done by a few threads at once, in the caller's order of results, with Ctrl-C keeping what was finished.

``run_jobs(jobs, work, concurrency=N)`` starts N daemon threads that take the jobs in order and call
``work(job, stop)``; the calling thread collects the results. A ``KeyboardInterrupt`` in the calling thread (Ctrl-C,
SIGTERM as ``procgroup.Terminated``, or one raised by ``on_done``) stops the run: no new job starts, whatever the workers registered with
``stop.closing`` (their open answer streams) is closed so that they return at once, and the results finished so
far come back with ``interrupted`` set; a later result is dropped. The workers are daemon threads and are not
waited for, so a second Ctrl-C, arriving while the caller winds down, ends the program at once. An exception
from ``work`` stops the run the same way and is raised in the calling thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

J = TypeVar("J")
R = TypeVar("R")

POLL_SECONDS = 0.5
"""How long the calling thread blocks on the results at a time (a wait Ctrl-C can always break into)."""


class Closeable(Protocol):
    def close(self) -> None: ...


class Stop:
    """Set once the run stops early; closes what the workers registered so that they return."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._open: list[Closeable] = []

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        with self._lock:
            self._event.set()
            things, self._open = self._open, []
        for thing in things:
            with contextlib.suppress(Exception):
                thing.close()

    @contextlib.contextmanager
    def closing(self, thing: Closeable) -> Iterator[None]:
        """Close ``thing`` when the run stops while the ``with`` block runs (at once if it already has)."""
        with self._lock:
            stopped = self._event.is_set()
            if not stopped:
                self._open.append(thing)
        if stopped:
            thing.close()
        try:
            yield
        finally:
            with self._lock:
                if thing in self._open:
                    self._open.remove(thing)


@dataclass
class Finished(Generic[R]):
    """The results by job index, and the interruption (Ctrl-C, or SIGTERM as ``procgroup.Terminated``) that
    stopped the run before every job was done."""

    results: dict[int, R] = field(default_factory=dict)
    interrupted: KeyboardInterrupt | None = None


def run_jobs(
    jobs: Sequence[J],
    work: Callable[[J, Stop], R],
    *,
    concurrency: int,
    on_done: Callable[[int, R], None] | None = None,
) -> Finished[R]:
    """Do ``jobs`` with ``concurrency`` threads (see the module doc); ``on_done(index, result)`` is called in the
    calling thread as each result comes in."""
    pending: queue.SimpleQueue[tuple[int, J]] = queue.SimpleQueue()
    for index, job in enumerate(jobs):
        pending.put((index, job))
    results: queue.Queue[tuple[int, R | None, BaseException | None]] = queue.Queue()
    stop = Stop()

    def worker() -> None:
        while not stop.is_set():
            try:
                index, job = pending.get_nowait()
            except queue.Empty:
                return
            try:
                outcome: tuple[int, R | None, BaseException | None] = (index, work(job, stop), None)
            except BaseException as exc:  # handed to the calling thread, which stops the run
                outcome = (index, None, exc)
            if stop.is_set():
                return
            results.put(outcome)

    finished: Finished[R] = Finished()
    for n in range(max(1, min(concurrency, len(jobs)))):
        threading.Thread(target=worker, name=f"edubot-job-{n}", daemon=True).start()
    try:
        while len(finished.results) < len(jobs):
            try:
                index, value, error = results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if error is not None:
                stop.set()
                raise error
            finished.results[index] = value  # type: ignore[assignment]
            if on_done is not None:
                on_done(index, value)  # type: ignore[arg-type]
    except KeyboardInterrupt as exc:
        stop.set()
        finished.interrupted = exc
    return finished
