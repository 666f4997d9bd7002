"""Server-sent events: encoding of the /chat stream (``event``) and the one splitter of an engine's stream into its
lines (``EventLines``)."""

from __future__ import annotations

import json
from typing import Any


def event(data: Any, name: str | None = None) -> bytes:
    """One SSE event (``data`` as compact JSON unless already a string)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {text}\n\n".encode()


class EventLines:
    """Complete SSE lines of an engine's stream from arbitrary byte chunks: ``(b"data", payload)`` for ``data:``
    lines and ``(b"error", payload)`` for the ``error:`` lines llama.cpp uses for an error after its stream started;
    other lines (comments, ``event:``, ``id:``) are skipped."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[bytes, bytes]]:
        self._buffer += chunk
        if b"\n" not in chunk:
            return []
        *lines, self._buffer = self._buffer.split(b"\n")
        out = []
        for line in lines:
            field, colon, value = line.rstrip(b"\r").partition(b":")
            if colon and field in (b"data", b"error"):
                out.append((field, value.strip()))
        return out
