"""Who a request comes from: the TCP peer, or behind trusted proxies the right-most ``X-Forwarded-For`` address
that is not itself a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Receive, Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks as networks; raises ``ValueError`` naming a value that is neither."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP address or network: {value!r}") from exc
    return tuple(networks)


def _address(text: str) -> Address | None:
    """An address as a proxy or the socket names it (``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]:80``), an
    IPv4-mapped IPv6 address as IPv4; None when it is none of those."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


class ClientResolver:
    """Who a request comes from: the TCP peer, or behind ``trusted`` proxies the right-most ``X-Forwarded-For``
    address that is not itself a trusted proxy (the left part of that header is whatever the client wrote)."""

    MAX_CACHED = 10_000

    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self.trusted = trusted
        self._trust: dict[Address, bool] = {}

    def is_trusted(self, address: Address) -> bool:
        found = self._trust.get(address)
        if found is None:
            found = any(address in net for net in self.trusted)
            if len(self._trust) >= self.MAX_CACHED:
                self._trust.clear()
            self._trust[address] = found
        return found

    def trusts(self, peer: str | None) -> bool:
        """Whether ``peer`` (the TCP peer's address) is one of the trusted proxies."""
        address = _address(peer) if peer is not None and self.trusted else None
        return address is not None and self.is_trusted(address)

    def client(self, peer: str | None, forwarded_for: list[str]) -> str:
        """The client's address for a request from ``peer`` with these ``X-Forwarded-For`` header values."""
        if peer is None:
            return "unknown"
        address = _address(peer)
        if address is None:
            return peer  # not an IP peer (a Unix socket): nothing to trust
        if not self.trusted or not forwarded_for or not self.is_trusted(address):
            return str(address)
        hops = [hop for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            hop_address = _address(hop)
            if hop_address is None:  # not a proxy's entry: the last hop that could be checked is the client
                return str(address)
            address = hop_address
            if not self.is_trusted(address):
                return str(address)
        return str(address)  # a chain of trusted proxies only: the left-most


def peer_address(scope: Scope, receive: Receive) -> str | None:
    """The TCP peer's address.

    uvicorn's ``proxy_headers`` (on unless turned off) replaces ``scope["client"]`` with an ``X-Forwarded-For``
    address whenever the peer is 127.0.0.1 or ::1 (``--forwarded-allow-ips``), so any local program, or a reverse
    proxy on the same machine that passes the header on, could choose its address. The connection's own peer
    address comes from uvicorn's transport when it can be reached; ``scope["client"]`` otherwise.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None:
        peer = transport.get_extra_info("peername")
        if isinstance(peer, (tuple, list)) and peer and isinstance(peer[0], str):
            return peer[0]
    client = scope.get("client")
    return str(client[0]) if client else None
