"""`edubot eval --compare MODEL MODEL` with the real engine: the embedded model, and the very file it serves
copied under another name, on the held-out questions of a two-leaf taxonomy at temperature 0, one question at a
time (so that no batch makes two greedy answers part). Same weights, same answers: the two rows score the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.engines.embedded import served_file
from edubot_cli.engines.llama_cpp import embedded_model
from edubot_cli.main import app
from tests.grounding.conftest import age, write

from .conftest import ROOTS, ROOTS_FILE
from .test_real_engine import VOLCANOES, VOLCANOES_FILE

pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]


def test_the_same_model_twice_scores_the_same(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    write(root, ROOTS_FILE, ROOTS)
    write(root, VOLCANOES_FILE, VOLCANOES)
    age(root)
    copy = Path("models") / "copy-of-smollm2.gguf"
    copy.parent.mkdir()
    shutil.copyfile(served_file(embedded_model()).path, copy)
    result = CliRunner().invoke(
        app,
        [
            "eval", "--holdout", "1", "--taxonomy", str(root), "--max-tokens", "24", "--concurrency", "1",
            "-f", "json", "--compare", "embedded", str(copy),
        ],
        env={"EDUBOT_LOGS_DIR": str(tmp_path / "logs")},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["kind"] == "edubot-eval-models" and document["partial"] is False
    embedded, copied = document["models"]
    assert (embedded["model"], embedded["path"]) == ("embedded", None)
    assert (copied["model"], copied["path"]) == (str(copy), str(copy))
    for entry in (embedded, copied):
        assert (entry["asked"], entry["total"]) == (2, 2)
        for mode in ("grounded", "ungrounded"):
            assert entry["scores"][mode]["answered"] == 2
        # a grounded answer quoted from the material (grounding_answer: quote) asks the engine nothing: ~0 s
        assert entry["scores"]["grounded"]["median_latency_seconds"] >= 0
        assert entry["scores"]["ungrounded"]["median_latency_seconds"] > 0
    for mode in ("grounded", "ungrounded"):
        same = ("right", "numbers", "names")
        assert {k: embedded["scores"][mode][k] for k in same} == {k: copied["scores"][mode][k] for k in same}
    assert document["best"] in ("embedded", str(copy))
    first, second = (
        json.loads(Path(entry["record"]).read_text(encoding="utf-8")) for entry in (embedded, copied)
    )
    assert first["target"] == {"url": None, "local": True}
    assert second["target"] == {"url": None, "local": True, "model": str(copy)}
    assert [i["results"]["grounded"]["answer"] for i in first["items"]] == [
        i["results"]["grounded"]["answer"] for i in second["items"]
    ]
    lines = result.stderr.splitlines()
    assert "model 1 of 2: embedded" in lines and f"model 2 of 2: {copy}" in lines
    assert f"starting the engine (llama-cpp, {copy}) for this run…" in lines
