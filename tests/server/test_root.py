"""``/``: the page for browsers and JSON for API clients; static files; /docs; unknown paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from edubot_cli import __version__
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

MakeBackend = Callable[..., LiveBackend]
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>edubot</title>", encoding="utf-8")
    (tmp_path / "app.js").write_text("console.log('hi');", encoding="utf-8")
    return tmp_path


def test_browsers_get_the_page(stub_engine: StubEngine, live_backend: MakeBackend, site: Path) -> None:
    backend = live_backend({}, [stub_engine.url], static_dir=site)
    r = httpx.get(f"{backend.url}/", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text == "<!doctype html><title>edubot</title>"
    js = httpx.get(f"{backend.url}/app.js")
    assert js.text == "console.log('hi');"
    assert "javascript" in js.headers["content-type"]


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
def test_api_clients_get_json(
    stub_engine: StubEngine, live_backend: MakeBackend, site: Path, accept: str | None
) -> None:
    backend = live_backend({"api_key": "k", "max_tokens": 99}, [stub_engine.url], static_dir=site)
    r = httpx.get(f"{backend.url}/", headers={"Accept": accept} if accept else {})
    assert r.status_code == 200
    assert r.json() == {
        "message": "edubot backend: POST /chat to ask a question, /docs for the API",
        "version": __version__,
        "engine_status": "ok",
        "engine": "external",
        "chat": {
            "max_tokens": 99,
            "temperature": 0.7,
            "client_sampling": True,  # the tests' default (isolated_settings); a class's is false
            "system_prompt_override": False,
            "auth_required": True,
            "grounded": False,
            "slow_answer_seconds": 60.0,
            "max_message_chars": 8000,
            "max_history": 50,
        },
        "classes": False,  # no class defined (tests/server/test_classroom_api.py has a server with one)
    }


def test_json_root_reports_a_down_engine(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    url = stub_engine.url
    stub_engine.stop()
    backend = live_backend({}, [url], engine_name="llama-cpp")
    body = httpx.get(f"{backend.url}/").json()
    assert (body["engine_status"], body["engine"]) == ("unreachable", "llama-cpp")


def test_without_a_page_browsers_get_json(
    stub_engine: StubEngine, live_backend: MakeBackend, tmp_path: Path
) -> None:
    backend = live_backend({}, [stub_engine.url], static_dir=tmp_path / "missing")
    r = httpx.get(f"{backend.url}/", headers={"Accept": BROWSER_ACCEPT})
    assert r.json()["version"] == __version__


def test_unknown_paths_use_the_error_shape(
    stub_engine: StubEngine, live_backend: MakeBackend, site: Path
) -> None:
    backend = live_backend({}, [stub_engine.url], static_dir=site)
    r = httpx.get(f"{backend.url}/nope.css")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "Not Found"}}
    traversal = httpx.get(f"{backend.url}/..%2F..%2Fetc%2Fpasswd")
    assert traversal.status_code == 404


def test_docs_and_openapi(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({}, [stub_engine.url])
    assert "swagger" in httpx.get(f"{backend.url}/docs").text.lower()
    spec = httpx.get(f"{backend.url}/openapi.json").json()
    assert {
        "/",
        "/health",
        "/models",
        "/chat",
        "/stats",
        "/metrics",
        "/v1/models",
        "/v1/chat/completions",
    } <= set(spec["paths"])
    assert set(spec["components"]["schemas"]["ErrorDetail"]["properties"]) == {"code", "message", "field"}


def test_the_packaged_page_is_served_when_present(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    from edubot_cli.server.app import STATIC_DIR

    backend = live_backend({}, [stub_engine.url])
    r = httpx.get(f"{backend.url}/", headers={"Accept": BROWSER_ACCEPT})
    if (STATIC_DIR / "index.html").is_file():
        assert r.headers["content-type"].startswith("text/html")
    else:
        assert r.json()["version"] == __version__
