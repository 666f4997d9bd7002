"""Who a request comes from (trusted proxies and X-Forwarded-For), and the lockout after repeated wrong API keys."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from edubot_cli.errors import ConfigError
from edubot_cli.server.edge.client_address import ClientResolver, parse_networks
from edubot_cli.server.edge.throttles import AuthFailures, RateLimiter
from tests.support.live_backend import LiveBackend
from tests.support.poll import eventually
from tests.support.stub_engine import StubEngine

MakeBackend = Callable[..., LiveBackend]
CHAT = {"message": "hello"}


def chat(backend: LiveBackend, **headers: str) -> httpx.Response:
    return httpx.post(f"{backend.url}/chat", json=CHAT, headers=headers)


# ---- X-Forwarded-For ----------------------------------------------------------------------------------------
def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    # The probe of the issue: a new X-Forwarded-For per request got a new rate-limit bucket every time. (uvicorn
    # itself trusts the header from 127.0.0.1 unless told otherwise; the guard reads the connection's peer.)
    backend = live_backend({"rate_limit_per_minute": 2}, [stub_engine.url])
    statuses = [chat(backend, **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(1, 4)]
    assert statuses == [200, 200, 429]
    assert len(stub_engine.requests) == 2
    r = chat(backend, **{"X-Forwarded-For": "198.51.100.7"})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "30"


def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(
        {"rate_limit_per_minute": 2, "trusted_proxies": ["127.0.0.0/8", "10.0.0.0/8"]}, [stub_engine.url]
    )
    alice = {"X-Forwarded-For": "203.0.113.1"}
    bob = {"X-Forwarded-For": "203.0.113.2, 10.1.2.3"}  # through a second trusted proxy
    assert [chat(backend, **alice).status_code for _ in range(3)] == [200, 200, 429]
    assert [chat(backend, **bob).status_code for _ in range(3)] == [200, 200, 429]
    # Alice writing a made-up address in front does not make her someone else: her proxy appended the real one.
    assert chat(backend, **{"X-Forwarded-For": "198.51.100.9, 203.0.113.1"}).status_code == 429
    # The proxy's own requests (no header) are the proxy's.
    assert chat(backend).status_code == 200
    assert len(stub_engine.requests) == 5


def test_a_bad_trusted_proxies_entry_is_a_config_error(stub_engine: StubEngine) -> None:
    with pytest.raises(ConfigError) as err:
        LiveBackend({"trusted_proxies": ["10.0.0.0/8", "proxy.local"]}, [stub_engine.url])
    assert err.value.message == "trusted_proxies: not an IP address or network: 'proxy.local'"


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("192.0.2.1", [], "192.0.2.1"),
        ("192.0.2.1", ["203.0.113.5"], "192.0.2.1"),  # peer not trusted: header ignored
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["203.0.113.5"], "203.0.113.5"),
        ("10.0.0.2", ["1.1.1.1, 203.0.113.5"], "203.0.113.5"),  # the left part is the client's own writing
        ("10.0.0.2", ["1.1.1.1, 203.0.113.5, 10.9.9.9"], "203.0.113.5"),  # right-most not trusted
        ("10.0.0.2", ["1.1.1.1", "203.0.113.5"], "203.0.113.5"),  # several header lines: in order
        ("10.0.0.2", ["203.0.113.5:4711"], "203.0.113.5"),  # a port some proxies add
        ("10.0.0.2", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("10.0.0.2", ["10.0.0.7, 10.0.0.8"], "10.0.0.7"),  # trusted all the way: the left-most
        ("10.0.0.2", ["203.0.113.5, nonsense"], "10.0.0.2"),  # not an address: stop at the last trusted hop
        ("10.0.0.2", ["203.0.113.5, 10.0.0.3, "], "10.0.0.2"),
        ("::ffff:10.0.0.2", ["203.0.113.5"], "203.0.113.5"),  # IPv4-mapped peer of a dual-stack socket
        ("::1", ["203.0.113.5"], "::1"),
        (None, ["203.0.113.5"], "unknown"),
    ],
)
def test_client_resolution(peer: str | None, forwarded: list[str], client: str) -> None:
    resolver = ClientResolver(parse_networks(["10.0.0.0/8", "2001:db8:ffff::1"]))
    assert resolver.client(peer, forwarded) == client


def test_no_trusted_proxies_means_the_peer_always() -> None:
    assert ClientResolver(()).client("127.0.0.1", ["203.0.113.5"]) == "127.0.0.1"


# ---- wrong API keys -----------------------------------------------------------------------------------------
def test_wrong_keys_lock_the_client_out(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({"api_key": "s3cret", "auth_failures_per_minute": 3}, [stub_engine.url])
    wrong = [chat(backend, Authorization=f"Bearer guess{n}") for n in range(3)]
    assert [r.status_code for r in wrong] == [401, 401, 401]
    r = chat(backend, Authorization="Bearer guess4")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "60"
    assert r.json() == {
        "error": {
            "code": "too_many_auth_failures",
            "message": "too many wrong API keys from your address (3 per minute, auth_failures_per_minute); "
            "retry in 60 s",
        }
    }
    # The right key does not open the door during the lockout (or the lockout would tell a guess that is right),
    # and the other protected paths are closed too; the open ones stay open.
    assert chat(backend, Authorization="Bearer s3cret").status_code == 429
    assert (
        httpx.get(f"{backend.url}/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 429
    )
    assert httpx.get(f"{backend.url}/health").status_code == 200
    assert stub_engine.requests == []
    stats = backend.app.state.backend.metrics.snapshot()
    assert stats["rejected"] == {"401": 3, "429": 3}


def test_a_missing_key_is_not_a_wrong_one(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    # A page on another site can make the browser send requests without a preflight, but never with an
    # Authorization header: those must not lock the user out.
    backend = live_backend({"api_key": "s3cret", "auth_failures_per_minute": 2}, [stub_engine.url])
    assert [chat(backend).status_code for _ in range(5)] == [401] * 5
    assert chat(backend, Authorization="Bearer s3cret").status_code == 200


def test_lockouts_are_per_client(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend(
        {"api_key": "s3cret", "auth_failures_per_minute": 1, "trusted_proxies": ["127.0.0.1"]},
        [stub_engine.url],
    )
    mallory = {"X-Forwarded-For": "203.0.113.66"}
    assert chat(backend, Authorization="Bearer nope", **mallory).status_code == 401
    assert chat(backend, Authorization="Bearer s3cret", **mallory).status_code == 429
    assert (
        chat(backend, Authorization="Bearer s3cret", **{"X-Forwarded-For": "203.0.113.1"}).status_code == 200
    )


def test_auth_failures_window_slides() -> None:
    now = [1000.0]
    failures = AuthFailures(3, clock=lambda: now[0])
    for step in (0.0, 10.0, 20.0):
        now[0] += step
        assert failures.locked("a") == 0.0
        failures.fail("a")
    assert failures.locked("a") == pytest.approx(60.0 - 30.0)  # until the first failure is a minute old
    assert failures.locked("b") == 0.0
    now[0] += 30.0
    assert failures.locked("a") == 0.0
    failures.fail("a")  # the first one has left the window: two within the minute, then this one
    assert failures.locked("a") == pytest.approx(10.0)
    now[0] += 10.0
    assert failures.locked("a") == 0.0


def test_auth_failures_memory_is_bounded() -> None:
    now = [0.0]
    failures = AuthFailures(2, clock=lambda: now[0])
    failures.MAX_CLIENTS = 3
    for client in "abc":
        failures.fail(client)
    now[0] += 61  # every failure so far has left the window
    failures.fail("d")
    assert set(failures._failures) == {"d"}
    for client in "efg":  # all within the window: the least recently failing goes
        failures.fail(client)
    assert set(failures._failures) == {"e", "f", "g"}


def test_rate_limiter_memory_is_bounded_under_many_active_clients() -> None:
    limiter = RateLimiter(60, clock=lambda: 0.0)
    limiter.MAX_CLIENTS = 3
    for client in "abcde":
        limiter.acquire(client)
    assert list(limiter._buckets) == ["c", "d", "e"]
    limiter.acquire("c")  # seen again: now the most recent
    limiter.acquire("f")
    assert list(limiter._buckets) == ["e", "c", "f"]


@pytest.mark.parametrize("protocol", ["httptools", "h11"])
def test_forwarded_for_is_ignored_under_uvicorns_defaults(stub_engine: StubEngine, protocol: str) -> None:
    # `edubot serve` runs uvicorn with proxy_headers on (its default), which rewrites the ASGI client address from
    # X-Forwarded-For for peers on 127.0.0.1 or ::1; the guard must not be fooled by that, whichever protocol runs.
    import socket
    import threading

    import uvicorn

    from edubot_cli.server.app import create_app
    from edubot_cli.server.engine.upstream import Upstream
    from tests.support.live_backend import isolated_settings

    app = create_app(isolated_settings({"rate_limit_per_minute": 2}), Upstream([stub_engine.url], "external"))
    app.state.backend.pool.warm_body = None
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=protocol, log_config=None, log_level="warning", lifespan="on")
    assert config.proxy_headers
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert eventually(lambda: server.started)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/chat"
        statuses = [
            httpx.post(url, json=CHAT, headers={"X-Forwarded-For": f"203.0.113.{n}:{n}"}).status_code
            for n in range(1, 4)
        ]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert statuses == [200, 200, 429]
