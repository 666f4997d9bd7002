"""Differential tests: edubot and InstructLab's TaxonomyParser(schema_version=0) give the same verdicts.

For every file: the same error / no-error verdict (a reference crash on broken YAML counts as an error) and the
same multiset of schema error paths. Run on the fixtures, the shipped sample, InstructLab's own taxonomy files
and a hypothesis-generated corpus of mutations of valid documents. (The alias bomb is left out: the reference
validator needs minutes for it, which is the point of edubot's finding.)
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edubot_cli.taxonomy.validate import validate_files

from .conftest import ATTRIBUTION, knowledge_text, skill_text, write_leaf

REFERENCE_TAXONOMY = Path("/work/shared/reference/instructlab-taxonomy-head")
SAMPLE = Path(__file__).resolve().parents[2] / "taxonomy"
LOCATIONS = ["knowledge/geo/leaf", "compositional_skills/lang/leaf", "foundational_skills/leaf", "other/leaf"]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def reference_verdict(path: Path, strict: bool = False) -> tuple[bool, list[str]]:
    """(has errors, sorted schema error paths) from InstructLab; a crash is an error with no paths."""
    from instructlab.schema.taxonomy import TaxonomyMessageFormat, TaxonomyParser, TaxonomyReadingException

    logger = logging.getLogger("instructlab.schema.taxonomy")
    handler = _Records()
    logger.addHandler(handler)
    try:
        parser = TaxonomyParser(
            schema_version=0, yamllint_strict=strict, message_format=TaxonomyMessageFormat.LOGGING
        )
        parser.yq_available = False  # line numbers are not compared; yq would only slow this down
        try:
            result = parser.parse(path)
        except TaxonomyReadingException:
            return True, []
    finally:
        logger.removeHandler(handler)
    paths = sorted(
        str(r.args[3])
        for r in handler.records
        if r.levelno == logging.ERROR and isinstance(r.args, tuple) and r.msg.startswith("%s:%s:%s [%s] ")
    )
    return result.errors > 0, paths


def edubot_verdict(path: Path, strict: bool = False) -> tuple[bool, list[str]]:
    report = validate_files([path], strict=strict, use_cache=False, jobs=1)
    return report.errors > 0, sorted(f.yaml_path for f in report.findings if f.rule.startswith("schema/"))


def assert_same(path: Path, strict: bool = False) -> tuple[bool, list[str]]:
    ours, theirs = edubot_verdict(path, strict), reference_verdict(path, strict)
    if theirs[1] == [] and theirs[0]:  # crash or non-schema error: compare the verdict only
        assert ours[0], f"{path}: InstructLab reports an error, edubot does not"
    else:
        assert ours == theirs, f"{path}\n{path.read_bytes()[:2000]!r}"
    return ours


FIXTURES: dict[str, str | bytes] = {
    "valid_knowledge": knowledge_text(),
    "valid_skill": skill_text(),
    "knowledge_v1": knowledge_text(version=1),
    "knowledge_v2": knowledge_text(version=2),
    "knowledge_v7": knowledge_text(version=7),
    "four_contexts": knowledge_text(contexts=4),
    "version_string": knowledge_text().replace("version: 3", 'version: "3"'),
    "version_float": knowledge_text().replace("version: 3", "version: 3.0"),
    "version_bool": knowledge_text().replace("version: 3", "version: true"),
    "version_missing": knowledge_text().replace("version: 3\n", ""),
    "created_by_int": knowledge_text().replace("created_by: teacher", "created_by: 42"),
    "date_value": knowledge_text().replace("created_by: teacher", "created_by: 2024-01-02"),
    "extra_key": knowledge_text() + "extra: 1\n",
    "duplicate_key": knowledge_text().replace("domain: Geography\n", "domain: Geography\ndomain: History\n"),
    "trailing_space": knowledge_text().replace("domain: Geography", "domain: Geography  "),
    "colons": knowledge_text().replace("domain: Geography", "domain:  Geography"),
    "no_final_newline": knowledge_text().rstrip("\n"),
    "yamllint_disabled": "# yamllint disable-file\n" + knowledge_text().replace("Geography", "Geography  "),
    "yamllint_line_disabled": knowledge_text().replace("Geography", "Geography  # yamllint disable-line"),
    "byte_order_mark": "\ufeff" + knowledge_text(),
    "crlf": knowledge_text().replace("\n", "\r\n"),
    "skill_four": skill_text(examples=4),
    "skill_v1_short": skill_text(examples=3).replace("version: 3", "version: 1"),
    "syntax": "version: 3\ncreated_by: teacher\n  domain: Geography\n",
    "tab": "version: 3\n\tcreated_by: teacher\n",
    "non_utf8": b"version: 3\ncreated_by: caf\xe9\n",
    "empty": "",
    "empty_mapping": "{}\n",
    "top_level_list": "- 1\n- 2\n",
    "scalar": "hello\n",
    "recursive": "version: 3\nseed_examples: &x [1, *x]\n",
    "small_aliases": "version: 3\ncreated_by: &u teacher\ntask_description: *u\nseed_examples: []\n",
    "simplified": "version: 3\ncreated_by: t\ndomain: d\ntask_description: x\nseed_examples:\n"
    + "".join(f"  - question: q{i}\n    answer: a{i}\n" for i in range(5))
    + "document:\n  repo: r\n  commit: c\n  patterns:\n    - p\n",
}


@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_verdicts(name: str, location: str, tmp_path: Path, venv_on_path: None) -> None:
    assert_same(write_leaf(tmp_path, location, FIXTURES[name]))


@pytest.mark.parametrize(
    "name", ["valid_knowledge", "colons", "trailing_space", "no_final_newline", "yamllint_disabled", "crlf"]
)
def test_fixture_verdicts_strict(name: str, tmp_path: Path, venv_on_path: None) -> None:
    assert_same(write_leaf(tmp_path, LOCATIONS[0], FIXTURES[name]), strict=True)


def test_misnamed_and_missing_files(tmp_path: Path, venv_on_path: None) -> None:
    yml = tmp_path / "knowledge" / "qna.yml"
    yml.parent.mkdir()
    yml.write_text(knowledge_text())
    assert_same(yml)
    assert_same(tmp_path / "knowledge" / "absent" / "qna.yaml")


def _real_files() -> list[Path]:
    return sorted(SAMPLE.rglob("qna.yaml")) + sorted(REFERENCE_TAXONOMY.rglob("qna.yaml"))


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: str(p.parent.name))
def test_real_files(path: Path, venv_on_path: None) -> None:
    assert_same(path)


# ------------------------------------------------------------------ generated corpus

VALUES = st.sampled_from(
    [None, 0, 3, -1, 2.5, "", "text", "3", [], {}, True, ["a"], {"k": "v"}, "2024-01-02"]
)
VERSIONS = st.sampled_from([1, 2, 3, 4, 0, -1, "3", 3.0, True, None, "three"])


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_documents(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(["knowledge", "skill"]))
    doc = yaml.safe_load(knowledge_text() if kind == "knowledge" else skill_text())
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["delete", "set", "add", "truncate", "duplicate", "version"]))
        paths = [p for p in _paths(doc) if p]
        if op == "version":
            doc["version"] = draw(VERSIONS)
            continue
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(doc, path), path[-1]
        target = parent[last]
        if op == "delete":
            del parent[last]
        elif op == "set":
            parent[last] = draw(VALUES)
        elif op == "add" and isinstance(target, dict):
            target[draw(st.sampled_from(["task_description", "context", "extra", "answer", "document"]))] = (
                "x"
            )
        elif op == "truncate" and isinstance(target, list):
            del target[draw(st.integers(0, len(target))) :]
        elif op == "duplicate" and isinstance(target, list) and target:
            target.append(target[0])
    text = yaml.safe_dump(
        doc, sort_keys=False, allow_unicode=True, default_flow_style=draw(st.booleans()) and None
    )
    lines = text.split("\n")
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        edit = draw(
            st.sampled_from(["trailing", "tab", "delete", "dup", "indent", "dedent", "blank", "colon"])
        )
        line = lines[i]
        if edit == "trailing":
            lines[i] = line + "  "
        elif edit == "tab" and line.startswith(" "):
            lines[i] = "\t" + line.lstrip(" ")
        elif edit == "delete":
            del lines[i]
        elif edit == "dup":
            lines.insert(i, line)
        elif edit == "indent":
            lines[i] = " " + line
        elif edit == "dedent" and line.startswith(" "):
            lines[i] = line[1:]
        elif edit == "blank":
            lines.insert(i, "\n\n")
        elif edit == "colon":
            lines[i] = line.replace(": ", ":  ", 1)
    return "\n".join(lines), draw(st.sampled_from(LOCATIONS))


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutated_documents())
def test_generated_mutations(venv_on_path: None, case: tuple[str, str]) -> None:
    text, location = case
    with tempfile.TemporaryDirectory() as tmp:
        has_errors, schema_paths = assert_same(write_leaf(Path(tmp), location, text, attribution=ATTRIBUTION))
    event(f"errors={has_errors}, schema errors={bool(schema_paths)}")
