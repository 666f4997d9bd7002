"""`edubot serve` as a real subprocess: the installed command, and waiting for it to answer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx

EDUBOT = Path(sys.executable).with_name("edubot")


def serve_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """This environment without the caller's ``EDUBOT_*`` settings, logging under ``tmp_path``, no rate limit,
    moderation and the scope check off (as ``live_backend.isolated_settings``: these tests follow the engine's
    deltas one by one; a test of moderation turns it on), a wide terminal; plus ``settings``
    (``EDUBOT_SHUTDOWN_GRACE="5"``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env |= {
        "EDUBOT_LOGS_DIR": str(tmp_path / "logs"),
        "EDUBOT_RATE_LIMIT_PER_MINUTE": "0",
        "EDUBOT_MODERATION": "false",
        "EDUBOT_SCOPE": "off",
        "COLUMNS": "200",
    }
    return env | settings


def start_serve(
    port: int,
    *args: str,
    cwd: Path,
    env: dict[str, str],
    sink: IO[str],
    preexec_fn: Callable[[], Any] | None = None,
) -> subprocess.Popen[str]:
    """``edubot serve --port PORT ARGS...`` in ``cwd``, its output (stdout and stderr) to ``sink``."""
    return subprocess.Popen(
        [str(EDUBOT), "serve", "--port", str(port), *args],
        cwd=cwd,
        env=env,
        stdout=sink,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=preexec_fn,
    )


def wait_healthy(url: str, proc: subprocess.Popen[Any], timeout: float = 180.0) -> None:
    """Until ``url``/health answers 200; fails if ``proc`` exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "edubot serve exited early"
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url}/health never answered 200")
