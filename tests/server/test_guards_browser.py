"""Guards against what a web page on another site can make a browser do: JSON-only bodies (no CORS "simple
request" reaches the engine), the Host allow-list (DNS rebinding), security headers on every answer, and /docs
from local files only."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from edubot_cli.errors import ConfigError
from edubot_cli.server.edge.host_check import HostCheck
from edubot_cli.server.edge.security import PAGE_CSP, is_json
from tests.server.helpers import raw_request
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

MakeBackend = Callable[..., LiveBackend]
CHAT = b'{"message": "hello"}'
OPENAI = b'{"model": "stub-model", "messages": [{"role": "user", "content": "hi"}]}'
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


# ---- JSON only ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "body"), [("/chat", CHAT), ("/v1/chat/completions", OPENAI)])
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",  # what fetch(url, {method: "POST", body: "..."}) sends, with no preflight
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",  # an HTML form
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonx",
        None,  # a Blob without a type: no header at all
    ],
)
def test_bodies_that_are_not_declared_json_are_415(
    stub_engine: StubEngine, live_backend: MakeBackend, path: str, body: bytes, content_type: str | None
) -> None:
    backend = live_backend({}, [stub_engine.url])
    port = int(backend.url.rsplit(":", 1)[1])
    headers = {"Content-Type": content_type} if content_type else {}
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(raw_request(port, "POST", path, body, {"Origin": "https://evil.example", **headers}))
        reply = _read_reply(sock)
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 415 ")
    got = f" (got {content_type!r})" if content_type else " (no Content-Type sent)"
    assert httpx.Response(415, content=payload).json() == {
        "error": {
            "code": "unsupported_media_type",
            "message": f"send the request body as JSON with `Content-Type: application/json`{got}",
        }
    }
    assert b"access-control-allow-origin" not in head.lower()
    assert stub_engine.requests == []
    stats = httpx.get(f"{backend.url}/stats").json()
    assert stats["rejected"] == {"415": 1}
    assert stats["requests"] == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", 'Application/JSON;charset="UTF-8"'],
)
def test_json_bodies_pass(stub_engine: StubEngine, live_backend: MakeBackend, content_type: str) -> None:
    backend = live_backend({}, [stub_engine.url])
    r = httpx.post(f"{backend.url}/chat", content=CHAT, headers={"Content-Type": content_type})
    assert r.status_code == 200
    assert len(stub_engine.requests) == 1


def test_is_json() -> None:
    assert is_json("application/json")
    assert is_json("application/json;charset=utf8")
    assert not is_json("application/json; charset=utf-8; boundary=x")
    assert not is_json("text/json")
    assert not is_json(None)


def _read_reply(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


# ---- Host ---------------------------------------------------------------------------------------------------
def raw_get(backend: LiveBackend, path: str, host: str | None) -> tuple[int, dict[str, str], bytes]:
    """GET with exactly this Host header (None: none, over HTTP/1.0)."""
    port = int(backend.url.rsplit(":", 1)[1])
    version = "HTTP/1.1" if host is not None else "HTTP/1.0"
    lines = [f"GET {path} {version}", "Connection: close", "Accept: application/json"]
    if host is not None:
        lines.append(f"Host: {host}")
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = _read_reply(sock)
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def test_a_foreign_host_is_refused_on_a_loopback_bind(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    # DNS rebinding: a page on evil.example re-points its name at 127.0.0.1; the browser still says its name.
    backend = live_backend({}, [stub_engine.url])
    port = backend.url.rsplit(":", 1)[1]
    for path in ("/health", "/", "/chat", "/docs", "/app.js"):
        status, headers, body = raw_get(backend, path, f"evil.example:{port}")
        assert status == 400, path
        assert httpx.Response(400, content=body).json() == {
            "error": {
                "code": "host_not_allowed",
                "message": f"Host header 'evil.example:{port}' is not allowed: use this server's address or "
                "add the name to allowed_hosts",
            }
        }
        assert headers["x-content-type-options"] == "nosniff"
    r = httpx.post(
        f"{backend.url}/chat",
        content=CHAT,
        headers={"Host": "evil.example", "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert stub_engine.requests == []
    assert httpx.get(f"{backend.url}/stats").json()["rejected"] == {"400": 6}


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}", "127.0.0.1"]
)
def test_this_servers_own_names_are_accepted(
    stub_engine: StubEngine, live_backend: MakeBackend, host: str
) -> None:
    backend = live_backend({}, [stub_engine.url])
    port = backend.url.rsplit(":", 1)[1]
    assert raw_get(backend, "/health", host.format(port=port))[0] == 200


@pytest.mark.parametrize(
    "host", ["localhost:1", "127.0.0.2:{port}", "[::1]:1", "localhost.:{port}", "", "a b", None]
)
def test_other_loopback_looking_hosts_are_refused(
    stub_engine: StubEngine, live_backend: MakeBackend, host: str | None
) -> None:
    backend = live_backend({}, [stub_engine.url])
    port = backend.url.rsplit(":", 1)[1]
    status = raw_get(backend, "/health", None if host is None else host.format(port=port))[0]
    assert status == 400


def test_allowed_hosts_add_names(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend(
        {"allowed_hosts": ["edubot.school.example", "tunnel.local:9000", "*.lab.example"]}, [stub_engine.url]
    )
    port = backend.url.rsplit(":", 1)[1]
    accepted = [
        "edubot.school.example",
        f"edubot.school.example:{port}",
        "tunnel.local:9000",
        "pc1.lab.example",
    ]
    refused = ["tunnel.local:9001", "lab.example", "evil.example", "edubot.school.example.evil.example"]
    assert [raw_get(backend, "/health", h)[0] for h in accepted] == [200] * len(accepted)
    assert [raw_get(backend, "/health", h)[0] for h in refused] == [400] * len(refused)
    assert raw_get(backend, "/health", f"localhost:{port}")[0] == 200  # the own names stay


def test_other_binds_check_hosts_only_when_listed(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    open_bind = live_backend({"host": "0.0.0.0"}, [stub_engine.url])
    assert raw_get(open_bind, "/health", "anything.example")[0] == 200
    listed = live_backend({"host": "0.0.0.0", "allowed_hosts": ["edubot.school.example"]}, [stub_engine.url])
    port = listed.url.rsplit(":", 1)[1]
    assert raw_get(listed, "/health", "edubot.school.example")[0] == 200
    assert raw_get(listed, "/health", f"127.0.0.1:{port}")[0] == 200
    assert raw_get(listed, "/health", "192.0.2.10")[0] == 400
    star = live_backend({"allowed_hosts": ["*"]}, [stub_engine.url])
    assert raw_get(star, "/health", "anything.example")[0] == 200


def test_host_check_knows_the_bound_address() -> None:
    check = HostCheck("192.0.2.10", ["edubot.example"])
    assert check.enforced
    assert check.allows("192.0.2.10:8000", 8000)
    assert check.allows("localhost:8000", 8000)
    assert not check.allows("192.0.2.10:8001", 8000)
    v6 = HostCheck("::1", [])
    assert v6.allows("[::1]:8000", 8000)
    assert not HostCheck("0.0.0.0", []).enforced


@pytest.mark.parametrize("entry", ["http://edubot.example", "edubot.example/chat", "*.", "a b", "host:99999"])
def test_a_bad_allowed_hosts_entry_is_a_config_error(stub_engine: StubEngine, entry: str) -> None:
    with pytest.raises(ConfigError) as err:
        LiveBackend({"allowed_hosts": [entry]}, [stub_engine.url])
    assert err.value.message.startswith("allowed_hosts: not a host name")
    assert repr(entry.lower()) in err.value.message


# ---- security headers ---------------------------------------------------------------------------------------
SECURITY = {
    "content-security-policy": PAGE_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def test_the_page_policy_is_the_meta_policy_plus_frame_ancestors() -> None:
    html = (Path(__file__).parents[2] / "edubot_cli" / "server" / "static" / "index.html").read_text()
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert meta is not None
    assert meta.group(1) + "; frame-ancestors 'none'" == PAGE_CSP


def test_every_answer_carries_the_security_headers(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({"api_key": "k", "rate_limit_per_minute": 1}, [stub_engine.url])
    key = {"Authorization": "Bearer k"}
    json_key = {"Content-Type": "application/json", **key}
    answers = {
        "page": httpx.get(f"{backend.url}/", headers={"Accept": BROWSER_ACCEPT}),
        "json root": httpx.get(f"{backend.url}/"),
        "health": httpx.get(f"{backend.url}/health"),
        "static js": httpx.get(f"{backend.url}/app.js"),
        "vendored js": httpx.get(f"{backend.url}/vendor/marked.min.js"),
        "404": httpx.get(f"{backend.url}/nope"),
        "401": httpx.post(f"{backend.url}/chat", content=CHAT, headers={"Content-Type": "application/json"}),
        "415": httpx.post(f"{backend.url}/chat", content=CHAT, headers={"Content-Type": "text/plain", **key}),
        "422": httpx.post(f"{backend.url}/chat", json={}, headers=key),
        "429": httpx.post(f"{backend.url}/chat", json={"message": "x"}, headers=key),
        "429 v1": httpx.post(f"{backend.url}/v1/chat/completions", content=OPENAI, headers=json_key),
        "preflight": httpx.options(
            f"{backend.url}/chat",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        ),
        "openapi": httpx.get(f"{backend.url}/openapi.json"),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {
        "page": 200,
        "json root": 200,
        "health": 200,
        "static js": 200,
        "vendored js": 200,
        "404": 404,
        "401": 401,
        "415": 415,
        "422": 422,
        "429": 429,
        "429 v1": 429,
        "preflight": 400,
        "openapi": 200,
    }
    for name, r in answers.items():
        assert {k: r.headers.get(k) for k in SECURITY} == SECURITY, name
        assert len(r.headers.get_list("content-security-policy")) == 1, name


def test_a_chat_answer_carries_the_security_headers(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({}, [stub_engine.url])
    plain = httpx.post(f"{backend.url}/chat", content=CHAT, headers={"Content-Type": "application/json"})
    with httpx.stream(
        "POST", f"{backend.url}/chat", json={"message": "hi", "stream": True}, timeout=10
    ) as streamed:
        streamed.read()
    for r in (plain, streamed):
        assert r.status_code == 200
        assert {k: r.headers.get(k) for k in SECURITY} == SECURITY


# ---- /docs --------------------------------------------------------------------------------------------------
class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.refs.append((tag, values[name] or ""))
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1


def test_docs_use_only_local_assets(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({}, [stub_engine.url])
    r = httpx.get(f"{backend.url}/docs")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", r.text, re.IGNORECASE) == []
    parser = _Refs()
    parser.feed(r.text)
    assert parser.refs == [
        ("link", "/vendor/swagger-ui/swagger-ui.css"),
        ("link", "/favicon.svg"),
        ("script", "/vendor/swagger-ui/swagger-ui-bundle.js"),
    ]
    expected_types = {
        ".css": "text/css; charset=utf-8",
        ".svg": "image/svg+xml",
        ".js": "text/javascript; charset=utf-8",
    }
    for _, ref in parser.refs:
        url = urljoin(f"{backend.url}/docs", ref)
        assert urlsplit(url).netloc == urlsplit(backend.url).netloc
        asset = httpx.get(url)
        assert asset.status_code == 200, ref
        assert asset.headers["content-type"] == expected_types[Path(ref).suffix], ref
        assert asset.headers["x-content-type-options"] == "nosniff"
    bundle = httpx.get(f"{backend.url}/vendor/swagger-ui/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text[:400]
    # The page's own policy: the one inline script (which starts Swagger UI) by its hash, nothing else inline.
    policy = r.headers["content-security-policy"]
    assert len(r.headers.get_list("content-security-policy")) == 1
    assert parser.inline_scripts == 1
    assert re.fullmatch(
        r"default-src 'self'; script-src 'self' 'sha256-[A-Za-z0-9+/]{43}='; style-src 'self'; "
        r"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        r"frame-ancestors 'none'",
        policy,
    ), policy
    assert r.headers["x-frame-options"] == "DENY"
    assert '"validatorUrl": null' in r.text


def test_docs_work_with_another_static_dir(
    stub_engine: StubEngine, live_backend: MakeBackend, tmp_path: Path
) -> None:
    backend = live_backend({}, [stub_engine.url], static_dir=tmp_path)
    assert httpx.get(f"{backend.url}/docs").status_code == 200
    assert httpx.get(f"{backend.url}/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_redoc_is_off(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({}, [stub_engine.url])
    assert httpx.get(f"{backend.url}/redoc").status_code == 404
    assert "/docs" not in httpx.get(f"{backend.url}/openapi.json").json()["paths"]
