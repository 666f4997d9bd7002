"""The classroom's cookies (``edge.sessions``) and the guard's view of https (``Secure`` cookies), on their own:
what a ``Cookie`` header yields, the exact ``Set-Cookie`` values, and when a request counts as https (the live
backend of the API tests has uvicorn's own proxy headers on; `edubot serve` has them off, so the guard decides)."""

from __future__ import annotations

import pytest

from edubot_cli.server.edge.client_address import parse_networks
from edubot_cli.server.edge.security import GuardMiddleware
from edubot_cli.server.edge.sessions import clear_cookie, cookies, set_cookie
from edubot_cli.server.edge.throttles import JoinThrottle

TOKEN = "A" * 43


def test_cookies_keeps_only_the_two_session_cookies_with_token_values() -> None:
    header = f'theme=dark; edubot_session={TOKEN}; edubot_teacher="{TOKEN[:-1]}B"; edubot_session=other-one-ignored'
    assert cookies(header) == {"edubot_session": TOKEN, "edubot_teacher": TOKEN[:-1] + "B"}
    assert cookies("edubot_session=short") == {}  # not a token: never looked up
    assert cookies("edubot_session=" + "x" * 129) == {}
    assert cookies("edubot_session=<script>") == {}
    assert cookies(None) == {}
    assert cookies("edubot_session") == {}


def test_set_and_clear_cookie() -> None:
    assert set_cookie("edubot_session", TOKEN, secure=False, max_age=60) == (
        f"edubot_session={TOKEN}; Max-Age=60; Path=/; HttpOnly; SameSite=Strict"
    )
    assert set_cookie("edubot_teacher", TOKEN, secure=True, max_age=60) == (
        f"edubot_teacher={TOKEN}; Max-Age=60; Path=/; HttpOnly; SameSite=Strict; Secure"
    )
    assert clear_cookie("edubot_session", secure=True) == (
        "edubot_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict; Secure"
    )


def _guard(trusted: list[str]) -> GuardMiddleware:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("not called")

    return GuardMiddleware(
        app,
        api_key=None,
        cors_origins=[],
        rate_limit_per_minute=0,
        max_body_bytes=1000,
        trusted_proxies=parse_networks(trusted),
    )


async def _receive() -> dict[str, object]:
    return {"type": "http.request"}


@pytest.mark.parametrize(
    ("trusted", "peer", "scheme", "proto", "https"),
    [
        ([], "127.0.0.1", "http", None, False),
        ([], "127.0.0.1", "https", None, True),  # TLS on the backend itself
        ([], "127.0.0.1", "http", "https", False),  # no trusted proxy: the header is anyone's
        (["10.0.0.0/8"], "192.0.2.1", "http", "https", False),  # a peer that is not the proxy
        (["10.0.0.0/8"], "10.1.2.3", "http", "https", True),
        (["10.0.0.0/8"], "10.1.2.3", "http", "http", False),
        (["10.0.0.0/8"], "10.1.2.3", "http", "HTTPS, http", True),  # any hop that says https
    ],
)
def test_https_is_the_scheme_or_a_trusted_proxys_word(
    trusted: list[str], peer: str, scheme: str, proto: str | None, https: bool
) -> None:
    headers = {"host": "edubot"} | ({"x-forwarded-proto": proto} if proto is not None else {})
    scope = {
        "type": "http",
        "scheme": scheme,
        "client": (peer, 5000),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    assert _guard(trusted)._https(scope, _receive, headers) is https


def test_join_throttle_counts_addresses_then_codes() -> None:
    now = [0.0]
    throttle = JoinThrottle(per_address=2, per_code=3, clock=lambda: now[0])
    assert throttle.acquire("a", "CODE1234") == (0.0, "")
    assert throttle.acquire("a", "CODE1234") == (0.0, "")
    assert throttle.acquire("a", "CODE1234") == (30.0, "address")  # 2 a minute: one back every 30 s
    assert throttle.acquire("b", "CODE1234") == (0.0, "")
    assert throttle.acquire("c", "CODE1234") == (20.0, "code")  # 3 a minute: one back every 20 s
    now[0] = 20.0
    assert throttle.acquire("c", "CODE1234") == (0.0, "")
