"""Raw-socket helpers for tests of what the server does to a connection."""

from __future__ import annotations

import socket
import time


def read_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection (``b""``) or resets it; fails at
    ``deadline`` (a ``time.monotonic()`` value)."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"the connection is still open; got {data!r}"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        except TimeoutError:
            continue
        if not chunk:
            return data
        data += chunk
