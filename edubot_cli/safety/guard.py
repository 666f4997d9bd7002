"""An optional guard model (``moderation_url``): any OpenAI-compatible server serving a Llama Guard model (for
example Llama Guard 3 on the vLLM engine), asked about each student message.

Llama Guard reads the conversation through its own chat template and answers ``safe``, or ``unsafe`` and a line
of hazard categories (``unsafe\\nS1,S11``). Its categories (Llama Guard 3 and 4 share them) map onto moderation's
in ``CATEGORIES``. The CPU filters always run: the guard can only add flags. When the guard cannot be reached,
answers with an error or with something that is not Llama Guard's format, the CPU verdict stands, a warning is
logged, and the guard is not asked again for ``RETRY_AFTER`` seconds, so that a dead guard does not add its
timeout to every message.

The bearer key, if the guard needs one, comes from ``EDUBOT_MODERATION_API_KEY``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence

import httpx

from ..openai_http import http_client, model_ids
from ..urls import openai_base
from .verdict import (
    HARASSMENT,
    HIGH,
    INJECTION,
    LOW,
    MEDIUM,
    OTHER,
    PERSONAL_DATA,
    REFUSE,
    REMIND,
    SELF_HARM,
    SEXUAL,
    SUPPORT,
    VIOLENCE,
    Flag,
)

GUARD_KEY_ENV = "EDUBOT_MODERATION_API_KEY"
TIMEOUT = 5.0
"""Seconds a guard may take to answer one message before the CPU verdict is used alone."""
RETRY_AFTER = 30.0
"""Seconds the guard is left alone after a failure."""

CATEGORIES: dict[str, tuple[str, str, str]] = {
    "S1": (VIOLENCE, HIGH, REFUSE),  # violent crimes
    "S2": (OTHER, MEDIUM, REFUSE),  # non-violent crimes
    "S3": (SEXUAL, HIGH, REFUSE),  # sex-related crimes
    "S4": (SEXUAL, HIGH, REFUSE),  # child sexual exploitation
    "S5": (HARASSMENT, MEDIUM, REFUSE),  # defamation
    "S6": (OTHER, LOW, REFUSE),  # specialised advice
    "S7": (PERSONAL_DATA, LOW, REMIND),  # privacy
    "S8": (OTHER, LOW, REFUSE),  # intellectual property
    "S9": (VIOLENCE, HIGH, REFUSE),  # indiscriminate weapons
    "S10": (HARASSMENT, MEDIUM, REFUSE),  # hate
    "S11": (SELF_HARM, HIGH, SUPPORT),  # suicide and self-harm
    "S12": (SEXUAL, MEDIUM, REFUSE),  # sexual content
    "S13": (OTHER, LOW, REFUSE),  # elections
    "S14": (INJECTION, MEDIUM, REFUSE),  # code interpreter abuse
}
"""Llama Guard 3/4 hazard categories as (category, severity, action)."""

UNKNOWN = (OTHER, MEDIUM, REFUSE)
"""A category code outside the table (another guard's numbering): refused, shown to the teacher."""

log = logging.getLogger("edubot.safety")


def parse_guard(content: str) -> list[str] | None:
    """The hazard codes of a Llama Guard reply: ``[]`` for ``safe``, ``["S1", "S11"]`` for ``unsafe\\nS1,S11``;
    None when the reply is neither."""
    lines = [line.strip() for line in content.strip().splitlines() if line.strip()]
    if not lines:
        return None
    head = lines[0].lower()
    if head == "safe":
        return []
    if head != "unsafe":
        return None
    codes = [code.strip().upper() for line in lines[1:] for code in line.split(",") if code.strip()]
    return codes or ["unsafe"]


def guard_flags(codes: Sequence[str]) -> list[Flag]:
    """Flags for Llama Guard's hazard ``codes`` (``guard.S11`` ...)."""
    flags = []
    for code in dict.fromkeys(codes):
        category, severity, action = CATEGORIES.get(code, UNKNOWN)
        flags.append(Flag(category, severity, action, f"guard.{code}"))
    return flags


class GuardClient:
    """Asks the guard at ``url`` (with or without ``/v1``) with ``model`` (default: the first model its
    ``/v1/models`` lists, looked up on first use). ``check`` never raises for the guard's failures: it returns
    None and logs a warning."""

    def __init__(
        self,
        url: str,
        model: str | None = None,
        *,
        timeout: float = TIMEOUT,
        retry_after: float = RETRY_AFTER,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_base = openai_base(url)
        self.model = model
        self.retry_after = retry_after
        self._http = http_client(os.environ.get(GUARD_KEY_ENV), timeout, transport)
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.failures = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GuardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _failed(self, why: str) -> None:
        with self._lock:
            self.failures += 1
            self._down_until = time.monotonic() + self.retry_after
        log.warning(
            "moderation guard %s: %s; the CPU filters' verdict stands (next try in %.0f s)",
            self.api_base,
            why,
            self.retry_after,
        )

    def _model(self) -> str | None:
        if self.model is None:
            response = self._http.get(f"{self.api_base}/models")
            response.raise_for_status()
            found = model_ids(response.json())
            if not found:
                raise ValueError("the guard lists no model")
            self.model = found[0]
        return self.model

    def check(self, messages: Sequence[Mapping[str, str]]) -> list[Flag] | None:
        """The guard's flags for the conversation ``messages`` (its last turn is the one judged: a student's
        message as ``user``, or a question and answer as ``user`` and ``assistant``); ``[]`` when it says
        ``safe``; None when it cannot say (see the module docstring)."""
        with self._lock:
            if time.monotonic() < self._down_until:
                return None
        try:
            payload = {
                "model": self._model(),
                "messages": [dict(m) for m in messages],
                "temperature": 0,
                "max_tokens": 20,
                "stream": False,
            }
            response = self._http.post(f"{self.api_base}/chat/completions", json=payload)
        except httpx.HTTPError as exc:
            self._failed(f"not reachable ({type(exc).__name__})")
            return None
        except ValueError as exc:
            self._failed(str(exc))
            return None
        if response.status_code != 200:
            self._failed(f"answered {response.status_code}")
            return None
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            self._failed("the answer is not an OpenAI chat completion")
            return None
        codes = parse_guard(content) if isinstance(content, str) else None
        if codes is None:
            self._failed(f"the reply is not Llama Guard's safe/unsafe: {str(content)[:60]!r}")
            return None
        return guard_flags(codes)
