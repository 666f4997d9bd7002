"""The OpenAPI spec tells clients what this server accepts: its key scheme, every status, its chat fields."""

from __future__ import annotations

import httpx


def test_the_key_scheme_is_declared_and_required_where_the_guard_requires_it(
    live_backend, stub_engine
) -> None:
    spec = httpx.get(live_backend({"api_key": "k"}, [stub_engine.url]).url + "/openapi.json").json()
    assert spec["components"]["securitySchemes"] == {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "The `api_key` setting."}
    }
    secured = {
        (path, method)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if "security" in op
    }
    assert secured == {
        ("/chat", "post"),
        ("/v1/models", "get"),
        ("/v1/chat/completions", "post"),
        ("/stats", "get"),
    }
    open_spec = httpx.get(live_backend({}, [stub_engine.url]).url + "/openapi.json").json()
    assert "securitySchemes" not in open_spec["components"]


def test_every_status_the_routes_answer_is_declared(live_backend, stub_engine) -> None:
    spec = httpx.get(live_backend({}, [stub_engine.url]).url + "/openapi.json").json()
    statuses = {
        path: set(spec["paths"][path]["post"]["responses"]) for path in ("/chat", "/v1/chat/completions")
    }
    expected = {"200", "400", "401", "408", "413", "414", "415", "422", "429", "431", "502", "503", "504"}
    assert statuses["/chat"] == expected | {"404"}  # a student's conversation_id that is not theirs
    assert statuses["/v1/chat/completions"] == expected | {"404"}
    assert {"400", "408", "414", "429", "431"} <= set(spec["paths"]["/health"]["get"]["responses"])


def test_system_prompt_is_offered_only_when_the_server_allows_it(live_backend, stub_engine) -> None:
    def chat_fields(overrides: dict) -> set[str]:
        spec = httpx.get(live_backend(overrides, [stub_engine.url]).url + "/openapi.json").json()
        return set(spec["components"]["schemas"]["ChatRequest"]["properties"])

    assert "system_prompt" not in chat_fields({})
    assert "system_prompt" in chat_fields({"allow_system_prompt_override": True})
