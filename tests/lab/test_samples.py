"""Counting what ilab kept, dropped and cannot use, from the files of a generation run."""

from __future__ import annotations

import json
from pathlib import Path

from edubot_cli.lab.samples import SampleReport, classify, count_samples


def write_rows(path: Path, rows: list[dict[str, object]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path.as_posix()


def test_classify_simple_pipeline_outputs() -> None:
    assert classify({"output": "What is rain? Water from clouds."}) is None
    assert classify({"output": None}) == "empty"
    assert classify({"output": "  \n"}) == "empty"
    assert classify({"output": "Rain is water."}) == "no question mark"
    assert classify({"output": "What is rain?  "}) == "nothing after the question"


def test_classify_full_pipeline_rows() -> None:
    assert classify({"question": "What is rain?", "response": "Water."}) is None
    assert classify({"question": "", "response": "Water."}) == "no question mark"
    assert classify({"question": "What is rain?", "response": " "}) == "nothing after the question"


def test_full_pipeline_has_no_requested_count(tmp_path: Path) -> None:
    seeds = write_rows(tmp_path / "run/preprocessed_x/leaf.jsonl", [{"seed": 1}] * 3)
    generated = write_rows(
        tmp_path / "run/generated_x/leaf.jsonl",
        [{"question": "What is rain?", "response": "Water."}, {"question": "", "response": "x"}],
    )
    produced = [str(Path(p).relative_to(tmp_path)) for p in (seeds, generated)]
    report = count_samples(tmp_path, produced, "full", 30)
    assert report == SampleReport(generated=2, usable=1, requested=None, dropped={"no question mark": 1})
    assert report.summary() == "2 kept by ilab, 1 usable; dropped: 1 no question mark"
    assert not report.enough


def test_no_generated_files_means_no_report(tmp_path: Path) -> None:
    seeds = write_rows(tmp_path / "run/preprocessed_x/leaf.jsonl", [{"seed": 1}])
    assert count_samples(tmp_path, [str(Path(seeds).relative_to(tmp_path))], "simple", 2) is None
