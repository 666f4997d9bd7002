"""Run an ASGI app under uvicorn in a background thread on 127.0.0.1 (a free port, or a fixed one to restart)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from .poll import CEILING


class ServerThread:
    """uvicorn serving ``app`` from a daemon thread; ``start`` returns once the socket accepts connections."""

    def __init__(self, app: Any, port: int = 0, name: str = "asgi-server") -> None:
        self.app = app
        self.port = port
        self.name = name
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = CEILING) -> None:
        import uvicorn

        if self.running:
            return
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
        # small writes wait for delayed ACKs (~40 ms per request).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="auto",
            loop="asyncio",
            http="h11",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self.name} failed to start on port {self.port}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not start within {timeout} s")
            time.sleep(0.01)
        self._sock = sock

    def stop(self, abrupt: bool = False) -> None:
        """Stop serving; ``abrupt`` drops open connections at once (an engine crashing) instead of draining."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        if abrupt:
            self._server.force_exit = True
        self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._server = None
        self._thread = None


class _DropFilter(logging.Filter):
    """Hide the tracebacks of connections the stub drops on purpose."""

    def __init__(self, exc_type: type[BaseException]) -> None:
        super().__init__()
        self.exc_type = exc_type

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, self.exc_type)


def hide_logged(exc_type: type[BaseException]) -> None:
    """Keep uvicorn from logging tracebacks for ``exc_type`` (raised deliberately to drop a connection)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) and f.exc_type is exc_type for f in logger.filters):
        logger.addFilter(_DropFilter(exc_type))
