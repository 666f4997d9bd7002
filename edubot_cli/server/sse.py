"""Server-sent events: encoding of the /chat stream and incremental parsing of an engine's OpenAI stream."""

from __future__ import annotations

import json
from typing import Any


def event(data: Any, name: str | None = None) -> bytes:
    """One SSE event (``data`` as compact JSON unless already a string)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {text}\n\n".encode()


class LineSplitter:
    """Turns arbitrary byte chunks into complete ``data:`` payloads (other SSE fields are ignored)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        if b"\n" not in chunk:
            return []
        *lines, self._buffer = self._buffer.split(b"\n")
        out = []
        for line in lines:
            line = line.rstrip(b"\r")
            if line.startswith(b"data:"):
                out.append(line[5:].strip())
        return out
