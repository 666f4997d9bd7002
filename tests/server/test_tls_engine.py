"""An engine behind HTTPS: `--engine-url https://...` works end to end, with the certificate verified."""

from __future__ import annotations

import json
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.canned_engine import CannedEngine

ANSWER = {
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Over TLS."}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    "model": "tls-model",
}


@pytest.fixture
def tls_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An OpenAI-compatible engine on https://localhost with a self-signed certificate that this test trusts."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # OpenSSL's default verify paths honour it
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with CannedEngine(
        json.dumps(ANSWER).encode(), model="tls-model", tls=context, host="localhost"
    ) as engine:
        yield engine.url + "/v1"


def test_the_backend_talks_to_an_https_engine(tls_engine: str, live_backend) -> None:
    backend = live_backend({}, [tls_engine])
    answer = httpx.post(backend.url + "/chat", json={"message": "hi"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["response"], answer.json()["model"]) == ("Over TLS.", "tls-model")
    health = httpx.get(backend.url + "/health", timeout=10).json()
    assert (health["engine"], health["engines"][0]["model"]) == ("ok", "tls-model")


def test_an_untrusted_certificate_is_refused(tls_engine: str, live_backend, monkeypatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    backend = live_backend({}, [tls_engine])
    answer = httpx.post(backend.url + "/chat", json={"message": "hi"}, timeout=30)
    assert answer.status_code == 502
    assert answer.json()["error"]["message"] == (
        "engine 1 failed the TLS handshake (CERTIFICATE_VERIFY_FAILED); check its certificate (SSL_CERT_FILE)"
    )
