"""The school's alert hook, for real: a program the test writes, run as a subprocess with the flag as JSON on its
standard input, and a local HTTP receiver for the webhook; retries with backoff; the chat never waits."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.safety.alerts import AlertSender, alert_payload, should_alert
from edubot_cli.safety.moderation import check_message
from tests.support.poll import CEILING

HOOK = """
import json, pathlib, sys, time
out, count, fail_first, gate = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
n = int(count.read_text()) + 1 if count.exists() else 1
count.write_text(str(n))
if gate != "-":
    while not pathlib.Path(gate).exists():  # held until the test opens the gate
        time.sleep(0.01)
if n <= fail_first:
    sys.exit(3)
with out.open("a") as f:
    f.write(json.dumps(json.load(sys.stdin)) + "\\n")
"""


class Receiver:
    """A local HTTP server recording POSTed bodies, answering with ``statuses`` in turn (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls += 1
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.bodies.append(json.loads(body))
                    receiver.headers.append(dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def hook(tmp_path: Path) -> Path:
    script = tmp_path / "hook.py"
    script.write_text(HOOK)
    return script


def command(hook: Path, tmp_path: Path, fail_first: int = 0, gate: str = "-") -> list[str]:
    return [
        sys.executable,
        str(hook),
        str(tmp_path / "out.jsonl"),
        str(tmp_path / "count"),
        str(fail_first),
        gate,
    ]


ALERT = alert_payload(
    check_message("i want to kill myself, call me on 07700 900123"),
    {"class": "7B", "student": "s-1", "conversation_id": "c-1", "message_id": 12},
    now=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
)


def test_the_payload_of_a_high_severity_flag() -> None:
    assert should_alert(check_message("i want to kill myself"))
    assert not should_alert(check_message("you're an idiot"))
    assert ALERT == {
        "event": "edubot.safety_flag",
        "severity": "high",
        "categories": ["self_harm", "personal_data"],
        "flags": [
            {"category": "self_harm", "severity": "high", "action": "support", "rule": "self_harm.act"},
            {
                "category": "personal_data",
                "severity": "low",
                "action": "remind",
                "rule": "personal_data.phone",
            },
        ],
        "message": "i want to kill myself, call me on [phone]",
        "time": "2026-03-01T09:30:00+00:00",
        "class": "7B",
        "student": "s-1",
        "conversation_id": "c-1",
        "message_id": 12,
    }


def test_the_command_and_the_webhook_get_the_alert(hook: Path, tmp_path: Path, receiver: Receiver) -> None:
    sender = AlertSender(command(hook, tmp_path), receiver.url, backoff=0.01)
    assert sender.send(ALERT)
    assert sender.wait_idle(CEILING)
    sender.close()
    assert [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()] == [ALERT]
    assert receiver.bodies == [ALERT]
    assert receiver.headers[0]["Content-Type"] == "application/json"
    assert (sender.delivered, sender.failed) == ({"command": 1, "webhook": 1}, {"command": 0, "webhook": 0})


def test_a_command_given_as_one_string_is_split_like_a_shell_would(hook: Path, tmp_path: Path) -> None:
    line = " ".join(f"'{part}'" for part in command(hook, tmp_path))
    sender = AlertSender(line, backoff=0.01)
    sender.send({"event": "x"})
    assert sender.wait_idle(CEILING)
    sender.close()
    assert (tmp_path / "out.jsonl").read_text() == '{"event": "x"}\n'


def test_failures_are_retried_with_backoff_until_one_succeeds(hook: Path, tmp_path: Path) -> None:
    webhook = Receiver([500, 503])
    sender = AlertSender(command(hook, tmp_path, fail_first=2), webhook.url, attempts=4, backoff=0.01)
    sender.send(ALERT)
    assert sender.wait_idle(CEILING)
    sender.close()
    webhook.close()
    assert (tmp_path / "count").read_text() == "3"
    assert webhook.calls == 3
    assert webhook.bodies == [ALERT]
    assert sender.delivered == {"command": 1, "webhook": 1}


def test_a_target_that_keeps_failing_is_given_up_and_logged(
    hook: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    webhook = Receiver([500, 500, 500])
    sender = AlertSender(command(hook, tmp_path, fail_first=99), webhook.url, attempts=3, backoff=0.01)
    with caplog.at_level(logging.ERROR, logger="edubot.safety"):
        sender.send(ALERT)
        assert sender.wait_idle(CEILING)
    sender.close()
    webhook.close()
    assert sender.failed == {"command": 1, "webhook": 1}
    assert [r.getMessage() for r in caplog.records] == [
        f"safety alert: the command failed after 3 attempts ({sys.executable} exited with 3)",
        "safety alert: the webhook failed after 3 attempts (answered 500)",
    ]
    assert "kill" not in caplog.text  # the log never carries the child's message


def test_sending_never_waits_for_the_hook(hook: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    sender = AlertSender(command(hook, tmp_path, gate=str(gate)), backoff=0.01)
    assert sender.send(ALERT)
    assert sender.send(ALERT)  # returns while the first is still held in the hook
    assert sender.delivered == {"command": 0, "webhook": 0}
    assert not sender.wait_idle(0)
    gate.touch()
    assert sender.wait_idle(CEILING)
    sender.close()
    assert sender.delivered == {"command": 2, "webhook": 0}


def test_no_target_sends_nothing_and_a_missing_program_fails_cleanly(tmp_path: Path) -> None:
    assert not AlertSender().send(ALERT)
    sender = AlertSender([str(tmp_path / "no-such-program")], attempts=1)
    sender.send(ALERT)
    assert sender.wait_idle(CEILING)
    sender.close()
    assert sender.failed == {"command": 1, "webhook": 0}
    assert not sender.send(ALERT)  # closed
