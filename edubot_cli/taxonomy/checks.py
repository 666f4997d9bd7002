"""Validate one file's content: YAML loading, version, yamllint, JSON Schema, then the content lint.

Everything here depends only on the bytes and on the schema folder, so the result can be cached by content
hash (``cache.py``) and computed in worker processes (``validate.py``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import lint, schema, yamlload
from .findings import ERROR, WARNING, Finding, finding

YAMLLINT_CONFIG = "{extends: relaxed, rules: {line-length: disable}}"
"""InstructLab's ``DEFAULT_YAMLLINT_CONFIG``."""

KNOWLEDGE_SHAPE = (
    "version 3 knowledge needs: version: 3, created_by, domain, document_outline, "
    "document: {repo, commit, patterns}, and at least 5 seed_examples, each with a context and "
    "questions_and_answers (at least 3 question/answer pairs about that context)"
)
SKILL_SHAPE = (
    "a version 3 compositional skill needs: version: 3, created_by, task_description and at least 5 "
    "seed_examples, each with a question and an answer (and optionally a context)"
)


@dataclass
class ContentResult:
    """Findings for one file's bytes, and what the path-level checks need to know about it."""

    findings: list[Finding] = field(default_factory=list)
    version3: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], "version3": self.version3}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContentResult:
        return cls([Finding.from_dict(f) for f in data["findings"]], bool(data["version3"]))


@functools.lru_cache(maxsize=1)
def yamllint_config() -> Any:
    from yamllint.config import YamlLintConfig

    return YamlLintConfig(YAMLLINT_CONFIG)


_YAMLLINT_HINTS = {
    "trailing-spaces": "delete the spaces at the end of the line",
    "new-line-at-end-of-file": "end the file with a newline",
    "empty-lines": "remove the extra blank lines",
    "indentation": "indent consistently (2 spaces per level; list items under a key either all indented or not)",
    "key-duplicates": "remove one of the two keys or merge their values",
    "colons": "write `key: value` with one space after the colon and none before",
    "hyphens": "write list items as `- item` with one space after the hyphen",
    "new-lines": "use Unix line endings (LF)",
    "document-end": "remove the `...` document end marker",
    "empty-values": "give the key a value",
    "anchors": "define each anchor (&name) once, before its aliases (*name)",
    "syntax": "fix the YAML at this position",
}


_DISABLE_FILE = re.compile(r"^#\s*yamllint disable-file\s*$")


def _yamllint_problems(text: str) -> Iterator[Any]:
    """yamllint's problems for text that PyYAML has already parsed.

    ``linter.run`` would parse the whole text once more just to look for a syntax error, which cannot occur
    here (the same pure-Python scanner and parser just succeeded), so only its cosmetic rules run.
    """
    from yamllint import linter, parser

    first_line = next(parser.line_generator(text)).content
    if _DISABLE_FILE.match(first_line):
        return iter(())
    return iter(linter.get_cosmetic_problems(text, yamllint_config(), None))


def run_yamllint(text: str, doc: yamlload.Document, strict: bool) -> list[Finding]:
    """yamllint with InstructLab's configuration, in-process; warnings become errors with ``strict``."""
    if text.startswith("\ufeff"):  # the yamllint CLI decodes stdin bytes with the BOM stripped
        text = text[1:]
    found = []
    for problem in _yamllint_problems(text):
        rule = problem.rule or "syntax"
        severity = ERROR if strict or problem.level == "error" else WARNING
        found.append(
            finding(
                f"yamllint/{rule}",
                problem.desc,
                line=problem.line,
                col=problem.column,
                yaml_path=yamlload.path_at(doc.root, problem.line, problem.column),
                hint=_YAMLLINT_HINTS.get(rule, f"see yamllint's `{rule}` rule"),
                severity=severity,
            )
        )
    return found


def _schema_hint(error: Any, name: str) -> str:
    keyword = error.validator
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "the key"
        return f"add `{missing}:` here; " + (KNOWLEDGE_SHAPE if name == "knowledge" else SKILL_SHAPE)
    if keyword in ("unevaluatedProperties", "additionalProperties"):
        allowed = sorted(error.schema.get("properties", {}))
        if not error.absolute_path:
            allowed = sorted({*allowed, "version"})
        return "remove the key or fix its spelling; allowed here: " + ", ".join(allowed)
    if keyword == "minItems":
        return f"add items until there are at least {error.validator_value}"
    if keyword == "uniqueItems":
        return "remove or change the repeated item"
    if keyword == "minLength":
        return "fill in a value (it must not be empty)"
    if keyword == "const" and list(error.absolute_path) == ["version"]:
        return f"set `version: {error.validator_value}`"
    if keyword == "type":
        expected = error.validator_value
        if expected == "string":
            return (
                "write text; quote values YAML would read as numbers, dates or booleans, or use a `|` block"
            )
        return f"make this a{'n' if str(expected)[:1] in 'aeiou' else ''} {expected}"
    return "see the instructlab-schema definition for this field"


def _schema_findings(
    doc: yamlload.Document, data: Mapping[Any, Any], name: str, version: Any
) -> list[Finding]:
    tag = schema.version_tag(version)
    version_node, version_key = yamlload.node_at(doc.root, ["version"])
    line, col = yamlload.position(version_node if version_key is not None else doc.root)
    contents = schema.load_schema(tag, f"{name}.json")
    if contents is None:
        known = ", ".join(str(v) for v in schema.known_versions())
        return [
            finding(
                "schema-version",
                f"no {name} schema for version {version!r} (instructlab-schema knows versions {known})",
                line=line,
                col=col,
                yaml_path=".version",
                hint="set `version: 3`",
            )
        ]
    if contents.get("deprecated"):
        message = contents.get("description") or f"{name} schema version {version} is deprecated"
        return [
            finding(
                "deprecated-version",
                str(message),
                line=line,
                col=col,
                yaml_path=".version",
                hint="rewrite it as version 3: "
                + KNOWLEDGE_SHAPE
                + "; `edubot taxonomy add --kind knowledge --from THIS_FILE` converts simplified content",
            )
        ]
    found = []
    for error in schema.validator(tag, name).iter_errors(data):
        path = list(error.absolute_path)
        node, _ = yamlload.node_at(doc.root, path)
        if error.validator in ("unevaluatedProperties", "additionalProperties"):
            for k, _ in getattr(node, "value", []) if isinstance(node, yamlload.MappingNode) else []:
                if isinstance(k, yamlload.ScalarNode) and repr(k.value) in error.message:
                    node = k
                    break
        if error.validator == "minItems":
            count = len(error.instance) if hasattr(error.instance, "__len__") else 0
            message = f"Value must have at least {error.validator_value} items (it has {count})"
        else:
            message = error.message if len(error.message) <= 200 else "…" + error.message[-200:]
        line, col = yamlload.position(node)
        found.append(
            finding(
                f"schema/{error.validator}",
                message,
                line=line,
                col=col,
                yaml_path=error.json_path[1:] or ".",
                hint=_schema_hint(error, name),
            )
        )
    return found


def _simplified_format(doc: yamlload.Document, data: Mapping[Any, Any]) -> Finding | None:
    """The guides' simplified knowledge (task_description + flat question/answer examples), if that is this."""
    seeds = data.get("seed_examples")
    flat = isinstance(seeds, list) and any(
        isinstance(s, Mapping) and ("question" in s or "answer" in s) and "questions_and_answers" not in s
        for s in seeds
    )
    if "task_description" not in data and not flat:
        return None
    anchor = yamlload.key_node(
        doc.root, "task_description" if "task_description" in data else "seed_examples"
    )
    line, col = yamlload.position(anchor)
    return finding(
        "simplified-format",
        "this is the simplified knowledge format (task_description and flat question/answer seed examples), "
        "which is not valid version 3 knowledge",
        line=line,
        col=col,
        yaml_path=".task_description" if "task_description" in data else ".seed_examples",
        hint=KNOWLEDGE_SHAPE + "; `edubot taxonomy add PATH --kind knowledge --from THIS_FILE` builds it",
    )


def check_content(raw: bytes, folder: str | None, strict: bool = False) -> ContentResult:
    """All content findings for one file whose first taxonomy folder is ``folder`` (file left blank)."""
    doc, problem = yamlload.load(raw)
    if doc is None:
        assert problem is not None
        return ContentResult([problem])
    data = doc.data
    if not data:
        line, col = yamlload.position(doc.root)
        return ContentResult(
            [
                finding(
                    "empty-file",
                    "The file is empty",
                    line=line,
                    col=col,
                    hint="add the seed data or delete it",
                )
            ]
        )
    if not isinstance(data, Mapping):
        line, col = yamlload.position(doc.root)
        kind = "a list" if isinstance(data, list) else f"a single {type(data).__name__} value"
        return ContentResult(
            [
                finding(
                    "top-level-not-mapping",
                    f"the top-level element is {kind}, not an object with key-value pairs",
                    line=line,
                    col=col,
                    yaml_path=".",
                    hint="start the file with keys such as `version: 3` and `created_by:` at column 1",
                )
            ]
        )
    version = schema.file_version(data)
    name = schema.schema_name(folder, data)
    found: list[Finding] = list(doc.recursive_aliases)
    if version > 1:
        found += run_yamllint(doc.text, doc, strict)
    else:
        found += doc.duplicate_keys
    found += _schema_findings(doc, data, name, version)
    if name == "knowledge" and any(f.severity == ERROR for f in found):
        simplified = _simplified_format(doc, data)
        if simplified is not None:
            found.append(simplified)
    found += lint.lint_content(doc, data, name)
    found.sort(key=lambda f: (f.line, f.col, f.rule))
    return ContentResult(found, version3=type(version) is int and version == 3)
