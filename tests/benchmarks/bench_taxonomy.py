"""`edubot taxonomy validate` against InstructLab's TaxonomyParser on 1,000 generated qna.yaml files.

Measured side by side in one run: the reference (schema_version=0, as `ilab taxonomy diff` uses it; it runs
yamllint as a subprocess per file, and `yq` is kept off PATH as after a plain `pip install instructlab-schema`),
edubot cold (no cache, a process pool over the cores) and edubot warm (content-hash cache). Targets: cold ≥ 5×,
warm ≥ 100× the reference's files/s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edubot_cli.taxonomy.validate import default_jobs, discover, validate

FILES = 1000
VENV_BIN = Path(sys.executable).parent


def _knowledge(i: int) -> str:
    lines = [
        "version: 3",
        f"created_by: teacher{i}",
        f"domain: Topic {i}",
        "document_outline: |",
        f"  Overview of topic {i}: its history, its main ideas and how it is taught in schools.",
        "seed_examples:",
    ]
    for s in range(5):
        lines += [
            "  - context: |",
            f"      Topic {i} part {s} began as a question asked by curious students in class {s}. Teachers",
            f"      explained the idea with examples, drawings and experiments, and the students of class {s}",
            "      wrote down what they learnt in their notebooks so they could revise before the test.",
            "    questions_and_answers:",
        ]
        for q in range(3):
            lines += [
                "      - question: |",
                f"          What did the students of class {s} do in lesson {q} about topic {i}?",
                "        answer: |",
                f"          The students of class {s} wrote down what they learnt about topic {i} in lesson {q}.",
            ]
    lines += [
        "document:",
        "  repo: https://github.com/example/school-docs",
        f"  commit: c0ffee{i:034x}",
        "  patterns:",
        f"    - topic_{i}.md",
    ]
    return "\n".join(lines) + "\n"


def _skill(i: int) -> str:
    lines = [
        "version: 3",
        f"created_by: teacher{i}",
        f"task_description: Explaining idea {i} simply",
        "seed_examples:",
    ]
    for s in range(6):
        lines += [
            "  - context: |",
            f"      A pupil in year {s} asks about idea {i} after the lesson on fractions and decimals.",
            "    question: |",
            f"      How would you explain idea {i} to a pupil in year {s}?",
            "    answer: |",
            f"      Start from something the pupil knows, compare idea {i} with it, then check with a question.",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench") / "taxonomy"
    for i in range(FILES):
        if i % 2:
            leaf, text = root / f"knowledge/subject_{i % 10}/topic_{i}", _knowledge(i)
        else:
            leaf, text = root / f"compositional_skills/teaching/idea_{i}", _skill(i)
        if i % 50 == 0:
            text = text.replace("version: 3\n", "version: 3\nextra_key: 1\n")  # 2% with a schema error
        leaf.mkdir(parents=True)
        (leaf / "qna.yaml").write_text(text)
        (leaf / "attribution.txt").write_text(
            f"Title of work: {i}\nLink to work: -\nLicense of the work: CC-BY-4.0\n"
        )
    return root


def test_validate_throughput(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from instructlab.schema.taxonomy import TaxonomyMessageFormat, TaxonomyParser

    monkeypatch.setenv("PATH", str(VENV_BIN))  # yamllint available, yq not
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert shutil.which("yq") is None and shutil.which("yamllint") is not None
    files = discover([corpus])
    assert len(files) == FILES

    parser = TaxonomyParser(schema_version=0, message_format=TaxonomyMessageFormat.LOGGING)
    start = time.perf_counter()
    reference_errors = sum(1 for f in files if parser.parse(f).errors)
    reference_s = time.perf_counter() - start

    start = time.perf_counter()
    cold = validate([corpus], use_cache=False)
    cold_s = time.perf_counter() - start

    validate([corpus])  # fill the cache
    start = time.perf_counter()
    warm = validate([corpus])
    warm_s = time.perf_counter() - start

    start = time.perf_counter()
    cli = subprocess.run(
        [str(VENV_BIN / "edubot"), "taxonomy", "validate", str(corpus), "--format", "json"],
        capture_output=True,
        env={**os.environ},
        check=False,
    )
    cli_s = time.perf_counter() - start

    files_with_errors = {f.file for f in cold.findings if f.severity == "error"}
    assert reference_errors == len(files_with_errors) == FILES // 50
    assert warm.cache_hits == FILES and warm.to_dict() == cold.to_dict()
    assert cli.returncode == 1

    def rate(seconds: float) -> float:
        return FILES / seconds

    print(f"\n[bench taxonomy] {FILES} files, {default_jobs()} cores")
    print(
        f"[bench taxonomy] InstructLab TaxonomyParser  {reference_s:8.2f} s  {rate(reference_s):9.0f} files/s"
    )
    print(
        f"[bench taxonomy] edubot cold (no cache)     {cold_s:8.2f} s  {rate(cold_s):9.0f} files/s"
        f"  {reference_s / cold_s:7.1f}x  (target >= 5x)"
    )
    print(
        f"[bench taxonomy] edubot warm (cache)        {warm_s:8.3f} s  {rate(warm_s):9.0f} files/s"
        f"  {reference_s / warm_s:7.1f}x  (target >= 100x)"
    )
    print(
        f"[bench taxonomy] edubot CLI warm, process   {cli_s:8.3f} s  {rate(cli_s):9.0f} files/s"
        f"  {reference_s / cli_s:7.1f}x  (includes interpreter start-up)"
    )
