"""`edubot data generate` against the fake ilab: command line, preflight, run record, explanations, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edubot_cli import __version__
from edubot_cli.lab.teacher import QA_GRAMMAR
from edubot_cli.main import app
from tests.lab.conftest import LEAF, SKILL, write_taxonomy
from tests.lab.fake_ilab import FakeIlab

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def only_call(fake: FakeIlab) -> dict[str, Any]:
    calls = fake.calls()
    assert len(calls) == 1, calls
    return calls[0]


def records_in(folder: Path) -> list[Path]:
    return sorted(folder.glob("edubot-run-data-generate-*.json"))


def test_runs_ilab_with_empty_base_outside_git_and_writes_the_run_record(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path
) -> None:
    result = invoke("data", "generate", "--pipeline", "simple", "--sdg-scale-factor", "2")

    assert result.exit_code == 0, result.output
    call = only_call(fake_ilab)
    datasets = work / "datasets"
    assert call["argv"] == [
        "data",
        "generate",
        "--taxonomy-path",
        str(taxonomy),
        "--taxonomy-base",
        "empty",
        "--output-dir",
        str(datasets),
        "--pipeline",
        "simple",
        "--sdg-scale-factor",
        "2",
    ]
    assert call["env"]["PYTHONUNBUFFERED"] == "1"
    assert call["env"]["PATH"].split(os.pathsep)[0] == str(
        fake_ilab.path.parent
    )  # ilab's venv tools (yamllint)
    assert "taxonomy base: empty (the taxonomy is not the root of a git repository" in result.output
    assert "taxonomy: 1 file(s) valid" in result.output

    [record_file] = records_in(datasets)
    record = json.loads(record_file.read_text())
    log_file = Path(record["log_file"])
    assert log_file.parent == Path("logs") and log_file.name.startswith("ilab-data-generate-")
    started, finished, duration = (
        record.pop("started_at"),
        record.pop("finished_at"),
        record.pop("duration_seconds"),
    )
    assert started <= finished and duration >= 0
    from edubot_cli.lab.records import taxonomy_hash

    assert record == {
        "format": 1,
        "kind": "data generate",
        "command": [str(fake_ilab.path), *call["argv"]],
        "edubot_version": __version__,
        "ilab_version": "0.26.1",
        "ilab_path": str(fake_ilab.path),
        "taxonomy_path": str(taxonomy),
        "taxonomy_base": "empty",
        "taxonomy_hash": taxonomy_hash(taxonomy),
        "teacher": None,
        "exit_code": 0,
        "interrupted": None,
        "log_file": str(log_file),
        "files_produced": [
            {
                "path": "2026-01-02_030405/knowledge_train_msgs_2026-01-02T03_04_05.jsonl",
                "bytes": 0,
                "records": 0,
            },
            {"path": "2026-01-02_030405/messages_2026-01-02T03_04_05.jsonl", "bytes": 1056, "records": 12},
            {
                "path": "2026-01-02_030405/preprocessed_2026-01-02T03_04_05/leaf.jsonl",
                "bytes": 47,
                "records": 1,
            },
            {
                "path": "2026-01-02_030405/skills_train_msgs_2026-01-02T03_04_05.jsonl",
                "bytes": 1056,
                "records": 12,
            },
            {"path": "2026-01-02_030405/test_2026-01-02T03_04_05.jsonl", "bytes": 235, "records": 5},
            {"path": "2026-01-02_030405/train_2026-01-02T03_04_05.jsonl", "bytes": 564, "records": 12},
        ],
    }
    log = log_file.read_text()
    assert log.startswith("$ " + subprocess.list2cmdline(record["command"]) + "\n")
    assert "INFO Generation took 1.00s" in log
    assert "skills_train_msgs_2026-01-02T03_04_05.jsonl (1,056 bytes, 12 records)" in result.output


def test_files_from_earlier_runs_are_not_listed_as_produced(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path
) -> None:
    assert invoke("data", "generate").exit_code == 0
    fake_ilab.set(write=False)
    assert invoke("data", "generate").exit_code == 0
    in_order = sorted(records_in(work / "datasets"), key=lambda p: p.stat().st_mtime_ns)
    first, second = (json.loads(p.read_text()) for p in in_order)
    assert len(first["files_produced"]) == 6
    assert second["files_produced"] == []


def test_taxonomy_hash_follows_content_not_location(tmp_path: Path) -> None:
    from edubot_cli.lab.records import taxonomy_hash

    a = write_taxonomy(tmp_path / "a")
    b = write_taxonomy(tmp_path / "b")
    assert taxonomy_hash(a) == taxonomy_hash(b)
    assert taxonomy_hash(a).startswith("sha256:") and len(taxonomy_hash(a)) == 7 + 64
    (b / LEAF / "qna.yaml").write_text(SKILL.replace("4/8", "2/4"))
    assert taxonomy_hash(a) != taxonomy_hash(b)


def test_flags_and_passthrough_reach_ilab(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path, tmp_path: Path
) -> None:
    out = tmp_path / "elsewhere"
    result = invoke(
        "data",
        "generate",
        "--taxonomy-base",
        "HEAD~1",
        "--output-dir",
        str(out),
        "--model",
        "teacher.gguf",
        "--endpoint-url",
        "http://127.0.0.1:9/v1",
        "--",
        "--max-num-tokens",
        "512",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert only_call(fake_ilab)["argv"] == [
        "data",
        "generate",
        "--taxonomy-path",
        str(taxonomy),
        "--taxonomy-base",
        "HEAD~1",
        "--output-dir",
        str(out),
        "--model",
        "teacher.gguf",
        "--endpoint-url",
        "http://127.0.0.1:9/v1",
        "--max-num-tokens",
        "512",
        "--quiet",
    ]
    assert len(records_in(out)) == 1


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def test_base_defaults_to_origin_main_for_a_taxonomy_repository_that_has_it(
    fake_ilab: FakeIlab, taxonomy: Path
) -> None:
    git(taxonomy, "init", "-q", "-b", "main")
    git(taxonomy, "add", ".")
    git(taxonomy, "commit", "-q", "-m", "seed")
    result = invoke("data", "generate")
    assert "taxonomy base: empty (the taxonomy repository has no origin/main" in result.output
    assert only_call(fake_ilab)["argv"][5] == "empty"

    git(taxonomy, "update-ref", "refs/remotes/origin/main", "HEAD")
    result = invoke("data", "generate")
    assert (
        "taxonomy base: origin/main (only leaves new or changed against origin/main are used)"
        in result.output
    )
    assert fake_ilab.calls()[-1]["argv"][4:6] == ["--taxonomy-base", "origin/main"]


def test_a_taxonomy_folder_inside_a_bigger_repository_gets_empty(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path
) -> None:
    git(work, "init", "-q")
    assert invoke("data", "generate").exit_code == 0
    assert only_call(fake_ilab)["argv"][4:6] == ["--taxonomy-base", "empty"]


def test_a_taxonomy_repository_without_git_installed_is_one_error_with_the_way_out(
    fake_ilab: FakeIlab, taxonomy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(taxonomy, "init", "-q", "-b", "main")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = invoke("data", "generate")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-2:] == [
        "error: git is not installed (or not on PATH)",
        "hint: install git (e.g. `apt-get install -y git`), or pass --taxonomy-base empty to use every leaf",
    ]
    assert fake_ilab.calls() == []


def test_no_new_leaf_nodes_is_explained_and_the_exit_code_is_ilabs(
    fake_ilab: FakeIlab, taxonomy: Path
) -> None:
    fake_ilab.set(
        write=False,
        exit_code=1,
        lines=["failed to generate data with exception: Error: No new leaf nodes found in the taxonomy.\n"],
    )
    result = invoke("data", "generate", "--taxonomy-base", "origin/main")
    assert result.exit_code == 1
    assert "generation failed: ilab exited with code 1" in result.output
    assert (
        "ilab found no new leaf nodes: it only generates data for qna.yaml files that are new or changed"
        in (" ".join(result.output.split()))
    )
    assert "against --taxonomy-base (origin/main)" in " ".join(result.output.split())
    assert "`--taxonomy-base empty`" in result.output


@pytest.mark.parametrize("code", [2, 3, 42])
def test_ilab_exit_code_becomes_edubots(fake_ilab: FakeIlab, taxonomy: Path, work: Path, code: int) -> None:
    fake_ilab.set(exit_code=code, write=False)
    result = invoke("data", "generate")
    assert result.exit_code == code
    [record] = records_in(work / "datasets")
    assert json.loads(record.read_text())["exit_code"] == code


def test_missing_ilab_config_is_explained(fake_ilab: FakeIlab, taxonomy: Path) -> None:
    fake_ilab.set(
        write=False,
        exit_code=1,
        lines=[
            "Some ilab storage directories do not exist yet. Please run `ilab config init` before continuing.\n"
        ],
    )
    result = invoke("data", "generate")
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert f"{fake_ilab.path} config init --non-interactive --taxonomy-path taxonomy" in flat


def test_output_is_streamed_with_elapsed_time_including_carriage_return_updates(
    fake_ilab: FakeIlab, taxonomy: Path
) -> None:
    fake_ilab.set(write=False, lines=["step one\n", "progress 10%\rprogress 50%\rprogress 100%\n", "done"])
    result = invoke("data", "generate")
    lines = [
        line.split("s ", 1)
        for line in result.output.splitlines()
        if line.strip().endswith(("one", "%", "done"))
    ]
    assert [text for _, text in lines] == [
        "step one",
        "progress 10%",
        "progress 50%",
        "progress 100%",
        "done",
    ]
    assert all(float(elapsed) >= 0 for elapsed, _ in lines)


def test_taxonomy_errors_stop_the_run_before_ilab(fake_ilab: FakeIlab, work: Path) -> None:
    write_taxonomy(work / "taxonomy", SKILL.replace("task_description", "task_descriptio"))
    result = runner.invoke(app, ["data", "generate"])
    assert result.exit_code == 1
    assert fake_ilab.calls() == []
    assert "the taxonomy taxonomy has 2 error(s), so ilab was not run:" in result.output
    assert (
        f"  taxonomy/{LEAF}/qna.yaml:1:1: schema/required: 'task_description' is a required property\n"
        f"  taxonomy/{LEAF}/qna.yaml:3:1: schema/unevaluatedProperties: Unevaluated properties are not allowed "
        "('task_descriptio' was unexpected)\n"
    ) in result.output
    assert "edubot taxonomy validate taxonomy" in result.output


def test_taxonomy_warnings_do_not_stop_the_run(fake_ilab: FakeIlab, work: Path) -> None:
    write_taxonomy(work / "taxonomy", attribution=None)
    result = invoke("data", "generate")
    assert result.exit_code == 0, result.output
    assert "taxonomy: 1 file(s) valid, 1 warning(s)" in result.output
    assert len(fake_ilab.calls()) == 1


def test_no_validate_skips_the_preflight(fake_ilab: FakeIlab, work: Path) -> None:
    write_taxonomy(work / "taxonomy", "not: [valid")
    assert invoke("data", "generate", "--no-validate").exit_code == 0
    assert len(fake_ilab.calls()) == 1


def test_missing_taxonomy_folder(fake_ilab: FakeIlab, work: Path) -> None:
    result = runner.invoke(app, ["data", "generate", "--taxonomy-path", "nowhere"])
    assert result.exit_code == 1
    assert "the taxonomy folder nowhere does not exist" in result.output
    assert fake_ilab.calls() == []


def test_teacher_conflicts_are_usage_errors(fake_ilab: FakeIlab, taxonomy: Path) -> None:
    both = runner.invoke(app, ["data", "generate", "--generator", "local", "--endpoint-url", "http://x/v1"])
    assert both.exit_code == 2
    assert "--generator local and --endpoint-url both name the generator model" in both.output
    unknown = runner.invoke(app, ["data", "generate", "--teacher", "remote"])
    assert unknown.exit_code == 2
    assert "--generator 'remote' is not known" in unknown.output
    assert fake_ilab.calls() == []


class _FakeEngine:
    """Stands in for the embedded llama-cpp engine (the real one is exercised by the ilab-marked test)."""

    name = "llama-cpp"
    api_key = "run-key"

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.urls = ["http://127.0.0.1:45678"]
        self.model = "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        self.log_path = Path("logs/engine.log")

    def start(self) -> None:
        self.events.append("start")

    def wait_ready(self, timeout: float, tick: object = None) -> float:
        self.events.append("ready")
        return 1.5

    def stop(self) -> None:
        self.events.append("stop")


def test_teacher_local_starts_the_embedded_engine_for_the_run(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    seen: dict[str, Any] = {}

    def build(settings: Any, **kwargs: Any) -> _FakeEngine:
        seen.update(
            engine=settings.engine,
            model=settings.model,
            context=settings.context_length,
            slots=settings.parallel,
        )
        return _FakeEngine(events)

    monkeypatch.setattr("edubot_cli.engines.lifecycle.build_engine", build)
    result = invoke("data", "generate", "--generator", "local", "--pipeline", "simple")
    assert result.exit_code == 0, result.output
    assert events == ["start", "ready", "stop"]
    assert seen == {"engine": "llama-cpp", "model": None, "context": 4096, "slots": 3}
    argv = only_call(fake_ilab)["argv"]
    assert argv[-8:] == [
        "--model",
        "/models/SmolLM2-135M-Instruct.Q4_1.gguf",
        "--endpoint-url",
        "http://127.0.0.1:45678/v1",
        "--api-key",
        "run-key",
        "--model-family",
        "merlinite",
    ]
    # The engine's key reaches ilab, and nothing else: not the screen, the log or the run record.
    assert "run-key" not in result.output
    record = json.loads(records_in(work / "datasets")[0].read_text())
    assert record["command"][-4:] == ["--api-key", "***", "--model-family", "merlinite"]
    assert "run-key" not in Path(record["log_file"]).read_text()
    assert record["teacher"] == {
        "source": "the embedded model",
        "endpoint_url": "http://127.0.0.1:45678/v1",
        "model": "/models/SmolLM2-135M-Instruct.Q4_1.gguf",
        "model_family": "merlinite",
        "seed": 42,
    }


def test_teacher_local_keeps_a_model_family_given_after_the_double_dash(
    fake_ilab: FakeIlab, taxonomy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("edubot_cli.engines.lifecycle.build_engine", lambda settings, **kw: _FakeEngine([]))
    assert invoke("data", "generate", "--teacher", "local", "--", "--model-family", "mixtral").exit_code == 0
    argv = only_call(fake_ilab)["argv"]
    assert argv[-2:] == ["--model-family", "mixtral"]
    assert argv.count("--model-family") == 1


def test_teacher_local_pins_its_sampling_and_gets_a_slot_per_completion(
    fake_ilab: FakeIlab, taxonomy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []

    def build(settings: Any, **kwargs: Any) -> _FakeEngine:
        seen.append(settings)
        return _FakeEngine([])

    monkeypatch.setattr("edubot_cli.engines.lifecycle.build_engine", build)
    monkeypatch.setenv("EDUBOT_ENGINE_ARGS", '["--temp", "0.2"]')
    result = invoke("data", "generate", "--teacher", "local", "--sdg-scale-factor", "5")
    assert result.exit_code == 0, result.output
    [settings] = seen
    assert (settings.parallel, settings.threads) == (5, 1)
    assert settings.engine_args == ["--temp", "0.2", "--seed", "42", "--grammar", QA_GRAMMAR]
    assert (
        "generator model: starting the embedded model (llama-cpp, 5 slots, 1 thread, seed 42) for this run"
        in (result.output)
    )
    argv = only_call(fake_ilab)["argv"]
    assert argv[argv.index("--sdg-scale-factor") + 1] == "5"


def test_teacher_local_scale_factor_default_and_limit(
    fake_ilab: FakeIlab, taxonomy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("edubot_cli.engines.lifecycle.build_engine", lambda settings, **kw: _FakeEngine([]))
    too_many = runner.invoke(app, ["data", "generate", "--teacher", "local", "--sdg-scale-factor", "9"])
    assert too_many.exit_code == 2
    assert (
        "--sdg-scale-factor 9 is more than the embedded generator model serves at once (8)" in too_many.output
    )
    assert fake_ilab.calls() == []

    result = invoke("data", "generate", "--teacher", "local")
    assert result.exit_code == 0, result.output
    assert (
        "--sdg-scale-factor 2: the embedded generator model's default (ilab's own 30 takes hours on CPU)"
        in result.output
    )
    argv = only_call(fake_ilab)["argv"]
    assert argv[argv.index("--sdg-scale-factor") + 1] == "2"


GOOD = [f"What is {word}? It is a science word." for word in ("rain", "snow", "ice", "steam", "fog")]


def test_dropped_and_unusable_samples_are_counted_in_the_record_and_the_summary(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path
) -> None:
    # 4 seed rows x scale 2 = 8 answers asked for; ilab kept 6 distinct ones, one without a question mark.
    fake_ilab.set(seed_rows=4, outputs=[*GOOD, "Rain is water falling from clouds."])
    result = invoke("data", "generate", "--pipeline", "simple", "--sdg-scale-factor", "2")

    assert result.exit_code == 0, result.output
    assert (
        "samples: 8 asked of the generator model, 6 kept by ilab, 5 usable; dropped: 2 duplicate, 1 no question mark\n"
        "  2 duplicate: the same text as another answer (ilab keeps one)\n"
        "  1 no question mark: no '?', so ilab cannot split it into a question and an answer (it keeps it with "
        "an empty question)\n"
        "run record: "
    ) in result.output
    record = json.loads(records_in(work / "datasets")[0].read_text())
    assert record["exit_code"] == 0
    assert record["samples"] == {
        "requested": 8,
        "generated": 6,
        "usable": 5,
        "dropped": {"duplicate": 2, "no question mark": 1},
        "minimum": 5,
    }


def test_too_few_usable_samples_fail_the_run_with_what_to_try(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path
) -> None:
    fake_ilab.set(outputs=["What is rain? Water.", "Rain.", "What is snow?"])
    result = runner.invoke(app, ["data", "generate", "--pipeline", "simple", "--sdg-scale-factor", "3"])

    assert result.exit_code == 1, result.output
    assert "generation failed: ilab finished after " in result.output
    assert "but too few samples are usable" in result.output
    assert (
        "hint: only 1 usable sample(s), fewer than the 5 a run needs (3 asked of the generator model, 3 kept by ilab, "
        "1 usable; dropped: 1 no question mark, 1 nothing after the question). To get more: add seed examples to "
        "the leaf (questions that end in '?' and short answers); raise --sdg-scale-factor; or use a larger "
        "generator model (--endpoint-url of a vLLM server, see the README's GPU recipe)."
    ) in result.output
    assert "next: edubot model train" not in result.output
    record = json.loads(records_in(work / "datasets")[0].read_text())
    assert record["exit_code"] == 0  # ilab's own; the run failed on the count
    assert record["samples"]["usable"] == 1


def test_an_empty_answer_that_stopped_ilab_is_explained(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path
) -> None:
    fake_ilab.set(
        outputs=[*GOOD, ""],
        exit_code=1,
        lines=[
            "failed to generate data with exception: GenerateException: Error: output not found in synth_example\n"
        ],
    )
    result = runner.invoke(app, ["data", "generate", "--pipeline", "simple", "--sdg-scale-factor", "6"])

    assert result.exit_code == 1
    assert "generation failed: ilab exited with code 1" in result.output
    assert (
        "samples: 6 asked of the generator model, 6 kept by ilab, 5 usable; dropped: 1 empty\n"
        in result.output
    )
    assert (
        "hint: the generator model answered 1 prompt(s) with nothing, and ilab's simple pipeline stops at an empty answer "
        '("output not found in synth_example"). To get more: add seed examples' in result.output
    )


def test_missing_docling_models_for_a_knowledge_leaf_are_explained(
    fake_ilab: FakeIlab, taxonomy: Path
) -> None:
    fake_ilab.set(
        exit_code=1,
        write=False,
        lines=[
            "INFO instructlab.sdg.utils.chunkers:141: Docling models not found on disk, downloading models...\n",
            "failed to generate data with exception: type object 'StandardPdfPipeline' has no attribute "
            "'download_models_hf'\n",
        ],
    )
    result = runner.invoke(app, ["data", "generate"])
    assert result.exit_code == 1
    assert (
        "hint: ilab converts a knowledge leaf's documents with docling, found no docling models on disk, and could "
        "not download them"
    ) in result.output
