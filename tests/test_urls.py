"""The one set of engine-URL rules (`--engine-url`, the engine pool, the HTTP client)."""

from __future__ import annotations

import pytest

from edubot_cli.errors import UsageError
from edubot_cli.urls import EngineURL, engine_url, openai_base, server_root


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8080", EngineURL("http://127.0.0.1:8080", "http", "127.0.0.1", 8080, "")),
        ("http://127.0.0.1:8080/", EngineURL("http://127.0.0.1:8080", "http", "127.0.0.1", 8080, "")),
        (" http://h:1/v1/ ", EngineURL("http://h:1", "http", "h", 1, "")),
        ("http://gpu1", EngineURL("http://gpu1", "http", "gpu1", 80, "")),
        (
            "https://gpu.example/api/v1",
            EngineURL("https://gpu.example/api", "https", "gpu.example", 443, "/api"),
        ),
        (
            "https://gpu.example:8443/",
            EngineURL("https://gpu.example:8443", "https", "gpu.example", 8443, ""),
        ),
        ("http://[::1]:9000/v1", EngineURL("http://[::1]:9000", "http", "::1", 9000, "")),
    ],
)
def test_engine_urls_are_normalised(given: str, expected: EngineURL) -> None:
    url = engine_url(given)
    assert url == expected
    assert url.tls == (expected.scheme == "https")
    assert engine_url(url.base) == url  # normalising twice changes nothing


@pytest.mark.parametrize(
    ("given", "problem", "hint"),
    [
        (
            "gpu1:8001",
            "is not an http(s) URL",
            "give the engine's base URL, e.g. --engine-url http://gpu1:8001",
        ),
        (
            "ftp://gpu1/",
            "is not an http(s) URL",
            "give the engine's base URL, e.g. --engine-url http://gpu1:8001",
        ),
        (
            "http://",
            "is not an http(s) URL",
            "give the engine's base URL, e.g. --engine-url http://gpu1:8001",
        ),
        ("http://gpu1:8001/?a=1", "must not have a query or fragment", "give the base URL only"),
        ("http://gpu1:8001/#x", "must not have a query or fragment", "give the base URL only"),
        (
            "http://me:pw@gpu1/",
            "must not carry a user or password",
            "engines edubot reaches take no credentials in the URL",
        ),
        (
            "http://gpu1:99999",
            "has an invalid port",
            "give the engine's base URL, e.g. --engine-url http://gpu1:8001",
        ),
    ],
)
def test_bad_engine_urls_are_one_clear_error(given: str, problem: str, hint: str) -> None:
    with pytest.raises(UsageError) as info:
        engine_url(given)
    assert info.value.message == f"--engine-url {given!r} {problem}"
    assert info.value.hint == hint


@pytest.mark.parametrize(
    ("given", "root", "api"),
    [
        ("http://h:8000", "http://h:8000", "http://h:8000/v1"),
        ("http://h:8000/", "http://h:8000", "http://h:8000/v1"),
        ("http://h:8000/v1", "http://h:8000", "http://h:8000/v1"),
        ("http://h:8000/v1/", "http://h:8000", "http://h:8000/v1"),
        ("https://g.example/api/v1", "https://g.example/api", "https://g.example/api/v1"),
        ("http://h/v10", "http://h/v10", "http://h/v10/v1"),
    ],
)
def test_server_root_and_openai_base(given: str, root: str, api: str) -> None:
    assert server_root(given) == root
    assert openai_base(given) == api
