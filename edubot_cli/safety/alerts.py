"""The school's alert hook for high-severity flags (harm to self or others): an ``alert_command`` (a program given
the flag as JSON on its standard input) and/or an ``alert_webhook`` (the same JSON POSTed to a URL).

Alerts never block the chat: ``AlertSender.send`` puts the alert on a queue and returns; one background thread
delivers them, each target tried up to ``attempts`` times with exponential backoff (``backoff``, ``2 *
backoff``, ...). A command succeeds when it exits 0 within ``timeout``; a webhook when it answers 2xx. A target
that still fails is logged (without the message's text) and the alert is dropped for it: the flag is still on the
teacher's page. The command is run without a shell (its words split as a shell would, ``shlex``), the webhook
without the environment's proxies; a bearer key for the webhook comes from ``EDUBOT_ALERT_WEBHOOK_KEY``.

The JSON (``alert_payload``)::

    {"event": "edubot.safety_flag", "severity": "high", "categories": ["self_harm"],
     "flags": [{"category", "severity", "action", "rule"}], "message": "<the student's message, personal data
     masked>", "time": "<ISO 8601 UTC>", ...where: class, student, conversation_id, message_id when known}
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shlex
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from ..openai_http import http_client
from .verdict import HIGH, Verdict

WEBHOOK_KEY_ENV = "EDUBOT_ALERT_WEBHOOK_KEY"
EVENT = "edubot.safety_flag"
QUEUE_SIZE = 1000
"""Alerts waiting at most; beyond it new ones are dropped with a log line (a stuck hook must not eat memory)."""

log = logging.getLogger("edubot.safety")


def should_alert(verdict: Verdict) -> bool:
    """Whether ``verdict`` runs the school's hook: a ``high`` flag."""
    return verdict.severity == HIGH


def alert_payload(
    verdict: Verdict, where: Mapping[str, Any] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The JSON an alert carries (see the module docstring); ``where`` adds the class, student, conversation and
    message ids the caller knows."""
    return {
        "event": EVENT,
        "severity": verdict.severity,
        "categories": list(verdict.categories),
        "flags": [f.to_dict() for f in verdict.flags],
        "message": verdict.masked,
        "time": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        **dict(where or {}),
    }


class AlertSender:
    """Delivers alerts to ``command`` and/or ``webhook`` from a background thread (see the module docstring).

    ``delivered`` and ``failed`` count deliveries per target (``"command"``, ``"webhook"``); ``wait_idle`` waits
    until the queue is empty and nothing is being delivered (tests, and ``close``)."""

    def __init__(
        self,
        command: str | Sequence[str] | None = None,
        webhook: str | None = None,
        *,
        attempts: int = 4,
        backoff: float = 1.0,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.command = shlex.split(command) if isinstance(command, str) else list(command or [])
        self.webhook = webhook or None
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
        self._transport = transport
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(QUEUE_SIZE)
        self._cond = threading.Condition()
        self._pending = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None
        self.delivered = {"command": 0, "webhook": 0}
        self.failed = {"command": 0, "webhook": 0}
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return bool(self.command or self.webhook)

    def send(self, alert: Mapping[str, Any]) -> bool:
        """Queue ``alert`` for delivery and return at once; False when there is no target, the sender is closed
        or the queue is full (logged)."""
        if not self.enabled or self._stop.is_set():
            return False
        with self._cond:
            try:
                self._queue.put_nowait(dict(alert))
            except queue.Full:
                self.dropped += 1
                log.error("safety alert dropped: %d alerts are already waiting for the hook", QUEUE_SIZE)
                return False
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="edubot-alerts", daemon=True)
                self._thread.start()
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued alert was delivered or given up on; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Give waiting alerts ``timeout`` seconds, then stop (backoff waits end at once)."""
        self.wait_idle(timeout)
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=1.0)
        if self._http is not None:
            self._http.close()

    # -- the delivery thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                alert = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                body = json.dumps(alert, ensure_ascii=False).encode()
                if self.command:
                    self._deliver("command", self._run_command, body)
                if self.webhook:
                    self._deliver("webhook", self._post, body)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    def _deliver(self, target: str, attempt: Callable[[bytes], str], body: bytes) -> None:
        why = ""
        for n in range(self.attempts):
            why = attempt(body)
            if not why:
                self.delivered[target] += 1
                return
            if n + 1 < self.attempts and self._stop.wait(self.backoff * 2**n):
                break
        self.failed[target] += 1
        log.error("safety alert: the %s failed after %d attempts (%s)", target, self.attempts, why)

    def _run_command(self, body: bytes) -> str:
        """'' on success, else why it failed."""
        try:
            done = subprocess.run(
                self.command, input=body, capture_output=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return f"{self.command[0]} took more than {self.timeout:g} s"
        except OSError as exc:
            return f"{self.command[0]} could not be run: {exc.strerror or exc}"
        if done.returncode != 0:
            return f"{self.command[0]} exited with {done.returncode}"
        return ""

    def _post(self, body: bytes) -> str:
        if self._http is None:
            self._http = http_client(os.environ.get(WEBHOOK_KEY_ENV), self.timeout, self._transport)
        assert self.webhook is not None
        try:
            response = self._http.post(
                self.webhook, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}"
        if not 200 <= response.status_code < 300:
            return f"answered {response.status_code}"
        return ""
