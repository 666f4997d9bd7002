"""`edubot serve` as a real subprocess: the installed command, and waiting for it to answer."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

EDUBOT = Path(sys.executable).with_name("edubot")


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
