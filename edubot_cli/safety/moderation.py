"""The one moderation step: ``check_message`` for what a student writes, ``check_answer`` and ``AnswerFilter`` for
what the model writes back. CPU only, no network, a fraction of a millisecond a message.

A student's message goes through, in order:

1. the phrase rules (``rules.RULES``) on the folded text (``normalise.fold``);
2. the word lexicon (``lexicon``: better-profanity's list sorted for a school), starred words included;
3. the injection markers that need the text as typed (a ``system:`` line, ``DAN`` in capitals) and any base64
   blob, decoded and checked like the message itself;
4. personal data (``personal``), masked in ``Verdict.masked``;
5. the offensive-language model (``toxicity``), only for a message that speaks to someone ("you") and that no
   harassment rule caught already;
6. the self-harm model (``self_harm_model``), for a message no self-harm rule caught that has a word of the
   subject: what a child at risk says in words the rules never saw.

``Moderator`` adds the optional guard model (``guard``) on top: the CPU verdict always stands, the guard can only
add flags.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..grounding.words import sentence_ends
from . import personal
from .lexicon import KINDS, MILD, lexicon
from .normalise import fold, starred
from .rules import ANSWER_RULES, DAN, ROLE_MARKERS, RULES, Rule
from .self_harm_model import SUPPORT_CUT, cued, self_harm_model
from .toxicity import toxicity_model
from .verdict import (
    ANSWER,
    HARASSMENT,
    HIGH,
    INJECTION,
    LOW,
    MEDIUM,
    PERSONAL_DATA,
    REFUSE,
    REMIND,
    SELF_HARM,
    SUPPORT,
    Flag,
    Verdict,
)

if TYPE_CHECKING:
    from .guard import GuardClient

DEFAULT_SUPPORT_MESSAGE = (
    "It sounds like you are going through something really hard. You are not alone: please talk to a teacher or "
    "an adult you trust today. If you are in danger right now, call your local emergency number. In the UK you "
    "can call Childline on 0800 1111 (free, any time)."
)
"""The self-harm reply when the school has set none (``support_message``). Schools must set their own, with the
help lines of their country and the name of the adult to talk to."""

DEFAULT_REFUSAL_MESSAGE = (
    "I can't help with that. Let's keep our chat kind and safe: ask me something about your lessons and I'll "
    "do my best to help."
)
"""The calm refusal when the school has set none (``refusal_message``)."""

PRIVACY_REMINDER = (
    "A quick reminder: please don't share personal details here, like phone numbers, addresses, e-mails or "
    "full names. I have hidden them."
)
"""Said after the answer to a message that held personal data (masked in the store)."""

REPLACEMENT = "(I left out a part of this answer that is not right for school.)"
"""What a model's sentence that fails the answer check is replaced by."""

TOXICITY_CUT = 0.9
"""The offensive-language model's probability above which a message aimed at someone is harassment. At 0.9 it
adds insults without a listed word ("you're an idiot": 1.0) and no benign question of the labelled set."""

_ADDRESSED = re.compile(r"\b(?:you|your|yourself|bot|edubot)\b")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])")
_PRINTABLE = re.compile(r"^[\x20-\x7e\s]+$")

_LEXICON_RULES = {
    "strong": "profanity.strong",
    "slur": "profanity.slur",
    "sexual": "profanity.sexual",
    "mild": "profanity.mild",
}


def _action(category: str, severity: str) -> str:
    if category == PERSONAL_DATA:
        return REMIND
    return ANSWER if severity == LOW else REFUSE


def _rule_flags(folded: str, rules: tuple[Rule, ...]) -> list[Flag]:
    return [Flag(r.category, r.severity, r.action, r.name) for r in rules if r.fires(folded)]


def _word_flags(text: str, folded: str, *, mild: bool = True) -> list[Flag]:
    words = lexicon()
    kinds = {hit.kind for hit in words.hits(folded)}
    kinds.update(k for k in (words.starred(w) for w in starred(text)) if k is not None)
    if not mild:
        kinds.discard(MILD)
    flags = []
    for kind in sorted(kinds):
        category, severity = KINDS[kind]
        flags.append(Flag(category, severity, _action(category, severity), _LEXICON_RULES[kind]))
    return flags


def _decoded_blobs(text: str) -> list[str]:
    """The printable text hidden in base64 runs of ``text`` (``aWdub3Jl...``)."""
    found = []
    for blob in _BASE64.findall(text):
        if not re.search(r"[0-9+/]|[a-z][A-Z]|[A-Z][a-z]{0,2}[A-Z]", blob):
            continue  # a long plain word is not base64
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if _PRINTABLE.match(decoded) and re.search(r"[A-Za-z]{3}", decoded):
            found.append(decoded)
    return found


def _message_flags(text: str, folded: str) -> list[Flag]:
    flags = _rule_flags(folded, RULES)
    flags += _word_flags(text, folded)
    if ROLE_MARKERS.search(text):
        flags.append(Flag(INJECTION, MEDIUM, REFUSE, "injection.role_marker"))
    if DAN.search(text):
        flags.append(Flag(INJECTION, MEDIUM, REFUSE, "injection.dan"))
    return flags


def check_message(text: str, *, model: bool = True) -> Verdict:
    """The verdict on a student's message (see the module docstring); ``model=False`` leaves out the
    offensive-language model (it is read from disk on first use, about a second)."""
    folded = fold(text)
    flags = _message_flags(text, folded)
    for decoded in _decoded_blobs(text):
        hidden = _message_flags(decoded, fold(decoded))
        flags += [Flag(f.category, f.severity, f.action, f"base64.{f.rule}") for f in hidden]
        if hidden:
            flags.append(Flag(INJECTION, MEDIUM, REFUSE, "injection.encoded"))
    spans = personal.find(text)
    for kind in dict.fromkeys(span.kind for span in spans):
        flags.append(Flag(PERSONAL_DATA, LOW, REMIND, f"personal_data.{kind.strip('[]')}"))
    if (
        model
        and not any(f.category == HARASSMENT and f.severity != LOW for f in flags)
        and _ADDRESSED.search(folded)
        and toxicity_model().probability(text) >= TOXICITY_CUT
    ):
        flags.append(Flag(HARASSMENT, MEDIUM, REFUSE, "toxicity.model"))
    if (
        model
        and not any(f.category == SELF_HARM for f in flags)
        and cued(folded)
        and self_harm_model().probability(folded) >= SUPPORT_CUT
    ):
        flags.append(Flag(SELF_HARM, HIGH, SUPPORT, "self_harm.model"))
    masked = personal.mask(text, spans) if spans else text
    return Verdict(text, masked, tuple(dict.fromkeys(flags)))


def check_answer(text: str) -> Verdict:
    """The verdict on a piece of a model's answer (a sentence): the answer rules (``rules.ANSWER_RULES``) and the
    lexicon; mild words are not flagged in answers."""
    folded = fold(text)
    flags = _rule_flags(folded, ANSWER_RULES) + _word_flags(text, folded, mild=False)
    return Verdict(text, text, tuple(dict.fromkeys(flags)))


def fails(verdict: Verdict) -> bool:
    """Whether an answer's sentence is replaced: any flag above ``low``."""
    return any(f.severity in (HIGH, MEDIUM) for f in verdict.flags)


@dataclass
class AnswerFilter:
    """A model's answer, released sentence by sentence (see ``feed``). A sentence that fails ``check`` is never
    released: it is replaced by ``replacement`` (once for a run of failing sentences), its flags are kept in
    ``flags``, and after ``stop_after`` replaced sentences (or one ``high`` flag) the rest is dropped and
    ``stopped`` tells the caller to stop the engine."""

    check: Callable[[str], Verdict] = check_answer
    replacement: str = REPLACEMENT
    stop_after: int = 2
    flags: list[Flag] = field(default_factory=list)
    replaced: int = 0
    stopped: bool = False
    _held: str = ""
    _last_replaced: bool = False

    def feed(self, delta: str) -> str:
        """Take the next piece of the answer; return what may be shown now: the sentences completed by it that
        pass (the sentence still being written is held back)."""
        if self.stopped or not delta:
            return ""
        self._held += delta
        ends = sentence_ends(self._held)
        if not ends:
            return ""
        out: list[str] = []
        start = 0
        for end in ends:
            out.append(self._sentence(self._held[start:end]))
            start = end
            if self.stopped:
                self._held = ""
                return "".join(out)
        self._held = self._held[start:]
        return "".join(out)

    def finish(self) -> str:
        """The held sentence, checked, once the answer is complete."""
        tail, self._held = self._held, ""
        if self.stopped or not tail:
            return ""
        return self._sentence(tail)

    def run(self, text: str) -> str:
        """A whole answer through the filter (the JSON answer)."""
        return self.feed(text) + self.finish()

    def _sentence(self, sentence: str) -> str:
        if not sentence.strip():
            return sentence
        verdict = self.check(sentence)
        self.flags += [f for f in verdict.flags if f not in self.flags]
        if not fails(verdict):
            self._last_replaced = False
            return sentence
        self.replaced += 1
        if self.replaced >= self.stop_after or verdict.severity == HIGH:
            self.stopped = True
        if self._last_replaced:
            return ""
        self._last_replaced = True
        trailing = sentence[len(sentence.rstrip()) :]
        return self.replacement + (trailing or " ")


def reply(verdict: Verdict, support_message: str, refusal_message: str) -> str | None:
    """What the chat says instead of asking the model: the support message for ``support``, the refusal for
    ``refuse``; None when the model is to be asked."""
    if verdict.action == SUPPORT:
        return support_message
    if verdict.action == REFUSE:
        return refusal_message
    return None


class Moderator:
    """Moderation as one server configures it: on or off, the replies, and an optional guard model.

    ``check_message`` always runs the CPU filters; with a guard (``GuardClient``) its flags are added to theirs.
    With moderation off every message passes (``Verdict`` without flags) and answers are not filtered.
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        guard: GuardClient | None = None,
        support_message: str = DEFAULT_SUPPORT_MESSAGE,
        refusal_message: str = DEFAULT_REFUSAL_MESSAGE,
    ) -> None:
        self.enabled = enabled
        self.guard = guard
        self.support_message = support_message
        self.refusal_message = refusal_message

    def warm_up(self) -> None:
        """Read the word list and the offensive-language model now (about a second), not on the first message."""
        if self.enabled:
            lexicon()
            toxicity_model()
            self_harm_model()

    def check_message(self, text: str) -> Verdict:
        """The verdict on a student's message (blocking: the guard is asked over HTTP; call it off the event
        loop)."""
        if not self.enabled:
            return Verdict(text)
        verdict = check_message(text)
        if self.guard is not None:
            extra = self.guard.check([{"role": "user", "content": text}])
            if extra:
                verdict = verdict.with_flags(extra)
        return verdict

    def answer_filter(self) -> AnswerFilter | None:
        """A filter for one answer; None with moderation off."""
        return AnswerFilter() if self.enabled else None

    def reply(self, verdict: Verdict) -> str | None:
        """The support or refusal text for ``verdict``; None when the model is to be asked."""
        return reply(verdict, self.support_message, self.refusal_message)

    def close(self) -> None:
        if self.guard is not None:
            self.guard.close()
