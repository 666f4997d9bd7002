"""A local HTTP server that speaks the part of the Hugging Face hub's file API that ``huggingface_hub`` uses to
download one file (``get_hf_file_metadata``, ``hf_hub_download``, ``http_get``), serving the files of a folder.

Point a client at it with ``HF_ENDPOINT=<hub.url>`` (for a subprocess; an in-process caller of huggingface_hub
passes ``endpoint=hub.url``, since the library reads ``HF_ENDPOINT`` once, at import; ``edubot model pull`` reads
it at each pull). Layout: ``<root>/<owner>/<repo>/<path in the repo>``; a file there may be a symlink (to serve a
large file, such as the embedded GGUF, without copying it).

What it answers, as the hub does:

- ``HEAD`` and ``GET /{owner}/{repo}/resolve/{revision}/{path}`` with ``X-Repo-Commit`` (a fixed commit id per
  repository), ``ETag`` and ``X-Linked-Etag`` (the file's SHA-256 in quotes, as for an LFS file),
  ``X-Linked-Size``, ``Content-Length`` and ``Accept-Ranges: bytes``; ``Range: bytes=N-`` gets 206 with
  ``Content-Range`` (416 past the end). ``revision`` is ``main`` or the repository's commit id.
- 404 with ``X-Error-Code: RepoNotFound`` (the hub's code for a missing repository), ``RevisionNotFound`` or
  ``EntryNotFound``.
- ``redirect=True``: ``resolve`` answers 302 to ``http://localhost:<port>/cdn/<sha256>`` with the same headers,
  as the hub sends large files to its CDN (another host name than ``127.0.0.1``, so the client treats it as one).

Faults for tests: ``corrupt`` (paths ``owner/repo/file`` whose bytes are served with one byte changed, the
listed hash unchanged), ``cut_after`` (path -> bytes after which the next GET of it drops the connection, once).
``requests`` records ``(method, path, Range header)`` of each request.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

CHUNK = 1 << 16


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    range: str | None


@dataclass
class _Served:
    path: Path
    size: int
    sha256: str


def commit_of(repo: str) -> str:
    """The commit id the fake hub reports for ``repo``: stable, 40 hex digits."""
    return hashlib.sha1(repo.encode(), usedforsecurity=False).hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class FakeHub:
    """The server (see the module doc); use as a context manager, or ``start()`` / ``stop()``."""

    root: Path
    redirect: bool = False
    corrupt: set[str] = field(default_factory=set)
    cut_after: dict[str, int] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    _server: _Server | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _hashes: dict[tuple[Path, int, int], str] = field(default_factory=dict, repr=False)

    @property
    def port(self) -> int:
        assert self._server is not None, "start the fake hub first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, repo: str, filename: str, data: bytes) -> Path:
        """Put ``data`` in ``repo`` as ``filename``; returns the file's path."""
        path = self.root / repo / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def link(self, repo: str, filename: str, source: Path) -> Path:
        """Serve the existing file ``source`` in ``repo`` as ``filename`` (a symlink, nothing copied)."""
        path = self.root / repo / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(source.resolve())
        return path

    def sha256(self, repo: str, filename: str) -> str:
        """The hash the hub lists for a file it serves."""
        return self._served(self.root / repo / filename).sha256

    def _served(self, path: Path) -> _Served:
        stat = path.stat()
        key = (path, stat.st_size, stat.st_mtime_ns)
        if key not in self._hashes:
            self._hashes[key] = sha256_of(path)
        return _Served(path, stat.st_size, self._hashes[key])

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            owner = hub

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a connection dropped on purpose (cut_after) or by the client: nothing to report


class _Handler(BaseHTTPRequestHandler):
    owner: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _error(self, status: int, code: str | None, message: str) -> None:
        payload = f'{{"error": "{message}"}}'.encode()
        self.send_response(status)
        if code is not None:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _answer(self, body: bool) -> None:
        hub = self.owner
        path = unquote(urlsplit(self.path).path)
        hub.requests.append(Request(self.command, path, self.headers.get("Range")))
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "cdn":
            found = next((s for s in self._all_files() if s.sha256 == parts[1]), None)
            if found is None:
                return self._error(404, None, "Not found")
            key = str(found.path.relative_to(hub.root))
            return self._send_file(found, key, body)
        if len(parts) < 5 or parts[2] != "resolve":
            return self._error(404, None, "Not found")
        repo = "/".join(parts[:2])
        revision, filename = parts[3], "/".join(parts[4:])
        if not (hub.root / repo).is_dir():
            return self._error(404, "RepoNotFound", "Repository not found")
        if revision not in ("main", commit_of(repo)):
            return self._error(404, "RevisionNotFound", "Invalid rev id: " + revision)
        file = hub.root / repo / filename
        if ".." in parts or not file.is_file():
            return self._error(404, "EntryNotFound", "Entry not found")
        served = hub._served(file)
        if hub.redirect:
            self.send_response(302)
            self._file_headers(served, repo)
            self.send_header("Location", f"http://localhost:{hub.port}/cdn/{served.sha256}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self._send_file(served, f"{repo}/{filename}", body, repo)

    def _all_files(self) -> list[_Served]:
        hub = self.owner
        return [hub._served(p) for p in sorted(hub.root.rglob("*")) if p.is_file()]

    def _file_headers(self, served: _Served, repo: str | None) -> None:
        if repo is not None:
            self.send_header("X-Repo-Commit", commit_of(repo))
        self.send_header("ETag", f'"{served.sha256}"')
        self.send_header("X-Linked-Etag", f'"{served.sha256}"')
        self.send_header("X-Linked-Size", str(served.size))
        self.send_header("Accept-Ranges", "bytes")

    def _send_file(self, served: _Served, key: str, body: bool, repo: str | None = None) -> None:
        hub = self.owner
        start = 0
        wanted = self.headers.get("Range")
        if wanted:
            spec = wanted.removeprefix("bytes=").split("-")[0]
            start = int(spec) if spec.isdigit() else 0
            if start >= served.size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{served.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if start else 200)
        self._file_headers(served, repo)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{served.size - 1}/{served.size}")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(served.size - start))
        self.end_headers()
        if not body:
            return
        cut = hub.cut_after.pop(key, None) if self.command == "GET" else None
        middle = served.size // 2
        with served.path.open("rb") as handle:
            handle.seek(start)
            position = start
            while chunk := handle.read(CHUNK):
                if key in hub.corrupt and position <= middle < position + len(chunk):
                    at = middle - position
                    chunk = chunk[:at] + bytes([chunk[at] ^ 0xFF]) + chunk[at + 1 :]
                if cut is not None and position + len(chunk) > cut:
                    self.wfile.write(chunk[: max(cut - position, 0)])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)  # the connection drops mid-file
                    return
                self.wfile.write(chunk)
                position += len(chunk)
