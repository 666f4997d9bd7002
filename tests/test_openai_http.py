"""The client side of OpenAI-compatible servers shared by `edubot chat` and the eval judge."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from edubot_cli.openai_http import bearer, http_client, model_ids


def test_bearer() -> None:
    assert bearer("k1") == {"Authorization": "Bearer k1"}
    assert bearer(None) == {} and bearer("") == {}


def test_the_client_sends_the_key_and_ignores_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [{"id": "m"}]})

    with http_client("k1", 5.0, httpx.MockTransport(handle)) as client:
        assert not client._trust_env
        assert model_ids(client.get("http://h/v1/models").json()) == ["m"]
    assert seen[0].headers["Authorization"] == "Bearer k1"


@pytest.mark.parametrize(
    ("body", "ids"),
    [({"data": [{"id": "a"}, {"id": 2}]}, ["a", "2"]), ({"data": []}, []), ({"object": "list"}, [])],
)
def test_model_ids(body: Any, ids: list[str]) -> None:
    assert model_ids(body) == ids


@pytest.mark.parametrize("body", [[], "x", {"data": {"id": "a"}}, {"data": [{"name": "a"}]}, {"data": ["a"]}])
def test_model_ids_of_something_else(body: Any) -> None:
    with pytest.raises(ValueError, match="not an OpenAI model listing"):
        model_ids(body)
