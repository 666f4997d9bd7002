"""Content rules beyond the schema (warnings), as the InstructLab web contribution UI checks them.

Per file: word limits, duplicate questions, knowledge answers that share no word with their context
(``lint_content``). Per path: ``attribution.txt`` next to version 3 files and folder names
(``lint_path``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import yamlload
from .findings import Finding, finding

MAX_CONTEXT_WORDS = 500
MAX_QNA_WORDS = 250
MAX_TOTAL_WORDS = 2300
TAXONOMY_ROOT_FOLDERS = ("knowledge", "compositional_skills", "foundational_skills")

_STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    of on or so than that the their them then there these they this to was were what when where which who whom
    why will with would you your yes no not""".split()  # noqa: SIM905
)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_FOLDER_OK = re.compile(r"^[^A-Z\s]+$")


def _stems(text: str) -> set[str]:
    """Content words of ``text``, cut to 6 letters so that 'animal' and 'animals' meet."""
    return {t[:6] for t in _TOKEN.findall(text.casefold()) if t not in _STOPWORDS}


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def lint_content(doc: yamlload.Document, data: Mapping[Any, Any], schema_name: str) -> list[Finding]:
    """Warnings about the seed examples of one file (whatever the schema said about their shape)."""
    seeds = data.get("seed_examples")
    if not isinstance(seeds, list):
        return []
    found: list[Finding] = []
    total = 0
    questions: dict[tuple[str, str], str] = {}

    def warn(rule: str, message: str, path: list[str | int], hint: str) -> None:
        line, col = yamlload.position(yamlload.node_at(doc.root, path)[0])
        found.append(
            finding(rule, message, line=line, col=col, yaml_path=yamlload.json_path(path), hint=hint)
        )

    def check_question(text: Any, context: Any, path: list[str | int]) -> None:
        """A question is a duplicate only when asked again over the same context (or again without one)."""
        if not isinstance(text, str) or not text.strip():
            return
        context_key = _normal(context) if isinstance(context, str) else ""
        key = (context_key, _normal(text))
        if key in questions:
            same = " with the same context" if context_key else ""
            warn(
                "duplicate-question",
                f"the same question{same} is also at {questions[key]}",
                path,
                "ask something different: repeated seed questions add nothing to the generated data",
            )
        else:
            questions[key] = yamlload.json_path(path)

    for i, seed in enumerate(seeds):
        if not isinstance(seed, Mapping):
            continue
        context = seed.get("context")
        context_words = yamlload.words(context)
        total += context_words
        if schema_name == "knowledge" and context_words > MAX_CONTEXT_WORDS:
            warn(
                "context-words",
                f"context has {context_words} words (limit {MAX_CONTEXT_WORDS})",
                ["seed_examples", i, "context"],
                "shorten the context to the passage the questions are about",
            )
        qna_words = 0
        qas = seed.get("questions_and_answers")
        if isinstance(qas, list):
            for j, qa in enumerate(qas):
                if not isinstance(qa, Mapping):
                    continue
                base: list[str | int] = ["seed_examples", i, "questions_and_answers", j]
                qna_words += yamlload.words(qa.get("question")) + yamlload.words(qa.get("answer"))
                check_question(qa.get("question"), context, [*base, "question"])
                answer = qa.get("answer")
                if schema_name == "knowledge" and isinstance(answer, str) and isinstance(context, str):
                    answer_stems = _stems(answer)
                    if answer_stems and not answer_stems & _stems(context):
                        warn(
                            "answer-not-in-context",
                            "the answer shares no word with its context",
                            [*base, "answer"],
                            "knowledge answers should be grounded in the context: quote or paraphrase it",
                        )
            qna_path: list[str | int] = ["seed_examples", i, "questions_and_answers"]
        else:
            qna_words += yamlload.words(seed.get("question")) + yamlload.words(seed.get("answer"))
            check_question(seed.get("question"), context, ["seed_examples", i, "question"])
            qna_path = ["seed_examples", i]
        total += qna_words
        if qna_words > MAX_QNA_WORDS:
            warn(
                "qna-words",
                f"the questions and answers of this seed example have {qna_words} words (limit {MAX_QNA_WORDS})",
                qna_path,
                "keep answers short and focused; long answers make poor seeds",
            )
    if total > MAX_TOTAL_WORDS:
        line, col = yamlload.position(yamlload.key_node(doc.root, "seed_examples"))
        found.append(
            finding(
                "total-words",
                f"the seed examples have {total} words in all (about {MAX_TOTAL_WORDS} is the most that fits)",
                line=line,
                col=col,
                yaml_path=".seed_examples",
                hint="shorten contexts and answers; the generator model's prompt must hold all seed examples",
            )
        )
    return found


def taxonomy_relative(path: Path, root: Path | None = None) -> Path | None:
    """``path`` relative to its taxonomy root (from the last knowledge/…_skills folder), else to ``root``."""
    parts = path.resolve().parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in TAXONOMY_ROOT_FOLDERS:
            return Path(*parts[i:])
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve())
        except ValueError:
            return None
    return None


def lint_path(path: Path, version3: bool, root: Path | None = None) -> list[Finding]:
    """Warnings about where the file lives: folder names and its ``attribution.txt``."""
    found: list[Finding] = []
    relative = taxonomy_relative(path, root)
    folders = relative.parts[:-1] if relative is not None else (path.resolve().parent.name,)
    for folder in folders:
        if not _FOLDER_OK.match(folder):
            found.append(
                finding(
                    "folder-name",
                    f'folder name "{folder}" has spaces or capital letters',
                    hint=f'rename it to "{re.sub(r"[^a-z0-9_]+", "_", folder.strip().lower()).strip("_")}" '
                    "(lowercase words joined by underscores)",
                )
            )
    if version3:
        attribution = path.parent / "attribution.txt"
        try:
            empty = not attribution.read_text(encoding="utf-8", errors="replace").strip()
        except FileNotFoundError:
            found.append(
                finding(
                    "attribution",
                    "attribution.txt is missing next to this file",
                    hint="add attribution.txt with 'Title of work:', 'Link to work:', 'Revision:', "
                    "'License of the work:' and 'Creator names:' lines",
                )
            )
        except OSError as exc:
            found.append(
                finding("attribution", f"attribution.txt cannot be read: {exc}", hint="fix its permissions")
            )
        else:
            if empty:
                found.append(
                    finding(
                        "attribution",
                        "attribution.txt is empty",
                        hint="fill in 'Title of work:', 'Link to work:', 'Revision:', 'License of the work:' "
                        "and 'Creator names:'",
                    )
                )
    return found
