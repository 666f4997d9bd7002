"""The one way edubot starts a child process (an engine, ilab, the llama-server build): ``launch``.

Each child gets its command line written to its log first, runs in a process group of its own (a new session, so
a terminal's Ctrl-C reaches edubot, which then stops the whole group in order: ``procgroup.stop_group``), and
dies with edubot even when edubot is killed outright (SIGKILL: no cleanup of edubot's runs).

The last part is the kernel's parent-death signal (Linux ``PR_SET_PDEATHSIG``), which fires when the *thread* that
forked the child ends, not the process. So every child is forked by one daemon thread that lives exactly as long
as edubot's process: a child started from the main thread, from the engine supervisor's thread or from any other
gets the same guarantee, a restarted engine included.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO

from .procgroup import signal_group

Child = subprocess.Popen[bytes]
Start = Callable[[], Child]
DEATH_SIGNAL = signal.SIGTERM
"""What the kernel sends a child when edubot's process ends."""
_PR_SET_PDEATHSIG = 1


def _death_signal_hook() -> Callable[[], None] | None:
    """A pre-exec hook (run in the child between fork and exec) that asks the kernel for ``DEATH_SIGNAL`` when the
    forking thread ends, and ends the child at once if edubot is already gone (it died between fork and hook).
    None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return None
    prctl = ctypes.CDLL(name, use_errno=True).prctl
    parent = os.getpid()
    sig = int(DEATH_SIGNAL)

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(128 + sig)

    return set_death_signal


class _Forker:
    """The daemon thread that forks every child: it lives as long as edubot's process (see the module doc)."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Start, Future[Child]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _serve(self) -> None:
        while True:
            start, future = self._requests.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(start())
            except BaseException as exc:  # handed to the caller's thread
                future.set_exception(exc)

    def run(self, start: Start) -> Child:
        """``start()`` run on the forking thread; its result or exception in the calling thread."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="edubot-child-launcher", daemon=True)
                self._thread.start()
        if threading.current_thread() is self._thread:
            return start()
        future: Future[Child] = Future()
        self._requests.put((start, future))
        try:
            return future.result()
        except BaseException:
            # Ctrl-C while the child was being started: it must not outlive the interrupted caller.
            if not future.cancel():
                child = future.result() if future.exception() is None else None
                if child is not None:
                    signal_group(child.pid, signal.SIGKILL)
                    child.wait()
            raise

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread


_FORKER = _Forker()


def forking_thread() -> threading.Thread | None:
    """The thread every child is forked from (None before the first launch)."""
    return _FORKER.thread


def command_line(argv: Sequence[str]) -> str:
    """``argv`` as one shell-like line (what logs show after ``$ ``)."""
    return subprocess.list2cmdline(list(argv))


def launch(
    argv: Sequence[str],
    log: IO[bytes],
    *,
    shown: Sequence[str] | None = None,
    output_to_log: bool = False,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Child:
    """Start ``argv`` as described in the module doc, after writing ``$ <command line>`` to ``log`` (``shown``, the
    command with secrets masked, instead of ``argv`` when given).

    Its stdout and stderr go together into ``log`` with ``output_to_log``, else into a pipe (``proc.stdout``) for
    the caller to read. ``env`` is added to edubot's own environment; stdin is /dev/null. An ``OSError`` (no such
    program, not executable) is the caller's to explain.
    """
    log.write(("$ " + command_line(shown or argv) + "\n").encode())
    log.flush()
    hook = _death_signal_hook()
    command = list(argv)
    environment = {**os.environ, **(env or {})}

    def start() -> Child:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log if output_to_log else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=environment,
            start_new_session=True,
            preexec_fn=hook,  # only calls prctl (and getppid) between fork and exec
        )

    return _FORKER.run(start)
