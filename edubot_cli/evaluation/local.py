"""``edubot eval --local``: the embedded engine, started as ``edubot chat --local`` starts it, behind a backend of
its own served from a thread on 127.0.0.1 (a free port), for the duration of a ``with`` block.

The backend is the real one (``create_app``), with its grounding index on the given taxonomy and holdout, so the
answers are scored exactly as ``edubot serve`` would give them. Both are stopped however the block ends.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import EdubotError

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from ..config import Settings

START_TIMEOUT = 60.0
"""Seconds the backend may take to start (its grounding index is built at start)."""


@contextlib.contextmanager
def _serve_in_thread(app: Any) -> Iterator[str]:
    """``app`` under uvicorn in a daemon thread on 127.0.0.1:<free port>; yields its URL, stops it on exit."""
    import uvicorn

    from ..procgroup import bind_listener

    sock = bind_listener("127.0.0.1", 0, "--local")
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="eval-backend", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise EdubotError(
                    "the local backend failed to start", hint="rerun with EDUBOT_DEBUG=1 for details"
                )
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@contextlib.contextmanager
def local_backend(settings: Settings, taxonomy: Path, holdout: int, status: Console) -> Iterator[str]:
    """The URL of a backend in front of the embedded engine, grounding on ``taxonomy`` with ``holdout``."""
    from ..chat.runner import ChatOptions, chat_target
    from ..server.upstream import Upstream
    from ..serving import _backend_factory

    create_app = _backend_factory()
    with chat_target(settings, ChatOptions(local=True), status) as engine:
        backend_settings = settings.model_copy(
            update={
                "taxonomy_path": taxonomy,
                "grounding_holdout": holdout,
                "api_key": None,
                "rate_limit_per_minute": 0,
                "host": "127.0.0.1",
            }
        )
        upstream = Upstream([engine.url], "llama-cpp", api_key=engine.api_key, capacity=1)
        status.print("[dim]starting a local backend in front of it…[/]")
        with _serve_in_thread(create_app(backend_settings, upstream)) as url:
            yield url
