"""Small helpers for the backend tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx


def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """(event name, decoded data) for every event of an SSE response; the name defaults to ``message``."""
    return list(iter_sse_events(response))


def chat_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """The events of a /chat stream after its first, which must be ``started`` with the response's request id
    (``X-Request-ID``)."""
    events = sse_events(response)
    assert events[:1] == [("message", {"started": {"id": response.headers["x-request-id"]}})]
    return events[1:]


def started_line(response: httpx.Response) -> str:
    """The first line of a /chat stream: its ``started`` event, with the response's request id."""
    return "data: " + json.dumps({"started": {"id": response.headers["x-request-id"]}}, separators=(",", ":"))


def iter_sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """``sse_events`` one at a time, as they arrive."""
    name = "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]
            yield name, data if data == "[DONE]" else json.loads(data)
            name = "message"


def raw_request(
    port: int, method: str, path: str, body: bytes, headers: dict[str, str] | None = None
) -> bytes:
    """The bytes of an HTTP/1.1 request (for tests that hold or cut the socket themselves)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {"Content-Type": "application/json"}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
