"""Reading ``taxonomy add --from``: seed examples and fields from a CSV, JSONL or qna.yaml file (see
``scaffold``), and grouping knowledge rows by context."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import TaxonomyError
from .seeds import QA, Seed, text_value


@dataclass
class Source:
    fields: dict[str, Any]
    rows: list[tuple[str, Seed]]  # (where, seed) where = "file:line" for error messages


def _seed_from_mapping(item: Mapping[str, Any], where: str) -> Seed:
    context = text_value(item.get("context"))
    if isinstance(item.get("questions_and_answers"), list):
        qas = []
        for qa in item["questions_and_answers"]:
            if not isinstance(qa, Mapping):
                raise TaxonomyError(
                    f"{where}: questions_and_answers items must be mappings", hint="use question/answer"
                )
            qas.append(_qa(qa, where))
        return Seed(context, qas)
    return Seed(context, [_qa(item, where)])


def _qa(item: Mapping[str, Any], where: str) -> QA:
    question, answer = text_value(item.get("question")), text_value(item.get("answer"))
    if question is None or answer is None:
        missing = "question" if question is None else "answer"
        raise TaxonomyError(
            f"{where}: the {missing} is missing or empty", hint="every row needs a question and answer"
        )
    return QA(question, answer)


def read_source(path: Path) -> Source:
    """Seed rows (and top-level fields, for YAML) from a CSV, JSONL or qna.yaml file."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TaxonomyError(f"--from file {path} does not exist", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"cannot read --from file {path}: {exc}", hint="save it as UTF-8 text") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, raw)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _read_jsonl(path, raw)
    if suffix in (".yaml", ".yml"):
        return _read_yaml(path, raw)
    raise TaxonomyError(
        f"--from file {path}: unknown format {suffix or '(no extension)'}", hint="use .csv, .jsonl or .yaml"
    )


def _read_csv(path: Path, raw: str) -> Source:
    reader = csv.DictReader(io.StringIO(raw, newline=""))  # quoted cells may span lines
    header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    if "question" not in header or "answer" not in header:
        raise TaxonomyError(
            f"{path}:1: the CSV header must name the columns question and answer (and optionally context)",
            hint="first line e.g.: context,question,answer",
        )
    rows: list[tuple[str, Seed]] = []
    previous: str | None = None
    for number, row in enumerate(reader, start=2):
        values = {k: row.get(v) for k, v in header.items()}
        if not any(text_value(v) for v in values.values()):
            continue
        context = text_value(values.get("context")) or previous
        previous = context
        where = f"{path}:{reader.line_num if reader.line_num else number}"
        rows.append((where, Seed(context, [_qa(values, where)])))
    return Source({}, rows)


def _read_jsonl(path: Path, raw: str) -> Source:
    rows: list[tuple[str, Seed]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TaxonomyError(
                f"{where}:{exc.colno}: not valid JSON: {exc.msg}", hint="one JSON object per line"
            ) from None
        if not isinstance(item, Mapping):
            raise TaxonomyError(
                f"{where}: each line must be a JSON object", hint='e.g. {"question": "...", "answer": "..."}'
            )
        rows.append((where, _seed_from_mapping(item, where)))
    return Source({}, rows)


def _read_yaml(path: Path, raw: str) -> Source:
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise TaxonomyError(f"{where}: not valid YAML", hint="run `edubot taxonomy validate` on it") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("seed_examples"), list):
        raise TaxonomyError(
            f"{path}: no seed_examples list found", hint="the file needs a seed_examples list"
        )
    rows = []
    for i, item in enumerate(data["seed_examples"]):
        where = f"{path} seed_examples[{i}]"
        if not isinstance(item, Mapping):
            raise TaxonomyError(
                f"{where}: not a mapping", hint="each seed example holds question/answer keys"
            )
        rows.append((where, _seed_from_mapping(item, where)))
    fields = {
        k: data[k] for k in ("created_by", "domain", "document_outline", "task_description") if k in data
    }
    document = data.get("document")
    if isinstance(document, Mapping):
        fields.update({k: document[k] for k in ("repo", "commit", "patterns") if k in document})
    return Source(fields, rows)


def knowledge_seeds(rows: list[tuple[str, Seed]]) -> list[Seed]:
    """Group knowledge rows by context (first appearance order)."""
    groups: dict[str, Seed] = {}
    for where, seed in rows:
        if seed.context is None:
            raise TaxonomyError(
                f"{where}: knowledge needs a context for every question",
                hint="add a context column (the passage of the document the questions are about)",
            )
        groups.setdefault(seed.context, Seed(seed.context, [])).qas.extend(seed.qas)
    return list(groups.values())
