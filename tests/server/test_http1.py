"""The backend's engine client against hand-written HTTP answers: framing, keep-alive, stale connections, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from edubot_cli.server.engine.http1 import Client, ConnectFailed, ProtocolFailure, ReadTimeout
from edubot_cli.urls import engine_url
from tests.support.poll import CEILING, until

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return head + await reader.readexactly(length)


def _run(
    handler: Handler, scenario: Callable[[Client], Awaitable[object]], timeout: float = CEILING
) -> object:
    async def main() -> object:
        server, url = await _serve(handler)
        client = Client(engine_url(url), timeout=timeout)
        try:
            return await scenario(client)
        finally:
            await client.aclose()
            server.close()

    return asyncio.run(main())


def test_content_length_body_and_keep_alive() -> None:
    connections = []
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while True:
            try:
                requests.append(await _read_request(reader))
            except asyncio.IncompleteReadError:
                return
            writer.write(
                b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}'
            )

    async def scenario(client: Client) -> list[bytes]:
        bodies = []
        for _ in range(3):
            response = await client.send("POST", "/v1/x", b'{"q":1}')
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            bodies.append(await response.aread())
            await response.aclose()
        return bodies

    assert _run(handler, scenario) == [b'{"a":1}'] * 3
    assert len(connections) == 1
    assert requests[0].startswith(b"POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:")
    assert requests[0].endswith(b'Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{"q":1}')


def test_chunked_body_is_decoded_chunk_by_chunk() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"5\r\nhello\r\n")
        await writer.drain()
        writer.write(b"6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")

    async def scenario(client: Client) -> list[bytes]:
        response = await client.send("GET", "/s")
        return [chunk async for chunk in response.aiter_raw()]

    assert b"".join(_run(handler, scenario)) == b"hello world"  # type: ignore[arg-type]


def test_body_until_close() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        writer.close()

    async def scenario(client: Client) -> bytes:
        response = await client.send("GET", "/")
        return await response.aread()

    assert _run(handler, scenario) == b"all of it"


def test_stale_keep_alive_connection_is_replaced() -> None:
    served = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        served.append(1)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # closes the keep-alive connection behind the client's back

    async def scenario(client: Client) -> list[bytes]:
        out = []
        for _ in range(2):
            response = await client.send("GET", "/")
            out.append(await response.aread())
            await response.aclose()
            assert await until(
                lambda: not any(conn.usable() for conn in client._idle)
            )  # the close has arrived
        return out

    assert _run(handler, scenario) == [b"ok", b"ok"]
    assert len(served) == 2


def test_connection_refused_is_connect_failed() -> None:
    async def scenario() -> None:
        server, url = await _serve(lambda r, w: asyncio.sleep(0))
        server.close()
        await server.wait_closed()
        await Client(engine_url(url), timeout=1).send("GET", "/")

    with pytest.raises(ConnectFailed):
        asyncio.run(scenario())


def test_no_answer_in_time_is_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(60)  # an engine that does not answer

    with pytest.raises(ReadTimeout, match=r"no answer within 0\.1 s"):
        _run(handler, lambda client: client.send("GET", "/"), timeout=0.1)


def test_silence_mid_body_is_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await asyncio.sleep(60)  # an engine that stops in the middle of its answer

    async def scenario(client: Client) -> bytes:
        return await (await client.send("GET", "/")).aread()

    with pytest.raises(ReadTimeout, match=r"no data for 0\.1 s"):
        _run(handler, scenario, timeout=0.1)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.1 answer"),
        (b"", "Server disconnected without sending a response"),
        (b"HTTP/1.1 200 OK\r\nContent-Len", "connection closed in the middle of the answer's headers"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "incomplete chunked read"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", "connection closed before the end of the body"),
    ],
)
def test_broken_answers_are_protocol_failures(answer: bytes, message: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async def scenario(client: Client) -> bytes:
        return await (await client.send("GET", "/")).aread()

    with pytest.raises(ProtocolFailure, match=message):
        _run(handler, scenario)


def test_prune_closes_connections_the_engine_dropped() -> None:
    idle = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await idle.wait()
        writer.close()  # an idle keep-alive timeout on the engine's side

    async def scenario(client: Client) -> tuple[int, int]:
        response = await client.send("GET", "/")
        await response.aread()
        await response.aclose()
        before = len(client._idle)
        idle.set()
        assert await until(lambda: client._idle[0].reader.at_eof())  # the engine's close has arrived
        return before, client.prune()

    assert _run(handler, scenario) == (1, 0)
