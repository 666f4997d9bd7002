"""A small keep-alive HTTP/1.1 client for the backend's engine connections (asyncio streams).

The engines are local or trusted OpenAI-compatible servers (HTTP, or HTTPS verified against the system's
certificate authorities; ``urls.engine_url`` holds the URL rules), and the backend only sends small JSON
bodies and reads JSON or SSE answers, so a focused client is enough, and it is several times cheaper per request
than a general one whose connection pool re-checks every idle socket on every request. Bodies with
``Content-Length``, ``Transfer-Encoding: chunked`` and read-until-close are supported; each read waits at most
``timeout`` seconds. A request that fails on a reused keep-alive connection before any byte of the answer arrived
is sent once more on a fresh connection (the engine closed the idle connection; it never saw the request).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

from ...urls import EngineURL

MAX_IDLE = 256  # idle keep-alive connections kept per engine
MAX_LINE = 65536


class UpstreamError(Exception):
    """Base of the client's errors."""


class ConnectFailed(UpstreamError):
    """No connection could be made: the engine never saw the request."""


class TLSFailed(ConnectFailed):
    """The TLS handshake failed (an untrusted or mismatched certificate): the engine never saw the request."""


class ReadTimeout(UpstreamError):
    """The engine sent nothing for ``timeout`` seconds."""


class ProtocolFailure(UpstreamError):
    """The engine closed the connection or sent something that is not HTTP/1.1."""


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


class Response:
    """An answer whose body is read with ``aread`` or ``aiter_raw`` (decoded from chunked framing)."""

    def __init__(
        self,
        client: Client,
        conn: _Connection,
        status_code: int,
        headers: dict[str, str],
        timeout: float,
        head_only: bool = False,
    ) -> None:
        self._client = client
        self._conn: _Connection | None = conn
        self.status_code = status_code
        self.headers = headers
        self._timeout = timeout
        self._done = head_only
        encoding = headers.get("transfer-encoding", "").lower()
        self._chunked = "chunked" in encoding
        length = headers.get("content-length")
        self._remaining = (
            int(length) if length is not None and length.isdigit() and not self._chunked else None
        )
        self._keep_alive = headers.get("connection", "").lower() != "close" and (
            self._chunked or self._remaining is not None
        )
        if self._remaining == 0 or status_code in (204, 304) or status_code < 200:
            self._done = True
            self._keep_alive = self._keep_alive or status_code in (204, 304)

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_raw()])

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None or self._done:
            return
        reader = conn.reader
        try:
            if self._chunked:
                while True:
                    size_line = await self._read(reader.readuntil(b"\r\n"))
                    try:
                        size = int(size_line.split(b";", 1)[0].strip(), 16)
                    except ValueError as exc:
                        raise ProtocolFailure(f"bad chunk size {size_line[:20]!r}") from exc
                    if size == 0:
                        while await self._read(reader.readuntil(b"\r\n")) != b"\r\n":
                            pass  # trailers
                        break
                    data = await self._read(reader.readexactly(size + 2))
                    yield data[:-2]
            elif self._remaining is not None:
                while self._remaining > 0:
                    data = await self._read(reader.read(min(self._remaining, 65536)))
                    if not data:
                        raise ProtocolFailure("connection closed before the end of the body")
                    self._remaining -= len(data)
                    yield data
            else:
                while data := await self._read(reader.read(65536)):
                    yield data
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
            raise ProtocolFailure(
                "peer closed connection without sending complete message body (incomplete chunked read)"
                if self._chunked
                else f"connection broken while reading the body: {exc}"
            ) from exc
        self._done = True

    async def _read(self, awaitable: object) -> bytes:
        try:
            async with asyncio.timeout(self._timeout):
                return await awaitable  # type: ignore[misc]
        except TimeoutError as exc:
            raise ReadTimeout(f"no data for {self._timeout:g} s") from exc

    async def aclose(self) -> None:
        """Give the connection back to the pool when the body was read in full; close it otherwise."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and self._keep_alive and conn.usable():
            self._client._release(conn)
        else:
            conn.close()


class Client:
    """Keep-alive connections to one ``http://host:port`` base."""

    def __init__(
        self,
        url: EngineURL,
        timeout: float,
        connect_timeout: float = 10.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.host = url.host
        self.port = url.port
        self.prefix = url.path
        self._tls = ssl.create_default_context() if url.tls else None
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._host_header = f"{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}".encode()
        self._extra_headers = b"".join(
            f"{name}: {value}\r\n".encode("latin-1") for name, value in (headers or {}).items()
        )
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    self.host,
                    self.port,
                    limit=MAX_LINE,
                    ssl=self._tls,
                    server_hostname=self.host if self._tls else None,
                )
        except ssl.SSLError as exc:
            raise TLSFailed(exc.reason or str(exc)) from exc
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        return _Connection(reader, writer)

    def prune(self) -> int:
        """Close idle connections the engine has closed on its side; returns how many are left."""
        keep = []
        for conn in self._idle:
            if conn.usable():
                keep.append(conn)
            else:
                conn.close()
        self._idle = keep
        return len(keep)

    def _release(self, conn: _Connection) -> None:
        if len(self._idle) < MAX_IDLE:
            self._idle.append(conn)
        else:
            conn.close()

    def _request_bytes(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None = None
    ) -> bytes:
        head = b"%s %s%s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n%s" % (
            method.encode(),
            self.prefix.encode(),
            path.encode(),
            self._host_header,
            self._extra_headers,
        )
        if headers:
            head += b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items())
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        return head + b"\r\n" + (body or b"")

    async def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
        sent: Callable[[], Awaitable[None]] | None = None,
    ) -> Response:
        """Send a request (with ``headers`` besides the client's own) and return once the status line and headers
        have arrived. ``sent()`` is awaited each time the request has been written on a connection, before its
        answer is awaited (more than once when an idle connection turns out to be closed)."""
        payload = self._request_bytes(method, path, body, headers)
        timeout = self.timeout if timeout is None else timeout
        while self._idle:
            conn = self._idle.pop()
            if not conn.usable():
                conn.close()
                continue
            try:
                return await self._exchange(conn, method, payload, timeout, sent)
            except _Stale:
                conn.close()  # closed by the engine while idle: try the next one
        conn = await self._connect()
        try:
            return await self._exchange(conn, method, payload, timeout, sent)
        except _Stale as exc:
            raise ProtocolFailure("Server disconnected without sending a response.") from exc

    async def _exchange(
        self,
        conn: _Connection,
        method: str,
        payload: bytes,
        timeout: float,
        sent: Callable[[], Awaitable[None]] | None = None,
    ) -> Response:
        try:
            conn.writer.write(payload)  # buffered: a lost connection shows when the answer is read
            if sent is not None:
                await sent()  # the caller's own work (telling its client): not a failure of the exchange
        except BaseException:
            conn.close()
            raise
        try:
            try:
                async with asyncio.timeout(timeout):
                    head = await conn.reader.readuntil(b"\r\n\r\n")
            except TimeoutError as exc:
                conn.close()
                raise ReadTimeout(f"no answer within {timeout:g} s") from exc
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                conn.close()
                raise ProtocolFailure("connection closed in the middle of the answer's headers") from exc
            raise _Stale from exc
        except asyncio.LimitOverrunError as exc:
            conn.close()
            raise ProtocolFailure("the answer's headers are too large") from exc
        except BaseException:
            conn.close()  # cancelled (client gone) or anything else: the connection's state is unknown
            raise
        status_line, _, head = head.partition(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            conn.close()
            raise ProtocolFailure(f"not an HTTP/1.1 answer: {status_line[:40]!r}")
        headers: dict[str, str] = {}
        for line in head.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if sep:
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        return Response(self, conn, int(parts[1]), headers, timeout, head_only=method == "HEAD")

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
            with contextlib.suppress(ConnectionError):
                await conn.writer.wait_closed()


class _Stale(Exception):
    """The connection failed before any byte of the answer (internal: triggers one fresh attempt)."""
