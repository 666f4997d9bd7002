"""Launch an engine as a child process and stop it, with everything it started, whatever happens.

The engine runs in its own process group (so a terminal Ctrl-C reaches edubot, which then stops the whole group
in order), binds 127.0.0.1 on a port chosen here, and writes its output to a log file. It is started, first and
after each restart, by ``launch.launch``: the kernel ends it if edubot itself is killed outright.
"""

from __future__ import annotations

import atexit
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ..errors import ConfigError, EngineError
from ..launch import launch
from ..procgroup import stop_group
from .base import EngineSpec, Tick

POLL_INTERVAL = 0.2
"""Seconds between readiness probes."""
LOG_TAIL_LINES = 20
"""Lines of the engine log quoted when it exits early."""


def exit_reason(code: int) -> str:
    """``exited with code 3`` or ``was killed by SIGKILL`` for a ``Popen.returncode``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


def cause_hint(code: int) -> str:
    """What to do about an engine that ended with ``code`` (a ``Popen.returncode``); empty when only its log can
    tell (every engine failure names the log)."""
    if code == -signal.SIGILL:
        return (
            "SIGILL: the engine build uses instructions this CPU cannot run; rebuild it on this machine with "
            "`edubot engine build --force` (add `--cpu x86-64-v2` on a CPU without AVX2)"
        )
    if code == -signal.SIGKILL:
        return (
            "SIGKILL usually means the kernel ran out of memory (`dmesg | grep -i oom` tells); lower --parallel "
            "or --context-length, or serve a smaller model"
        )
    return ""


class _LogFollower(threading.Thread):
    """Copies new lines of the log file to a callback (``--engine-log``)."""

    def __init__(self, path: Path, emit: Callable[[str], None]) -> None:
        super().__init__(name="engine-log", daemon=True)
        self.path = path
        self.emit = emit
        self.done = threading.Event()

    def run(self) -> None:
        with self.path.open("r", encoding="utf-8", errors="replace") as stream:
            partial = ""
            while True:
                chunk = stream.readline()
                if chunk:
                    partial += chunk
                    if partial.endswith("\n"):
                        self.emit(partial.rstrip("\n"))
                        partial = ""
                    continue
                if self.done.is_set():
                    if partial:
                        self.emit(partial)
                    return
                time.sleep(0.1)


class EngineProcess:
    """One engine child process: ``start``, ``wait_ready``, ``stop`` (also on exit)."""

    def __init__(
        self,
        spec: EngineSpec,
        logs_dir: Path,
        *,
        live_log: Callable[[str], None] | None = None,
        stop_grace: float = 10.0,
    ) -> None:
        self.spec = spec
        self.logs_dir = logs_dir
        self.live_log = live_log
        self.stop_grace = stop_grace
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._log_path: Path | None = None
        self._follower: _LogFollower | None = None
        self._stopped = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def urls(self) -> list[str]:
        return [self.spec.url]

    @property
    def model(self) -> str:
        return self.spec.model

    @property
    def served_model_name(self) -> str | None:
        return self.spec.served_model_name or None

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    @property
    def pid(self) -> int | None:
        """Process id (= process group id) of the engine, once started."""
        return self._proc.pid if self._proc else None

    @property
    def api_key(self) -> str | None:
        return self.spec.api_key

    @property
    def capacity(self) -> int | None:
        return self.spec.capacity

    @property
    def health_path(self) -> str:
        return self.spec.ready_path

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("engine already started")
        try:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the logs folder {self.logs_dir}: {exc.strerror}",
                hint="check logs_dir in the config",
            ) from exc
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self._log_path = self.logs_dir / f"engine-{self.spec.name}-{stamp}-{self.spec.port}.log"
        self._launch()
        atexit.register(self.stop)
        if self.live_log is not None and self._log_path is not None:
            self._follower = _LogFollower(self._log_path, self.live_log)
            self._follower.start()

    def restart(self, reason: str) -> None:
        """Launch the engine again after it exited (same port, key and log file); ``reason`` goes in the log."""
        if self._proc is None or self._stopped:
            raise RuntimeError("only a started, not stopped engine can be restarted")
        if self._proc.poll() is None:
            raise RuntimeError("the engine is still running")
        self._kill_group()  # whatever the dead engine left behind
        self._launch(f"--- edubot: restarting the engine ({reason}) ---\n")

    def _launch(self, note: str = "") -> None:
        assert self._log_path is not None
        if self._log_file is None:
            self._log_file = self._log_path.open("ab")
        self._log_file.write(note.encode())
        try:
            self._proc = launch(
                self.spec.command, self._log_file, output_to_log=True, cwd=self.spec.cwd, env=self.spec.env
            )
        except OSError as exc:
            self._close_log()
            raise EngineError(
                f"cannot run the {self.spec.name} engine ({self.spec.command[0]}): {exc.strerror}",
                hint=self.spec.hint or "check that the engine is installed",
            ) from exc

    def poll(self) -> int | None:
        """The engine's exit code (negative: the signal that ended it), or None while it runs."""
        return self._proc.poll() if self._proc is not None else None

    def last_log_lines(self, count: int = LOG_TAIL_LINES) -> list[str]:
        """The last ``count`` lines the engine wrote."""
        if self._log_path is None or not self._log_path.exists():
            return []
        with self._log_path.open("r", encoding="utf-8", errors="replace") as stream:
            return [line.rstrip("\n") for line in deque(stream, maxlen=count)]

    def failure(self, what: str, advice: str = "") -> EngineError:
        """An ``EngineError`` saying ``what``, quoting the last log lines, with ``advice`` first in the hint."""
        lines = self.last_log_lines()
        quoted = "\n".join("  | " + line for line in lines) if lines else "  (the log is empty)"
        hints = [h for h in (advice, self.spec.hint, f"full log: {self._log_path}") if h]
        return EngineError(f"{what}; last lines of {self._log_path}:\n{quoted}", hint="; ".join(hints))

    def wait_ready(self, timeout: float, tick: Tick | None = None) -> float:
        """Poll the readiness URL until it answers 200; raise ``EngineError`` on early exit or timeout."""
        import httpx

        if self._proc is None:
            raise RuntimeError("engine not started")
        started = time.monotonic()
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                code = self._proc.poll()
                if code is not None:
                    raise self.failure(
                        f"the {self.spec.name} engine {exit_reason(code)} before it was ready",
                        advice=cause_hint(code),
                    )
                try:
                    if client.get(self.spec.ready_url).status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                elapsed = time.monotonic() - started
                if elapsed >= timeout:
                    error = self.failure(
                        f"the {self.spec.name} engine did not answer {self.spec.ready_url} within {timeout:g} s",
                        advice="raise --ready-timeout if it is still loading",
                    )
                    self._kill_group()
                    raise error
                if tick is not None:
                    tick(elapsed)
                time.sleep(POLL_INTERVAL)

    def running(self) -> bool:
        """Whether the engine process is still alive."""
        return self._proc is not None and self._proc.poll() is None

    def check_alive(self) -> None:
        if self._proc is None or self._stopped:
            return
        code = self._proc.poll()
        if code is not None:
            raise self.failure(
                f"the {self.spec.name} engine {exit_reason(code)} unexpectedly", advice=cause_hint(code)
            )

    def stop(self) -> None:
        if self._proc is None or self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            self._kill_group()
        finally:
            self._close_log()

    def _kill_group(self) -> None:
        """SIGTERM to the engine's process group, SIGKILL after ``stop_grace`` seconds; waits until it is gone."""
        if self._proc is not None:
            stop_group(self._proc, self.stop_grace)

    def _close_log(self) -> None:
        if self._follower is not None:
            self._follower.done.set()
            self._follower.join(timeout=2.0)
            self._follower = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
