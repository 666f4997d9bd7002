"""Finding what ilab produced: the newest training file, the newest checkpoint, and `edubot data list`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.errors import LabError
from edubot_cli.lab.outputs import list_datasets, newest_checkpoint, newest_training_file
from edubot_cli.main import app
from tests.lab.fake_ilab import FakeIlab

runner = CliRunner()


def write(path: Path, records: int, mtime: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"messages": [], "i": i}) + "\n" for i in range(records)))
    os.utime(path, ns=(mtime * 10**9, mtime * 10**9))
    return path


def test_newest_training_file_by_modification_time(tmp_path: Path) -> None:
    write(tmp_path / "2026-01-01_000000/skills_train_msgs_a.jsonl", 3, 1000)
    newest = write(tmp_path / "2026-01-02_000000/skills_train_msgs_b.jsonl", 3, 2000)
    write(tmp_path / "2026-01-02_000000/messages_b.jsonl", 3, 3000)  # not a training mix
    write(tmp_path / "2026-01-02_000000/train_b.jsonl", 3, 3000)  # legacy format
    assert newest_training_file(tmp_path, "full") == newest


def test_skills_mix_preferred_over_knowledge_from_the_same_moment_and_empty_files_skipped(
    tmp_path: Path,
) -> None:
    skills = write(tmp_path / "run/skills_train_msgs_t.jsonl", 2, 1000)
    write(tmp_path / "run/knowledge_train_msgs_t.jsonl", 2, 1000)
    write(tmp_path / "later/skills_train_msgs_u.jsonl", 0, 5000)
    assert newest_training_file(tmp_path, "accelerated") == skills


def test_simple_pipeline_wants_the_legacy_train_file(tmp_path: Path) -> None:
    write(tmp_path / "run/skills_train_msgs_t.jsonl", 2, 9000)
    legacy = write(tmp_path / "run/train_t.jsonl", 2, 1000)
    write(tmp_path / "run/preprocessed_t/train_x.jsonl", 2, 9999)  # working folders are not datasets
    assert newest_training_file(tmp_path, "simple") == legacy


def test_no_training_file_says_what_to_run(tmp_path: Path) -> None:
    write(tmp_path / "run/messages_t.jsonl", 2, 1000)
    with pytest.raises(LabError) as info:
        newest_training_file(tmp_path, "full")
    assert info.value.message == (
        f"no non-empty training file (skills_train_msgs_*.jsonl / knowledge_train_msgs_*.jsonl) under {tmp_path}"
    )
    assert "edubot data generate" in (info.value.hint or "")
    with pytest.raises(LabError, match="does not exist"):
        newest_training_file(tmp_path / "missing", "full")


def checkpoint(folder: Path, weights: str = "pytorch_model.bin") -> Path:
    folder.mkdir(parents=True)
    (folder / weights).write_bytes(b"w")
    return folder


def test_newest_checkpoint_is_the_largest_samples_n_numerically(tmp_path: Path) -> None:
    checkpoint(tmp_path / "hf_format/samples_9")
    ten = checkpoint(tmp_path / "hf_format/samples_10")
    (tmp_path / "hf_format/samples_99").mkdir()  # no weights yet: ignored
    checkpoint(tmp_path / "hf_format/last_epoch")
    found = newest_checkpoint(tmp_path)
    assert found is not None
    assert (found.path, found.kind, found.samples) == (ten, "samples_N", 10)


def test_last_epoch_when_there_is_no_samples_n(tmp_path: Path) -> None:
    last = checkpoint(tmp_path / "hf_format/last_epoch", "model.safetensors")
    found = newest_checkpoint(tmp_path)
    assert found is not None and (found.path, found.kind) == (last, "last_epoch")


def test_gguf_reported_by_the_simple_pipeline(tmp_path: Path) -> None:
    gguf = tmp_path / "ggml-model-f16.gguf"
    gguf.write_bytes(b"GGUF")
    lines = ["INFO x", f"INFO 2026 instructlab.model.simple_train:204: Save trained model to {gguf}", "done"]
    found = newest_checkpoint(tmp_path / "ckpt", lines)
    assert found is not None and (found.path, found.kind) == (gguf, "gguf")
    assert newest_checkpoint(tmp_path / "ckpt", ["Save trained model to /nowhere/x.gguf"]) is None
    assert newest_checkpoint(tmp_path / "ckpt") is None


def test_data_list_shows_records_and_the_run_that_made_each(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path
) -> None:
    assert runner.invoke(app, ["data", "generate"]).exit_code == 0
    write(work / "datasets/by-hand/skills_train_msgs_manual.jsonl", 4, 1000)
    [record] = (work / "datasets").glob("edubot-run-*.json")

    result = runner.invoke(app, ["data", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed["datasets_dir"] == "datasets"
    rows = {row["path"]: row for row in listed["datasets"]}
    assert sorted(rows) == [
        "2026-01-02_030405/knowledge_train_msgs_2026-01-02T03_04_05.jsonl",
        "2026-01-02_030405/messages_2026-01-02T03_04_05.jsonl",
        "2026-01-02_030405/skills_train_msgs_2026-01-02T03_04_05.jsonl",
        "2026-01-02_030405/test_2026-01-02T03_04_05.jsonl",
        "2026-01-02_030405/train_2026-01-02T03_04_05.jsonl",
        "by-hand/skills_train_msgs_manual.jsonl",
    ]
    skills = rows["2026-01-02_030405/skills_train_msgs_2026-01-02T03_04_05.jsonl"]
    assert {k: skills[k] for k in ("kind", "bytes", "records", "run", "run_exit_code")} == {
        "kind": "skills training (messages)",
        "bytes": 1056,
        "records": 12,
        "run": record.name,
        "run_exit_code": 0,
    }
    manual = rows["by-hand/skills_train_msgs_manual.jsonl"]
    assert (manual["records"], manual["run"], manual["modified"]) == (4, None, "1970-01-01T00:16:40+00:00")
    assert listed["datasets"][-1]["path"] == "by-hand/skills_train_msgs_manual.jsonl"  # newest first

    table = runner.invoke(app, ["data", "list"], env={"COLUMNS": "250"})
    assert table.exit_code == 0
    assert record.name in table.output and "skills training (messages)" in table.output


def test_data_list_before_any_generate_says_there_is_nothing_yet(work: Path) -> None:
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0
    assert "no datasets under datasets yet; run `edubot data generate`" in result.output
    as_json = runner.invoke(app, ["data", "list", "--format", "json"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.output) == {"datasets_dir": "datasets", "datasets": []}


def test_data_list_of_an_empty_folder(work: Path) -> None:
    (work / "datasets").mkdir()
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0
    assert "no datasets under datasets yet; run `edubot data generate`" in result.output


def test_failed_runs_are_marked(fake_ilab: FakeIlab, taxonomy: Path, work: Path) -> None:
    fake_ilab.set(exit_code=1)
    assert runner.invoke(app, ["data", "generate"]).exit_code == 1
    datasets = list_datasets(work / "datasets")
    assert {d.run_exit_code for d in datasets} == {1}


def test_a_run_record_that_cannot_be_written_is_a_lab_error(tmp_path: Path) -> None:
    from edubot_cli.lab.records import write_record

    blocker = tmp_path / "datasets"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(LabError) as info:
        write_record(blocker / "run.json", {"exit_code": 0})
    assert info.value.message == f"cannot write the run record {blocker / 'run.json'}: File exists"
    assert blocker.read_text() == "a file where the folder should be"
    written = write_record(tmp_path / "ok" / "run.json", {"exit_code": 0})
    assert json.loads(written.read_text()) == {"exit_code": 0}
    assert sorted(p.name for p in written.parent.iterdir()) == ["run.json"]
