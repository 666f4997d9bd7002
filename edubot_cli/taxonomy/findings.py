"""What ``validate`` reports: one ``Finding`` per problem, the rule catalogue, and the run's ``Report``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

ERROR = "error"
WARNING = "warning"

# rule id: (default severity, what it checks). The README's rules table is written from this catalogue.
RULES: dict[str, tuple[str, str]] = {
    "file-missing": (ERROR, "the path does not exist or is not a file"),
    "file-name": (ERROR, "a taxonomy file must be named `qna.yaml` (`qna.yml` and others are rejected)"),
    "file-too-large": (ERROR, "the file is larger than the size limit (1 MiB)"),
    "encoding": (ERROR, "the file is not valid UTF-8"),
    "yaml-syntax": (ERROR, "the YAML does not parse"),
    "yaml-tab": (ERROR, "a tab character where YAML needs spaces"),
    "yaml-alias-bomb": (ERROR, "aliases expand to an enormous document (a self-containing one: warning)"),
    "yaml-duplicate-key": (
        WARNING,
        "a key appears twice in one mapping (version 1 files; later versions: yamllint)",
    ),
    "empty-file": (WARNING, "the file holds no data (InstructLab skips it)"),
    "top-level-not-mapping": (ERROR, "the document is a list or a scalar, not a mapping of keys"),
    "schema-version": (ERROR, "`version` names no schema that instructlab-schema ships"),
    "deprecated-version": (ERROR, "knowledge in version 1 or 2, which InstructLab no longer accepts"),
    "schema/<keyword>": (
        ERROR,
        "the instructlab-schema JSON Schema rejects a value (keyword e.g. `required`)",
    ),
    "simplified-format": (
        ERROR,
        "knowledge written in the simplified task_description + question/answer form",
    ),
    "yamllint/<rule>": (WARNING, "yamllint (relaxed, no line-length) for version > 1; errors stay errors"),
    "context-words": (WARNING, "a knowledge context longer than 500 words"),
    "qna-words": (WARNING, "the questions and answers of one seed example longer than 250 words"),
    "total-words": (WARNING, "all seed examples together longer than 2,300 words"),
    "duplicate-question": (
        WARNING,
        "the same question asked twice over the same context (or twice without one) in one file",
    ),
    "answer-not-in-context": (WARNING, "a knowledge answer that shares no word with its context"),
    "attribution": (WARNING, "`attribution.txt` missing or empty next to a version 3 file"),
    "folder-name": (WARNING, "a taxonomy folder name with spaces or capital letters"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one file, at the 1-based ``line``:``col`` of the offending YAML node."""

    file: str
    line: int
    col: int
    severity: str
    rule: str
    yaml_path: str
    message: str
    hint: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**data)

    def at(self, file: str) -> Finding:
        """This finding attributed to ``file``."""
        return replace(self, file=file)


def finding(
    rule: str,
    message: str,
    *,
    line: int = 1,
    col: int = 1,
    yaml_path: str = "",
    hint: str = "",
    severity: str | None = None,
    file: str = "",
) -> Finding:
    """A finding with the rule's default severity unless ``severity`` is given."""
    if severity is None:
        key = rule.split("/", 1)[0] + "/<keyword>" if rule.startswith("schema/") else rule
        severity = RULES.get(key, (ERROR, ""))[0]
    return Finding(file, line, col, severity, rule, yaml_path, message, hint)


@dataclass
class Report:
    """Everything one ``validate`` run found, in file then line order."""

    files_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    cache_hits: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``--format json``."""
        return {
            "files_checked": self.files_checked,
            "errors": self.errors,
            "warnings": self.warnings,
            "findings": [f.to_dict() for f in self.findings],
        }


EXPLAINS_OTHERS = frozenset({"simplified-format"})
"""Rules whose finding explains the file's other findings: shown first in that file's group."""


def by_file(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings grouped by file (first-seen order); in each group, explaining findings come first."""
    groups: dict[str, list[Finding]] = {}
    for item in findings:
        groups.setdefault(item.file, []).append(item)
    return [
        (file, sorted(items, key=lambda f: f.rule not in EXPLAINS_OTHERS)) for file, items in groups.items()
    ]


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(item: Finding) -> str:
    """A GitHub Actions workflow command: ``::error file=F,line=L,col=C::message`` (escaped as GitHub asks).

    The message reads ``[rule] .yaml.path: message (hint: ...)``: the path names where, the message what.
    """
    where = f"{item.yaml_path}: " if item.yaml_path else ""
    hint = f" (hint: {item.hint})" if item.hint else ""
    return (
        f"::{item.severity} file={_escape_property(item.file)},line={item.line},col={item.col}::"
        + _escape_data(f"[{item.rule}] {where}{item.message}{hint}")
    )
