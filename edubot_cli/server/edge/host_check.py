"""The ``Host`` header allow-list that keeps DNS rebinding away from a loopback backend (``allowed_hosts``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``name[:port]`` or ``[v6]:port`` as (lower-case name, port or None); None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    elif value.count(":") == 1:
        name, _, port_text = value.partition(":")
    else:
        name, port_text = value, None
    if not name or any(c in name for c in " /\\@?#"):
        return None
    if port_text is None:
        return name, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name, int(port_text)


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` accepts connections from this machine only."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostCheck:
    """The ``Host`` header allow-list (see the module docstring): ``enforced`` on a loopback bind, or elsewhere
    once ``allowed_hosts`` is set. Entries are ``name`` (any port), ``name:port``, ``*.domain`` (its subdomains)
    or ``*`` (no check)."""

    def __init__(self, bind_host: str, allowed_hosts: Iterable[str]) -> None:
        entries = [e.strip().lower() for e in allowed_hosts]
        self.enforced = (is_loopback(bind_host) or bool(entries)) and "*" not in entries
        self.local = set(LOOPBACK_NAMES)
        bound = bind_host.strip().lower()
        if bound and bound not in ("0.0.0.0", "::", "[::]"):
            self.local.add(f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound)
        self.any_port: set[str] = set()
        self.with_port: set[tuple[str, int]] = set()
        self.suffixes: list[str] = []
        for entry in entries:
            if entry == "*":
                continue
            if entry.startswith("*."):
                parsed = _split_host(entry[2:])
                if parsed is None or parsed[1] is not None:
                    raise ValueError(f"not a host name pattern: {entry!r}")
                self.suffixes.append("." + parsed[0])
                continue
            parsed = _split_host(entry)
            if parsed is None:
                raise ValueError(f"not a host name, host:port or *.domain: {entry!r}")
            name, port = parsed
            if port is None:
                self.any_port.add(name)
            else:
                self.with_port.add((name, port))

    def allows(self, host: str | None, port: int | None) -> bool:
        """Whether a request with this ``Host`` header (None: none sent) that arrived on ``port`` is accepted."""
        if not self.enforced:
            return True
        parsed = _split_host(host) if host is not None else None
        if parsed is None:
            return False
        name, given = parsed
        if name in self.local and (given is None or port is None or given == port):
            return True
        if name in self.any_port or (given is not None and (name, given) in self.with_port):
            return True
        return any(name.endswith(suffix) for suffix in self.suffixes)
