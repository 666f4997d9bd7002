"""``edubot eval --local``: the embedded engine, started as ``edubot chat --local`` starts it, behind a backend of
its own in a thread (``serving.backend_in_thread``), for the duration of a ``with`` block.

The backend is the real one, with its grounding index on the given taxonomy and holdout, so the answers are
scored exactly as ``edubot serve`` would give them. Both are stopped however the block ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from ..config import Settings


@contextlib.contextmanager
def local_backend(settings: Settings, taxonomy: Path, holdout: int, status: Console) -> Iterator[str]:
    """The URL of a backend in front of the embedded engine, grounding on ``taxonomy`` with ``holdout``."""
    from ..chat.runner import ChatOptions, chat_target
    from ..server.upstream import Upstream
    from ..serving import backend_in_thread

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
        with backend_in_thread(backend_settings, upstream) as url:
            yield url
