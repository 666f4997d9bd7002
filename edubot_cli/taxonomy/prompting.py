"""Asking for what ``taxonomy add`` needs: each value from a flag, the ``--from`` file or a prompt; seed
examples typed at the prompt; the line prompter (multi-line answers); and the draft that keeps typed answers until
a run succeeds."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import UsageError
from ..fileio import write_atomic
from .seeds import MIN_QNA_PER_CONTEXT, MIN_SEED_EXAMPLES, QA, Prompt, Seed, text_value

Check = Callable[[str], "str | None"]
"""Returns what is wrong with a value, or None when it is fine."""


_HINTS = {
    "--repo": "a document on your computer: pass it with --document FILE and edubot keeps it in a repository "
    "for you; one already in git: --repo https://github.com/you/docs (or git@github.com:you/docs.git, "
    "file:///absolute/path)",
    "--commit": "pass the commit SHA, e.g. the output of `git rev-parse HEAD` in that repository; "
    "branch and tag names move, so InstructLab needs the SHA",
}


class Values:
    """Resolves each value from a flag, the --from file or a prompt; without a prompt, collects what is missing."""

    def __init__(self, prompt: Prompt | None, source: Mapping[str, Any], source_path: Path | None) -> None:
        self.prompt = prompt
        self.source = source
        self.source_path = source_path
        self.missing: list[str] = []

    def get(
        self,
        given: str | None,
        key: str,
        flag: str,
        question: str,
        default: str | None = None,
        check: Check | None = None,
    ) -> str:
        value = text_value(given)
        if value is not None:
            self._check(value, flag, check, flag)
            return value
        value = text_value(self.source.get(key)) if key else None
        if value is not None:
            self._check(value, flag, check, f"{key} in {self.source_path}")
            return value
        if self.prompt is not None:
            ask = question
            while True:
                answer = text_value(self.prompt(ask, default))
                if not answer:
                    if default is not None:
                        break
                    ask = f"{question} (required: it cannot be empty)"
                    continue
                problem = check(answer) if check is not None else None
                if problem is None:
                    return answer
                ask = f"{answer!r} {problem}. {question}"
        if default is not None:
            return default
        self.missing.append(flag)
        return ""

    @staticmethod
    def _check(value: str, flag: str, check: Check | None, origin: str) -> None:
        problem = check(value) if check is not None else None
        if problem is not None:
            raise UsageError(f"{origin} {value!r} {problem}", hint=_HINTS.get(flag, f"pass {flag} VALUE"))

    def raise_missing(self) -> None:
        """One usage error naming every flag that was needed and not given."""
        if not self.missing:
            return
        if len(self.missing) == 1:
            message = f"{self.missing[0]} is required"
        else:
            message = f"{len(self.missing)} required flags are missing: {', '.join(self.missing)}"
        values = " ".join(f"{flag} {'FILE' if flag == '--from' else 'VALUE'}" for flag in self.missing)
        raise UsageError(message, hint=f"pass {values} (or run in a terminal to be asked)")


def required(prompt: Prompt, question: str, default: str | None = None) -> str:
    """Ask until the answer is not empty (a seed example needs every question and answer)."""
    ask = question
    while True:
        answer = text_value(prompt(ask, default))
        if answer:
            return answer
        ask = f"{question} (required: it cannot be empty)"


def ask_seeds(kind: str, prompt: Prompt | None, contexts: Sequence[str] = ()) -> list[Seed]:
    """Seed examples typed at the prompt: each answer is checked as typed; a sixth and later are offered.
    ``contexts`` (passages of the teacher's document) are offered in turn as the knowledge contexts."""
    if prompt is None:
        raise UsageError(
            "no seed examples given",
            hint="pass --from FILE (CSV or JSONL with context,question,answer) or run in a terminal to be asked",
        )
    seeds: list[Seed] = []
    while True:
        i = len(seeds) + 1
        if i > MIN_SEED_EXAMPLES:
            more = text_value(prompt(f"Add seed example {i}? (y/N)", "n")) or "n"
            if not more.lower().startswith("y"):
                return seeds
        label = f"Seed example {i}/{MIN_SEED_EXAMPLES}" if i <= MIN_SEED_EXAMPLES else f"Seed example {i}"
        if kind == "knowledge":
            offered = contexts[i - 1] if i <= len(contexts) else None
            context = required(
                prompt,
                f"{label}: context (a passage of the document"
                + ("; Enter takes the one shown)" if offered else ")"),
                offered,
            )
            qas = []
            for j in range(1, MIN_QNA_PER_CONTEXT + 1):
                question = required(prompt, f"  question {j}/{MIN_QNA_PER_CONTEXT} about this context")
                answer = required(prompt, f"  answer {j}/{MIN_QNA_PER_CONTEXT}")
                qas.append(QA(question, answer))
            seeds.append(Seed(context, qas))
        else:
            optional = text_value(prompt(f"{label}: context (optional, Enter to skip)", ""))
            question = required(prompt, "  question")
            answer = required(prompt, "  answer")
            seeds.append(Seed(optional, [QA(question, answer)]))


MULTILINE = '"""'
MULTILINE_TIP = (
    f"(to type several lines: enter {MULTILINE} alone on a line, the text, then {MULTILINE} again)"
)


def line_prompter(read: Callable[[str], str], tip: Callable[[str], None] | None = None) -> Prompt:
    """A ``Prompt`` over ``read`` (``input`` on a terminal): Enter takes the default; a line holding only
    ``\"\"\"`` starts a multi-line answer that ends at the next such line. ``tip`` is told how, once."""
    told = False

    def ask(question: str, default: str | None) -> str:
        nonlocal told
        if tip is not None and not told:
            tip(MULTILINE_TIP)
            told = True
        shown = ""
        if default:
            first, _, rest = default.partition("\n")
            shown = f" [{first}{'…' if rest else ''}]"
        line = read(f"{question}{shown}: ")
        if line.strip() == MULTILINE:
            lines: list[str] = []
            while (more := read("... ")).strip() != MULTILINE:
                lines.append(more)
            return "\n".join(lines)
        if not line.strip() and default is not None:
            return default
        return line

    return ask


class Draft:
    """What was typed at the prompts of ``taxonomy add`` for one leaf, kept in a file until the run succeeds.

    Answers are recorded in order after each one (an answer refused and asked again keeps only the new
    answer, under the first question). On resume, each recorded answer is offered as the default
    of the same question (Enter keeps it), so a failed run loses nothing and any answer can still be changed.
    """

    def __init__(self, path: Path, previous: list[tuple[str, str]] | None = None) -> None:
        self.path = path
        self.previous = previous or []
        self.answers: list[tuple[str, str]] = []
        self._next = 0

    @classmethod
    def for_leaf(cls, leaf: PurePosixPath, directory: Path | None = None) -> Draft:
        from ..fileio import cache_dir

        folder = directory if directory is not None else cache_dir() / "drafts"
        path = folder / ("__".join(leaf.parts) + ".json")
        previous: list[tuple[str, str]] = []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            previous = [(str(q), str(a)) for q, a in data.get("answers", [])]
        except (OSError, ValueError, TypeError, AttributeError):
            previous = []
        return cls(path, previous)

    def wrap(self, prompt: Prompt) -> Prompt:
        def ask(question: str, default: str | None) -> str:
            for index in range(self._next, len(self.previous)):
                if self.previous[index][0] == question:
                    default = self.previous[index][1]
                    self._next = index + 1
                    break
            answer = prompt(question, default)
            last = self.answers[-1][0] if self.answers else None
            if (
                last is not None
                and question != last
                and (question.startswith(last) or question.endswith(last))
            ):
                self.answers[-1] = (last, answer)  # a question asked again after a refused answer
            else:
                self.answers.append((question, answer))
            self._save()
            return answer

        return ask

    def _save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(
                self.path, json.dumps({"answers": self.answers}, ensure_ascii=False, indent=1) + "\n"
            )
        except OSError:
            pass  # a draft is a convenience: never fail the command over it

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
