"""The text of a version 3 qna.yaml and of attribution.txt, written line by line so that multi-line text stays
readable (literal blocks) and every value round-trips through YAML."""

from __future__ import annotations

import textwrap

import yaml

from .seeds import Seed


def _scalar(value: str) -> str:
    out = yaml.safe_dump(value, allow_unicode=True, width=2**31 - 1)
    if out.endswith("\n...\n"):
        out = out[: -len("\n...\n")]
    return out.rstrip("\n")


def _clean(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return textwrap.dedent("\n".join(lines)).strip("\n")


def _literal_ok(text: str) -> bool:
    printable = all(ch in "\t\n" or (ch.isprintable() and ch not in "\ufeff\u2028\u2029") for ch in text)
    return bool(text) and printable and not text[0].isspace()


def _field(key: str, value: str, key_col: int, literal: bool) -> list[str]:
    """``key: value`` lines for a key starting at ``key_col`` (the caller adds any '- ' prefix)."""
    text = _clean(value)
    if (literal or "\n" in text) and _literal_ok(text):
        pad = " " * (key_col + 2)
        return [f"{key}: |", *[(pad + line) if line else "" for line in text.split("\n")]]
    return [f"{key}: {_scalar(text)}"]


def _prefixed(lines: list[str], first: str, rest: str) -> list[str]:
    return [first + lines[0], *[(rest + line) if line else "" for line in lines[1:]]]


def render_knowledge(
    created_by: str, domain: str, outline: str, seeds: list[Seed], repo: str, commit: str, patterns: list[str]
) -> str:
    lines = ["version: 3", *_field("created_by", created_by, 0, False), *_field("domain", domain, 0, False)]
    lines += _field("document_outline", outline, 0, True)
    lines.append("seed_examples:")
    for seed in seeds:
        assert seed.context is not None
        lines += _prefixed(_field("context", seed.context, 4, True), "  - ", "")
        lines.append("    questions_and_answers:")
        for qa in seed.qas:
            lines += _prefixed(_field("question", qa.question, 8, True), "      - ", "")
            lines += _prefixed(_field("answer", qa.answer, 8, True), "        ", "")
    lines += [
        "document:",
        "  " + _field("repo", repo, 2, False)[0],
        "  " + _field("commit", commit, 2, False)[0],
    ]
    lines.append("  patterns:")
    lines += [f"    - {_scalar(p.strip())}" for p in patterns]
    return "\n".join(lines) + "\n"


def render_skill(created_by: str, task_description: str, seeds: list[Seed]) -> str:
    lines = ["version: 3", *_field("created_by", created_by, 0, False)]
    lines += _field("task_description", task_description, 0, False)
    lines.append("seed_examples:")
    for seed in seeds:
        qa = seed.qas[0]
        keys = [("context", seed.context)] if seed.context else []
        keys += [("question", qa.question), ("answer", qa.answer)]
        for position, (key, value) in enumerate(keys):
            lines += _prefixed(_field(key, value, 4, True), "  - " if position == 0 else "    ", "")
    return "\n".join(lines) + "\n"


def render_attribution(title: str, link: str, revision: str | None, license: str, creators: str) -> str:
    lines = [f"Title of work: {title}", f"Link to work: {link}"]
    if revision:
        lines.append(f"Revision: {revision}")
    lines += [f"License of the work: {license}", f"Creator names: {creators}"]
    return "\n".join(" ".join(line.split()) for line in lines) + "\n"
