"""Engine URLs: the one set of rules for ``--engine-url``, the backend's engine pool and its HTTP client.

An engine base URL is ``http://host[:port][/path]`` or ``https://...`` (TLS, verified against the system's
certificate authorities, ``SSL_CERT_FILE`` honoured), without query, fragment or credentials. A trailing ``/`` or
``/v1`` is dropped: the OpenAI API lives at the base plus ``/v1`` (``openai_base``; ``server_root`` is the other
way).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import UsageError

SCHEMES = {"http": 80, "https": 443}
OPENAI_PREFIX = "/v1"
"""Where an OpenAI-compatible server's API lives under its root."""


def server_root(url: str) -> str:
    """``url`` without a trailing ``/`` or ``/v1``: the server's root (``http://h:8000/v1/`` → ``http://h:8000``)."""
    base = url.rstrip("/")
    return base[: -len(OPENAI_PREFIX)] if base.endswith(OPENAI_PREFIX) else base


def openai_base(url: str) -> str:
    """The OpenAI API base of the server at ``url``, given with or without ``/v1``: ``http://h:8000/v1``."""
    return server_root(url) + OPENAI_PREFIX


@dataclass(frozen=True)
class EngineURL:
    """A checked engine base URL, split the way the HTTP client needs it."""

    base: str
    """Normalised: no trailing ``/`` or ``/v1``."""
    scheme: str
    host: str
    port: int
    path: str
    """Prefix for request paths (empty or ``/something``)."""

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


def engine_url(url: str, flag: str = "--engine-url") -> EngineURL:
    """``url`` checked and normalised, or a ``UsageError`` naming ``flag``."""
    text = url.strip()
    parts = urlsplit(text)
    example = f"give the engine's base URL, e.g. {flag} http://gpu1:8001"
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise UsageError(f"{flag} {url!r} is not an http(s) URL", hint=example)
    if parts.query or parts.fragment:
        raise UsageError(f"{flag} {url!r} must not have a query or fragment", hint="give the base URL only")
    if parts.username or parts.password:
        raise UsageError(
            f"{flag} {url!r} must not carry a user or password",
            hint="engines edubot reaches take no credentials in the URL",
        )
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError as exc:
        raise UsageError(f"{flag} {url!r} has an invalid port", hint=example) from exc
    path = parts.path.rstrip("/")
    if path.endswith(OPENAI_PREFIX):
        path = path[: -len(OPENAI_PREFIX)]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = port == SCHEMES[parts.scheme]
    base = f"{parts.scheme}://{host}{'' if default and parts.port is None else f':{port}'}{path}"
    return EngineURL(base, parts.scheme, parts.hostname, port, path)
