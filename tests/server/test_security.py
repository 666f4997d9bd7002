"""API key, CORS allow-list, per-client rate limit, body limit and validation errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator

import httpx
import pytest

from edubot_cli.server.edge.throttles import RateLimiter
from tests.server.helpers import raw_request
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

MakeBackend = Callable[..., LiveBackend]
CHAT = {"message": "hello"}
OPENAI = {"model": "stub-model", "messages": [{"role": "user", "content": "hi"}]}


# ---- API key ------------------------------------------------------------------------------------------------
PROTECTED = pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/chat", CHAT),
        ("POST", "/v1/chat/completions", OPENAI),
        ("GET", "/v1/models", None),
        ("GET", "/stats", None),
    ],
)
"""The requests that need the API key when one is set."""


@pytest.fixture
def keyed(stub_engine: StubEngine, live_backend: MakeBackend) -> LiveBackend:
    return live_backend({"api_key": "s3cret"}, [stub_engine.url])


@PROTECTED
@pytest.mark.parametrize("auth", [None, "Bearer wrong", "s3cret", "Basic s3cret"])
def test_protected_paths_need_the_key(
    keyed: LiveBackend, method: str, path: str, body: dict | None, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    r = httpx.request(method, f"{keyed.url}{path}", json=body, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {
        "error": {
            "code": "unauthorized",
            "message": "missing or wrong API key: send `Authorization: Bearer <key>`",
        }
    }


@PROTECTED
def test_the_right_key_opens_protected_paths(
    keyed: LiveBackend, method: str, path: str, body: dict | None
) -> None:
    r = httpx.request(method, f"{keyed.url}{path}", json=body, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["/", "/health", "/models", "/metrics", "/openapi.json", "/docs"])
def test_open_paths_need_no_key(keyed: LiveBackend, path: str) -> None:
    assert httpx.get(f"{keyed.url}{path}").status_code == 200


def test_rejections_are_counted(keyed: LiveBackend) -> None:
    httpx.post(f"{keyed.url}/chat", json=CHAT)
    httpx.post(f"{keyed.url}/chat", json=CHAT, headers={"Authorization": "Bearer nope"})
    stats = httpx.get(f"{keyed.url}/stats", headers={"Authorization": "Bearer s3cret"}).json()
    assert stats["rejected"] == {"401": 2}
    assert stats["requests"] == 0


# ---- CORS ---------------------------------------------------------------------------------------------------
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


def test_cors_default_is_same_origin_only(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({}, [stub_engine.url])
    r = httpx.options(f"{backend.url}/chat", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": "cors_origin_not_allowed",
            "message": "origin https://evil.example is not allowed (cors_origins)",
        }
    }
    r = httpx.post(f"{backend.url}/chat", json=CHAT, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    same = httpx.post(f"{backend.url}/chat", json=CHAT, headers={"Origin": backend.url})
    assert same.status_code == 200
    assert "access-control-allow-origin" not in same.headers


def test_cors_allow_list(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({"cors_origins": ["https://school.example"], "api_key": "k"}, [stub_engine.url])
    r = httpx.options(f"{backend.url}/chat", headers={"Origin": "https://school.example", **PREFLIGHT})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://school.example"
    assert r.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert r.headers["access-control-allow-headers"] == "authorization, content-type, x-request-id"
    # errors are readable cross-origin too, so the page can show them
    r = httpx.post(f"{backend.url}/chat", json=CHAT, headers={"Origin": "https://school.example"})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == "https://school.example"
    r = httpx.post(
        f"{backend.url}/chat",
        json=CHAT,
        headers={"Origin": "https://school.example", "Authorization": "Bearer k"},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://school.example"
    assert r.headers["vary"] == "Origin"
    other = httpx.options(f"{backend.url}/chat", headers={"Origin": "https://other.example", **PREFLIGHT})
    assert other.status_code == 400


def test_cors_wildcard(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({"cors_origins": ["*"]}, [stub_engine.url])
    r = httpx.options(f"{backend.url}/chat", headers={"Origin": "https://any.example", **PREFLIGHT})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://any.example"


# ---- rate limit ---------------------------------------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({"rate_limit_per_minute": 2}, [stub_engine.url])
    assert httpx.post(f"{backend.url}/chat", json=CHAT).status_code == 200
    assert httpx.post(f"{backend.url}/v1/chat/completions", json=OPENAI).status_code == 200
    r = httpx.post(f"{backend.url}/chat", json=CHAT)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "30"
    assert r.json() == {
        "error": {
            "code": "rate_limited",
            "message": "rate limit of 2 requests per minute reached; retry in 30 s",
        }
    }
    assert len(stub_engine.requests) == 2
    # health, stats and the page stay reachable
    assert httpx.get(f"{backend.url}/health").status_code == 200
    assert httpx.get(f"{backend.url}/stats").json()["rejected"] == {"429": 1}


def test_rate_limiter_buckets_refill_per_client() -> None:
    now = [100.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one per second
    assert [limiter.acquire("a") for _ in range(60)] == [0.0] * 60
    assert limiter.acquire("a") == pytest.approx(1.0)
    assert limiter.acquire("b") == 0.0
    now[0] += 0.5
    assert limiter.acquire("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == pytest.approx(1.0)


def test_rate_limiter_forgets_idle_clients() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    limiter.MAX_CLIENTS = 3
    for client in "abc":
        limiter.acquire(client)
    now[0] += 120  # everyone's bucket is full again
    limiter.acquire("d")  # a fourth client: over MAX_CLIENTS, the refilled buckets are dropped
    assert set(limiter._buckets) == {"d"}
    limiter.acquire("e")
    assert set(limiter._buckets) == {"d", "e"}


# ---- body limit ---------------------------------------------------------------------------------------------
@pytest.fixture
def small_body(stub_engine: StubEngine, live_backend: MakeBackend) -> Iterator[LiveBackend]:
    yield live_backend({"max_body_bytes": 1024}, [stub_engine.url])


def test_declared_body_over_the_limit_is_413(small_body: LiveBackend, stub_engine: StubEngine) -> None:
    r = httpx.post(f"{small_body.url}/chat", json={"message": "x" * 2000})
    assert r.status_code == 413
    assert r.json() == {
        "error": {
            "code": "payload_too_large",
            "message": "request body larger than 1024 bytes (max_body_bytes)",
        }
    }
    assert stub_engine.requests == []


def test_chunked_body_over_the_limit_is_413(small_body: LiveBackend, stub_engine: StubEngine) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"message": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    r = httpx.post(f"{small_body.url}/chat", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert stub_engine.requests == []


def test_body_under_the_limit_passes(small_body: LiveBackend) -> None:
    assert httpx.post(f"{small_body.url}/chat", json={"message": "x" * 900}).status_code == 200


# ---- validation ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "message", "message: Field required"),
        ({"message": ""}, "message", "message: String should have at least 1 character"),
        ({"message": "x" * 8001}, "message", "message: String should have at most 8000 characters"),
        (
            {"message": "x", "max_tokens": 0},
            "max_tokens",
            "max_tokens: Input should be greater than or equal to 1",
        ),
        (
            {"message": "x", "max_tokens": 4097},
            "max_tokens",
            "max_tokens: Input should be less than or equal to 4096",
        ),
        (
            {"message": "x", "temperature": 2.5},
            "temperature",
            "temperature: Input should be less than or equal to 2",
        ),
        (
            {"message": "x", "stream": "maybe"},
            "stream",
            "stream: Input should be a valid boolean",
        ),
        (
            {"message": "x", "conversation_history": [{"role": "system", "content": "y"}]},
            "conversation_history.0.role",
            "conversation_history.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            {"message": "x", "conversation_history": [{"role": "user", "content": "y"}] * 51},
            "conversation_history",
            "conversation_history: List should have at most 50 items after validation, not 51",
        ),
        ({"message": "x", "colour": "red"}, "colour", "colour: Extra inputs are not permitted"),
    ],
)
def test_validation_errors_name_the_field(
    stub_engine: StubEngine, live_backend: MakeBackend, body: dict, field: str, message: str
) -> None:
    backend = live_backend({}, [stub_engine.url])
    r = httpx.post(f"{backend.url}/chat", json=body)
    assert r.status_code == 422
    assert r.json() == {"error": {"code": "validation_error", "message": message, "field": field}}
    assert stub_engine.requests == []


def test_openai_body_needs_messages(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({}, [stub_engine.url])
    r = httpx.post(f"{backend.url}/v1/chat/completions", json={"model": "m"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "messages"


def test_body_that_is_not_json_is_400(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({}, [stub_engine.url])
    r = httpx.post(
        f"{backend.url}/chat", content=b'{"message": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_request"
    assert r.json()["error"]["message"].startswith("request body is not valid JSON")


def test_raw_socket_request_with_lying_content_length_is_413(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({"max_body_bytes": 1024}, [stub_engine.url])
    port = int(backend.url.rsplit(":", 1)[1])
    body = json.dumps(CHAT).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            raw_request(port, "POST", "/chat", body).replace(b"Content-Length: 20", b"Content-Length: 99999")
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")
