"""The port helpers of ``procgroup``: a busy port is reported with what to do, a bound one is held."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator

import pytest

from edubot_cli.errors import ConfigError
from edubot_cli.procgroup import Terminated, bind_listener, check_port_free, free_port, terminations_raise


def test_bind_listener_reports_a_busy_port() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(ConfigError) as info:
            bind_listener("127.0.0.1", port, "--port")
    assert info.value.message == f"port {port} on 127.0.0.1 is already in use"
    assert info.value.hint == (
        f"stop the program using it (`ss -ltnp 'sport = :{port}'` shows it) or choose another with --port"
    )


def test_bind_listener_holds_the_port() -> None:
    sock = bind_listener("127.0.0.1", 0, "--port")
    try:
        port = sock.getsockname()[1]
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))
    finally:
        sock.close()


def test_check_port_free_releases_a_free_port_and_names_the_flag_of_a_busy_one() -> None:
    port = free_port()
    check_port_free("127.0.0.1", port, "--engine-port")
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # not held afterwards
        again.listen()
        with pytest.raises(ConfigError) as info:
            check_port_free("127.0.0.1", port, "--engine-port")
    assert info.value.hint == (
        f"stop the program using it (`ss -ltnp 'sport = :{port}'` shows it) or choose another with --engine-port"
    )


@pytest.fixture
def hangup_ignored() -> Iterator[None]:
    """SIGHUP ignored, as ``nohup`` starts a command; SIGTERM at its default."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, action in saved.items():
            signal.signal(sig, action)


def test_an_ignored_hangup_stays_ignored_while_termination_raises(hangup_ignored: None) -> None:
    with terminations_raise():
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        signal.raise_signal(signal.SIGHUP)  # nothing happens: nohup's promise is kept
        with pytest.raises(Terminated) as caught:
            signal.raise_signal(signal.SIGTERM)
        assert caught.value.reason == "terminated"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
