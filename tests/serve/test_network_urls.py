"""What `edubot serve` tells the teacher to give students: this machine's addresses when it listens on the network,
nothing when it listens on loopback only."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from edubot_cli.serving import network_urls


class _NoRoute:
    def __init__(self, *args: Any) -> None:
        pass

    def connect(self, address: tuple[str, int]) -> None:
        raise OSError("network unreachable")

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("host", "urls"), [
    ("127.0.0.1", []), ("localhost", []), ("::1", []),
    ("192.168.1.20", ["http://192.168.1.20:8000"]), ("fd00::5", ["http://[fd00::5]:8000"]),
    ("school-pc.local", ["http://school-pc.local:8000"]),
])  # fmt: skip
def test_a_named_host_is_its_own_url_unless_loopback(host: str, urls: list[str]) -> None:
    assert network_urls(host, 8000) == urls


def test_a_wildcard_host_lists_this_machines_addresses_less_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "socket", _NoRoute)
    monkeypatch.setattr(socket, "gethostname", lambda: "school-pc")
    answers = [
        (socket.AF_INET, 0, 0, "", (ip, 0)) for ip in ("127.0.1.1", "10.1.2.3", "192.168.1.20", "10.1.2.3")
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args: answers)
    assert network_urls("0.0.0.0", 8000) == ["http://10.1.2.3:8000", "http://192.168.1.20:8000"]
    assert network_urls("", 9000) == ["http://10.1.2.3:9000", "http://192.168.1.20:9000"]


def test_a_machine_without_a_network_lists_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "socket", _NoRoute)

    def fail(*args: Any) -> Any:
        raise socket.gaierror("no name")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    assert network_urls("0.0.0.0", 8000) == []
