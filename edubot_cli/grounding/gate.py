"""The answer gate: what a grounded answer must pass, sentence by sentence, before a student sees it.

The engine's text is held back until a sentence ends, then the sentence is:

1. cut, with everything after it, when it leaks the prompt's scaffolding (``Notes:``, ``Question:``, a
   taxonomy path) or repeats an earlier sentence (a small model's runaway loop): the engine is told to stop;
2. checked against the passages (``facts.Support``): a number, date, amount or name that no passage (nor the
   question) holds fails the answer, and so does one that the passage sentences it paraphrases (those sharing
   the most words with it, or one word fewer) do not hold: a small model often copies the wrong time from the
   right passage. For a factoid question ("how much", "when", "who"), a fact of the kind asked for must be the
   one the material's best sentence for the question holds.
   The engine is told to stop, the sentence is dropped, and the material's own answer is quoted
   (``quote.best_quote``);
3. cleaned of citation markers beyond the sources given (``[7]`` of four), and given the marker of the passage
   it draws on when it has none, so every checked sentence points at its source.

Sentences that draw on nothing (no fact, no word of the question, fewer than two words of a passage: "Sure!",
"I don't know.") wait for one that does; an answer made only of them is replaced by the quote, since the passages were judged to cover the
question when they were chosen. An answer cut by
the engine's token limit ends at its last whole sentence and says so.

``faithfulness`` is what the answer says of itself: ``checked`` (every fact found in the passages),
``repaired`` (a failing sentence was dropped and the quote added after what had passed), ``quoted`` (the quote
is the answer), or ``unchecked`` (an ungrounded answer, or the check is off).

Ungrounded answers pass through ``Gate(check=False)``: no sentence is held back (no first-token cost), and a
repeated sentence still stops the engine once it is complete.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .facts import Fact, Support, claims
from .quote import Quote, best_quote, holds_kind, wanted_facts
from .words import content_stems, sentence_ends, sentences, stem, words

CHECKED = "checked"
REPAIRED = "repaired"
QUOTED = "quoted"
UNCHECKED = "unchecked"

STOP_SEQUENCES = ["\nNotes:", "\nQuestion:", "Notes:\n", "\nPassage"]
"""Sent to the engine with a grounded request: where a small model starts writing the prompt's scaffolding."""

NOT_FOUND = "I could not find a clear answer to that in your class notes."
LENGTH_NOTE = "\n\n*(The answer was cut short at the length limit.)*"
RUNAWAY_CHECK = 160
"""Characters held without a sentence end after which the held text is checked for a runaway loop."""

_LEAK = re.compile(
    r"(?i)\bpassages?\b|^\W*(?:question|sources?|notes?)\s*(?:\[\d+\])?\s*:|\[\d+\]\s*[A-Z][^.:\n]{0,60}:\s|"
    r"\b(?:knowledge|compositional_skills|foundational_skills)/[\w/]+"
)
"""The prompt's scaffolding in an answer: the word "passage", a "Question:" or "Notes:" line, a passage's
``[n] Label:`` header, a taxonomy path."""
_MARKER = re.compile(r"\s?\[(\d+)\]")
_TAIL = re.compile(r"([.!?…]*[\"'”’)]*\s*)$")
_REPEATED_RUN = 6
"""The longest run of words whose four repeats in a row make a runaway."""


def _normal(sentence: str) -> str:
    return " ".join(words(_MARKER.sub(" ", sentence)))


@dataclass
class Gate:
    """One answer's gate (see the module docstring). ``passages`` are ``(n, text)`` as numbered for the model."""

    question: str = ""
    passages: Sequence[tuple[int, str]] = ()
    check: bool = True
    mode: str = "quote"
    """How grounded answers are made (the ``grounding_answer`` setting): ``quote`` (the material's own sentence
    whenever one answers the question, else the model, checked), ``check`` (the model, checked; factoid
    questions from the material) or ``model`` (the model, unchecked)."""
    faithfulness: str = UNCHECKED
    stopped: bool = False
    """Set when the engine should stop generating: the rest of its text would be cut anyway."""
    truncated: bool = False
    unsupported: list[Fact] = field(default_factory=list)
    _held: str = ""
    _seen: set[str] = field(default_factory=set)
    _shown: list[str] = field(default_factory=list)
    _substance: bool = False
    _pending: list[str] = field(default_factory=list)
    _support: Support | None = None
    _each: list[tuple[int, set[str], Support]] = field(default_factory=list)
    _lines: list[tuple[set[str], Support]] = field(default_factory=list)
    _asked: Support | None = None
    _kinds: tuple[str, ...] = ()
    _quote: Quote | None = None
    _expected: Support | None = None
    _question_stems: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.check = self.check and bool(self.passages) and self.mode != "model"
        if self.check:
            self.faithfulness = CHECKED
            self._support = Support.of([*(text for _, text in self.passages), self.question])
            self._each = [(n, content_stems(text), Support.of([text])) for n, text in self.passages]
            self._asked = Support.of([self.question])
            self._lines = [
                (content_stems(line), Support.of([line]))
                for _, text in self.passages
                for line in sentences(text)
                if not line.startswith("Q: ")
            ]
            self._question_stems = content_stems(self.question)
            self._kinds = wanted_facts(self.question)
            self._quote = best_quote(self.question, self.passages)
            if self._kinds and self._quote is not None:
                self._expected = Support.of([self._quote.text, self.question])

    def direct(self) -> str | None:
        """The answer to give without asking the model: the material's own sentence that answers the question
        (``quote.best_quote``), in ``quote`` mode whenever there is one, in ``check`` mode for a factoid question
        ("how much", "when", "who") when the sentence holds a fact of the kind asked for. Measured on held-out
        questions, the embedded model's paraphrases were right far less often than the quotes
        (``docs/grounding.md``)."""
        quote = self._quote
        if not self.check or quote is None:
            return None
        if self.mode == "check" and not any(holds_kind(quote.text, kind) for kind in self._kinds):
            return None
        self.faithfulness = QUOTED
        return quote.render()

    # -- the stream ------------------------------------------------------------------------------------------

    def feed(self, delta: str) -> str:
        """Take the engine's next ``delta``; return the text the reader may see now."""
        if self.stopped or not delta:
            return ""
        if not self.check:
            return self._pass(delta)
        self._held += delta
        ends = sentence_ends(self._held)
        start = 0
        out: list[str] = []
        for end in ends:
            passed = self._sentence(self._held[start:end])
            start = end
            if passed is None:
                self._held = ""
                return "".join(out)
            out.append(passed)
        self._held = self._held[start:]
        if len(self._held) > RUNAWAY_CHECK and self._runaway(self._held):
            self.stopped = True
            self._held = ""
        return "".join(out)

    def finish(self, finish_reason: str | None = None) -> str:
        """The text still to show once the engine is done (or told to stop): the last sentence, a quote, or a
        note that the length limit cut the answer."""
        out: list[str] = []
        tail = self._held
        self._held = ""
        if not self.check:
            if finish_reason == "length":
                self.truncated = True
        elif tail.strip() and not self.stopped:
            if finish_reason == "length":
                self.truncated = True
            else:
                passed = self._sentence(tail)
                if passed is not None:
                    out.append(passed)
        if self.check and (self.unsupported or not self._substance):
            quote = self._quote
            if quote is not None and all(quote.text not in shown for shown in self._shown):
                lead = "\n\n" if self._shown and self._substance else ""
                out.append(lead + quote.render())
                self.faithfulness = REPAIRED if self._substance else QUOTED
                self.truncated = False
            elif self.unsupported:
                self.faithfulness = REPAIRED
                if not self._substance:
                    out.append(NOT_FOUND)
            else:
                out.append("".join(self._pending))
        if self.truncated:
            out.append(LENGTH_NOTE)
        return "".join(out)

    def run(self, text: str, finish_reason: str | None = None) -> str:
        """A whole answer through the gate (the JSON answer)."""
        return self.feed(text) + self.finish(finish_reason)

    # -- one sentence ----------------------------------------------------------------------------------------

    def _pass(self, delta: str) -> str:
        """Ungrounded text: shown at once; a completed sentence seen before stops the engine."""
        self._held += delta
        start = 0
        for end in sentence_ends(self._held):
            if self._repeated(self._held[start:end]):
                self.stopped = True
            start = end
        self._held = self._held[start:]
        return delta

    def _repeated(self, sentence: str) -> bool:
        key = _normal(sentence)
        if not key:
            return False
        if key in self._seen:
            return True
        self._seen.add(key)
        return False

    def _sentence(self, sentence: str) -> str | None:
        """``sentence`` as it may be shown, or None (and ``stopped``) when it and the rest are cut."""
        if _LEAK.search(sentence) or self._repeated(sentence):
            self.stopped = True
            return None
        bad = self._unaligned(sentence)
        if bad:
            self.unsupported = bad
            self.stopped = True
            return None
        sentence = self._markers(sentence)
        if not self._draws_on_material(sentence):
            if not self._substance:  # "Sure!" waits for something drawn from the passages
                self._pending.append(sentence)
                return ""
        else:
            self._substance = True
        self._shown.append(sentence)
        held, self._pending = "".join(self._pending), []
        return held + sentence

    def _unaligned(self, sentence: str) -> list[Fact]:
        """The facts of ``sentence`` that the passages lack, or that the passage sentences it draws on most
        (sharing the most words with it) lack: "the library closes at 8:15 on Fridays" draws on "On Fridays the
        library closes at 3:30", and 8:15 (the opening time, elsewhere in the passage) is not held there."""
        assert self._support is not None and self._asked is not None
        asked = self._asked
        facts = [fact for fact in claims(sentence) if not asked.holds(fact)]
        if not facts:
            return []
        missing = [fact for fact in facts if not self._support.holds(fact)]
        if missing:
            return missing
        if self._expected is not None:
            wanted = [fact for fact in facts if self._is_wanted(fact)]
            wrong = [fact for fact in wanted if not self._expected.holds(fact)]
            if wrong:
                return wrong
        mine = content_stems(sentence) - {stem(f.text) for f in facts}
        overlaps = [len(mine & stems) for stems, _ in self._lines]
        most = max(overlaps, default=0)
        if most == 0:
            return []
        drawn = [
            support
            for (_, support), overlap in zip(self._lines, overlaps, strict=True)
            if overlap >= max(1, most - 1)
        ]
        return [fact for fact in facts if not any(support.holds(fact) for support in drawn)]

    def _draws_on_material(self, sentence: str) -> bool:
        """Whether ``sentence`` says something: a fact, a word of the question, or two words of a passage."""
        mine = content_stems(sentence)
        return bool(
            claims(sentence)
            or self._question_stems & mine
            or any(len(mine & stems) >= 2 for _, stems, _ in self._each)
        )

    def _is_wanted(self, fact: Fact) -> bool:
        """Whether ``fact`` is of a kind the question asks for."""
        if fact.kind == "name":
            return "name" in self._kinds
        return any(holds_kind(fact.text, kind) for kind in self._kinds if kind != "name")

    def _markers(self, sentence: str) -> str:
        """Markers beyond the passages removed; the supporting passage's marker added where none is left."""
        numbers = {n for n, _ in self.passages}
        sentence = _MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in numbers else "", sentence)
        if _MARKER.search(sentence):
            return sentence
        n = self._supporting(sentence)
        if n is None:
            return sentence
        tail = _TAIL.search(sentence)
        cut = tail.start() if tail else len(sentence)
        return f"{sentence[:cut]} [{n}]{sentence[cut:]}"

    def _supporting(self, sentence: str) -> int | None:
        """The passage sharing the most content words (and facts) with ``sentence``: at least two."""
        mine = content_stems(sentence)
        facts = claims(sentence)
        best: tuple[int, int] | None = None
        for n, stems, support in self._each:
            shared = len(mine & stems) + sum(1 for fact in facts if support.holds(fact))
            if shared >= 2 and (best is None or shared > best[0]):
                best = (shared, n)
        return best[1] if best else None

    def _runaway(self, text: str) -> bool:
        """Whether ``text`` loops: a run of two to six words repeated four times in a row ("every year, every
        year, ...")."""
        found = words(text)
        for size in range(1, _REPEATED_RUN + 1):
            for i in range(len(found) - 4 * size + 1):
                run = found[i : i + size]
                if all(found[i + k * size : i + (k + 1) * size] == run for k in range(1, 4)):
                    return True
        return False
