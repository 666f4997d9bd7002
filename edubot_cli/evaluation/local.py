"""``edubot eval --local``: the embedded engine behind a backend of its own, as ``edubot chat --local`` starts
them (``chat.runner.chat_target``), grounding on the given taxonomy and holdout, for a ``with`` block.

The backend is the real one, so the answers are scored exactly as ``edubot serve`` would give them. Both are
stopped however the block ends.
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

    local = settings.model_copy(update={"taxonomy_path": taxonomy, "grounding_holdout": holdout})
    with chat_target(local, ChatOptions(local=True), status) as target:
        yield target.url
