"""Child processes on Linux: process groups (who is still alive in one, signalling all of it), termination
signals, and the local ports children and the backend listen on.

Engines and ilab each run in a process group of their own so that stopping them stops everything they started;
both stop paths use these helpers. While edubot runs one, SIGTERM and SIGHUP raise ``Terminated`` so that every
``finally`` runs and the group is stopped (without relying on the kernel's parent-death signal). Ports are chosen
(``free_port``) or bound up front (``bind_listener``) here, so that a busy port is reported before anything slow
starts.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from .errors import ConfigError


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, turned into an exception so that every ``finally`` runs and children are stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def reason(self) -> str:
        return "hangup" if self.signum == signal.SIGHUP else "terminated"


def honoured(sig: int) -> bool:
    """Whether edubot should act on ``sig``: not when it was ignored as edubot started (``nohup`` ignores SIGHUP so
    that the command outlives its terminal)."""
    return signal.getsignal(sig) is not signal.SIG_IGN


@contextmanager
def terminations_raise() -> Iterator[None]:
    """While active, SIGTERM and SIGHUP (terminal closed) raise ``Terminated`` in the main thread instead of
    ending the process without cleanup. Elsewhere than the main thread it does nothing. A signal that was ignored
    when edubot started stays ignored: ``nohup edubot serve`` survives the terminal closing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP) if honoured(sig)}
    try:
        yield
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of ``pid`` from /proc, or None if it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of group ``pgid`` (Linux, from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat[1] == pgid and stat[0] != "Z":
                members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still running (zombies do not count)."""
    # A zombie still counts for killpg(pgid, 0), and an init process that never reaps (as in some containers)
    # would keep zombies forever: on Linux, look for live members instead.
    if Path("/proc/self/stat").exists():
        return bool(group_members(pgid))
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to every process of group ``pgid``; a group that is already gone is fine."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


KILL_WAIT = 5.0
"""Seconds to wait for a group to be gone after SIGKILL."""


def wait_gone(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until the leader ``proc`` has exited (reaped) and no process of its group is left."""
    deadline = time.monotonic() + timeout
    while True:
        # Reap the leader first: a zombie still counts as a member of its group.
        if proc.poll() is not None and not group_alive(proc.pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def stop_group(
    proc: subprocess.Popen[bytes], grace: float, signals: tuple[int, ...] = (signal.SIGTERM,)
) -> None:
    """Stop the process group led by ``proc``: each of ``signals`` in turn, ``grace`` seconds apart, then
    SIGKILL; returns once the whole group is gone. A Ctrl-C while waiting kills the group at once.

    Engines get SIGTERM; ilab gets SIGINT first, on which it cleans up."""
    pgid = proc.pid
    try:
        for sig in signals:
            signal_group(pgid, sig)
            if wait_gone(proc, grace):
                return
        signal_group(pgid, signal.SIGKILL)
        wait_gone(proc, KILL_WAIT)
    except KeyboardInterrupt:
        signal_group(pgid, signal.SIGKILL)
        proc.wait()
        raise


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use_error(host: str, port: int, flag: str) -> ConfigError:
    """The error for a port someone else already holds."""
    return ConfigError(
        f"port {port} on {host} is already in use",
        hint=f"stop the program using it (`ss -ltnp 'sport = :{port}'` shows it) or choose another with {flag}",
    )


def bind_listener(host: str, port: int, flag: str) -> socket.socket:
    """A listening socket on host:port, or a ``ConfigError`` naming ``flag`` if the port is taken.

    Binding up front (instead of letting the server do it later) reports a busy port before anything slow starts
    and leaves no window for another program to take it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the listening socket's
    # proto says TCP; with proto 0 every small response would wait for the peer's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise port_in_use_error(host, port, flag) from exc
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}", hint=f"check {flag}") from exc
    sock.set_inheritable(False)
    return sock


def check_port_free(host: str, port: int, flag: str) -> None:
    """Raise a ``ConfigError`` naming ``flag`` if host:port is already taken."""
    bind_listener(host, port, flag).close()
