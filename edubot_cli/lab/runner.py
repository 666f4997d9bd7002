"""Run one ``ilab`` command: its own process group, live output with elapsed time, a full log, signal handling.

ilab starts helpers of its own (a llama-cpp server for the teacher, dataset worker processes), so it runs in a
new session (``launch.launch``, which also ends it if edubot is killed outright): Ctrl-C (SIGINT) or SIGTERM to
edubot is forwarded to ilab's whole process group, escalating to SIGKILL if the group has not gone after a grace
period, and nothing is left behind.
"""

from __future__ import annotations

import os
import re
import select
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LabError
from ..launch import launch
from ..procgroup import Terminated, group_alive, stop_group, terminations_raise

Line = Callable[[str, float], None]
"""Called with each line ilab prints (carriage-return progress updates count as lines) and the seconds elapsed."""

ILAB_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""ilab cleans up on SIGINT; SIGTERM next, then SIGKILL (``procgroup.stop_group``)."""
STOP_GRACE = 10.0
"""Seconds ilab gets to stop after SIGINT (then SIGTERM, then the same again before SIGKILL)."""
TAIL_LINES = 200
"""Lines of output kept in memory for explanations (the full output is in the log)."""
POLL_INTERVAL = 0.2
"""Seconds between checks that ilab is still running while it prints nothing."""
_NEWLINE = re.compile(rb"\r\n|\r|\n")


@dataclass
class Outcome:
    """How one ilab run ended."""

    exit_code: int
    """ilab's exit code; 128 + N when it was stopped by signal N (or when edubot was and stopped it)."""
    seconds: float
    log_path: Path
    tail: list[str] = field(default_factory=list)
    """The last lines of output."""
    interrupted: int | None = None
    """The signal (SIGINT / SIGTERM) that made edubot stop ilab, if any."""


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _split_lines(buffer: bytearray) -> list[bytes]:
    """Pop the complete lines (ended by \\n or \\r, as tqdm's progress updates are) off ``buffer``."""
    last = max(buffer.rfind(b"\n"), buffer.rfind(b"\r"))
    if last < 0:
        return []
    done = bytes(buffer[:last])
    del buffer[: last + 1]
    return _NEWLINE.split(done)


def run(
    argv: Sequence[str],
    *,
    log_path: Path,
    on_line: Line | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    grace: float = STOP_GRACE,
    shown: Sequence[str] | None = None,
) -> Outcome:
    """Run ``argv`` to the end; never raises for ilab's own failure (see ``Outcome.exit_code``). The log starts
    with ``shown`` (``argv`` with secrets masked), or ``argv`` itself.

    On Ctrl-C or SIGTERM the process group is stopped and the outcome says which signal (``interrupted``).
    """
    emit = on_line or (lambda text, elapsed: None)
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("wb")
    except OSError as exc:
        raise LabError(
            f"cannot write the log file {log_path}: {exc.strerror}", hint="check logs_dir in the config"
        ) from exc
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    started = time.monotonic()
    with log:
        try:
            proc = launch(argv, log, shown=shown, cwd=cwd, env={"PYTHONUNBUFFERED": "1", **(env or {})})
        except OSError as exc:
            raise LabError(
                f"cannot run {argv[0]}: {exc.strerror}", hint="check the `ilab_path` setting"
            ) from exc
        assert proc.stdout is not None
        interrupted: int | None = None
        pending = bytearray()
        try:
            with terminations_raise():
                fd = proc.stdout.fileno()
                while True:
                    ready, _, _ = select.select([fd], [], [], POLL_INTERVAL)
                    if not ready:
                        if proc.poll() is not None:
                            break  # ilab is gone; a helper it left behind may still hold the pipe open
                        continue
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    log.write(chunk)
                    log.flush()
                    pending += chunk
                    for raw in _split_lines(pending):
                        text = raw.decode("utf-8", errors="replace")
                        if text.strip():
                            tail.append(text)
                            emit(text, time.monotonic() - started)
                if pending.strip():
                    text = pending.decode("utf-8", errors="replace")
                    tail.append(text)
                    emit(text, time.monotonic() - started)
                returncode = proc.wait()
        except Terminated as stop:
            interrupted = stop.signum
        except KeyboardInterrupt:
            interrupted = signal.SIGINT
        if interrupted is not None:
            stop_group(proc, grace, ILAB_STOP_SIGNALS)
            returncode = proc.returncode
            note = f"\n[edubot] stopped ilab's process group after {signal.Signals(interrupted).name}\n"
            log.write(note.encode())
        else:
            # ilab is done; anything it left in its group (a teacher server, workers) goes with it.
            if group_alive(proc.pid):
                stop_group(proc, grace, ILAB_STOP_SIGNALS)
        proc.stdout.close()
    exit_code = 128 + interrupted if interrupted is not None else _exit_code(returncode)
    return Outcome(
        exit_code=exit_code,
        seconds=time.monotonic() - started,
        log_path=log_path,
        tail=list(tail),
        interrupted=interrupted,
    )
