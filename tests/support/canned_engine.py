"""An engine that answers every POST with the same canned bytes (status 200), for the backend's handling of what
an engine sends: malformed answers, errors inside a stream, TLS. Plain ``http.server`` in a thread, so that the
bytes go out exactly as given."""

from __future__ import annotations

import http.server
import json
import ssl
import threading


class CannedEngine(http.server.ThreadingHTTPServer):
    """``GET`` anything: the OpenAI model list naming ``model``; ``POST`` anything: ``answer`` as ``content_type``.
    ``tls`` serves HTTPS with that server context. Use as a context manager; ``url`` is its base URL."""

    def __init__(
        self,
        answer: bytes = b"",
        content_type: str = "application/json",
        model: str = "m",
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.content_type = content_type
        self.model = model
        self.scheme = "https" if tls else "http"
        self.host = host  # the name in ``url`` (``localhost`` for a certificate made out to it)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self._thread = threading.Thread(target=self.serve_forever, name="canned-engine", daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.server_address[1]}"

    def __enter__(self) -> CannedEngine:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: CannedEngine

    def do_GET(self) -> None:
        models = {"object": "list", "data": [{"id": self.server.model, "object": "model"}]}
        self._send(json.dumps(models).encode(), "application/json")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self._send(self.server.answer, self.server.content_type)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
