"""Moderation on /chat (``edubot_cli.safety``): every student message is checked before grounding, every answer
passes the answer filter, flags reach the teacher (the classroom's record), the server's log and ``/metrics``,
and high-severity ones the school's alert hook.

A message whose verdict is ``support`` or ``refuse`` is answered without the engine (the school's support or
refusal message); one with personal data goes on masked (the engine and the record get ``[phone]`` ...) and the
answer ends with a reminder. The answer's ``flags`` field (in the JSON answer and the ``done`` event) says what
was found: ``{"message": <verdict>, "answer": [<flags>]}``, present only when something was.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...safety.alerts import AlertSender, alert_payload, should_alert
from ...safety.guard import GuardClient
from ...safety.moderation import PRIVACY_REMINDER, AnswerFilter, Moderator
from ...safety.verdict import REMIND, Verdict

if TYPE_CHECKING:
    from ...config import Settings
    from ..engine.proxy import Gate
    from ..metrics import Metrics

FILTERED = "answer_filtered"
"""The flag of an answer of which the filter replaced a part."""
LOG_TEXT = 200
"""Characters of a flagged message (masked) that the server log shows when there is no class to record it."""
log = logging.getLogger("edubot.server.safety")


class Safety:
    """One app's moderation: the moderator (CPU filters, optional guard), the alert hook, the counters."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        guard = (
            GuardClient(settings.moderation_url) if settings.moderation and settings.moderation_url else None
        )
        self.moderator = Moderator(
            enabled=settings.moderation,
            guard=guard,
            support_message=settings.support_message,
            refusal_message=settings.refusal_message,
        )
        self.alerts = AlertSender(settings.alert_command, settings.alert_webhook)
        self.scope = settings.scope
        self.metrics = metrics

    @property
    def enabled(self) -> bool:
        return self.moderator.enabled

    def warm_up(self) -> None:
        """Read the word list and the offensive-language model (about a second; run in a thread at start)."""
        self.moderator.warm_up()

    async def check(self, text: str) -> Verdict:
        """The verdict on a student's message; a guard is asked off the event loop."""
        if self.moderator.guard is None:
            return self.moderator.check_message(text)
        return await asyncio.to_thread(self.moderator.check_message, text)

    def report(self, verdict: Verdict, where: dict[str, Any], recorded: bool) -> None:
        """Count ``verdict``'s flags, log them when no class records them (with the masked message), and send a
        high-severity one to the school's hook."""
        for flag in verdict.flags:
            self.metrics.flag(flag.category, flag.severity)
        if not verdict.flags:
            return
        if not recorded:
            text = verdict.masked if len(verdict.masked) <= LOG_TEXT else verdict.masked[:LOG_TEXT] + "…"
            log.warning(
                "safety flag %s (%s) on a /chat message, request %s: %r",
                ",".join(verdict.labels),
                verdict.action,
                where.get("request_id"),
                text,
            )
        if should_alert(verdict):
            self.alerts.send(alert_payload(verdict, where))

    def close(self) -> None:
        self.alerts.close()
        self.moderator.close()


@dataclass
class ModeratedGate:
    """An answer's gate (``grounding.gate.Gate``) followed by the answer filter: the text the gate lets through
    is released sentence by sentence, a failing sentence replaced; ``reminder`` ends the answer (personal data).
    ``extra`` (the answer's ``flags`` and ``scope`` fields) gets the answer's flags when it ends."""

    gate: Gate
    answer_filter: AnswerFilter | None
    extra: dict[str, Any]
    reminder: str | None = None
    metrics: Metrics | None = None
    answer_flags: list[str] = field(default_factory=list)

    @property
    def faithfulness(self) -> str:
        return self.gate.faithfulness

    @property
    def truncated(self) -> bool:
        return self.gate.truncated

    @property
    def stopped(self) -> bool:
        return self.gate.stopped or (self.answer_filter is not None and self.answer_filter.stopped)

    def feed(self, delta: str) -> str:
        text = self.gate.feed(delta)
        return self.answer_filter.feed(text) if self.answer_filter is not None and text else text

    def finish(self, finish_reason: str | None = None) -> str:
        text = self.gate.finish(finish_reason)
        if self.answer_filter is not None:
            text = self.answer_filter.feed(text) + self.answer_filter.finish()
            self._report(self.answer_filter)
        if self.reminder:
            text += "\n\n" + self.reminder
        return text

    def run(self, text: str, finish_reason: str | None = None) -> str:
        return self.feed(text) + self.finish(finish_reason)

    def _report(self, answer_filter: AnswerFilter) -> None:
        if not answer_filter.flags:
            return
        labels = sorted({f.label for f in answer_filter.flags})
        self.answer_flags[:] = [*labels, FILTERED] if answer_filter.replaced else labels
        flags = dict(self.extra.get("flags") or {})
        flags["answer"] = [f.to_dict() for f in answer_filter.flags]
        self.extra["flags"] = flags
        if self.metrics is not None:
            for flag in answer_filter.flags:
                self.metrics.flag(flag.category, flag.severity, "answer")


def moderated(safety: Safety, gate: Gate, verdict: Verdict, extra: dict[str, Any]) -> ModeratedGate | Gate:
    """``gate`` behind the answer filter (moderation on), with the privacy reminder for a message that held
    personal data; ``gate`` itself with moderation off."""
    if not safety.enabled:
        return gate
    reminder = PRIVACY_REMINDER if verdict.action == REMIND else None
    return ModeratedGate(gate, safety.moderator.answer_filter(), extra, reminder, safety.metrics)
