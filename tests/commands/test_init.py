"""`edubot init`: a project folder with its settings, an empty taxonomy (samples only when asked), models/, data/
and the next steps; nothing existing is overwritten; `serve` on the empty taxonomy says how to add a leaf."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edubot_cli.config import FIELDS, load_settings
from edubot_cli.main import app
from edubot_cli.project_init import TEACHER_KEYS, config_text, empty_taxonomy_note
from edubot_cli.taxonomy.validate import validate


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("EDUBOT_DEBUG", raising=False)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["init", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_new_project_has_settings_an_empty_taxonomy_and_the_next_steps(here: Path) -> None:
    code, out, err = invoke("year9")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "created year9/taxonomy/knowledge/",
        "created year9/taxonomy/compositional_skills/",
        "created year9/models/",
        "created year9/data/",
        "created year9/configs/edubot.yaml",
        "created year9/README.md",
        "next (also in README.md there):",
        "  cd year9",
        "  edubot taxonomy add knowledge/<subject>/<topic> --document your-notes.pdf",
        "  edubot serve          # then open http://localhost:8000",
    ]
    project = here / "year9"
    assert not list((project / "taxonomy").rglob("qna.yaml"))
    assert (
        (project / "README.md")
        .read_text()
        .startswith("# year9\n\nAn edubot project: your class's own chatbot.\n")
    )
    assert (project / "configs/edubot.yaml").read_text() == config_text()
    report = validate([project / "taxonomy"], use_cache=False)
    assert (report.files_checked, report.ok) == (0, True)


def test_the_settings_file_documents_each_key_and_uncommented_gives_the_defaults() -> None:
    text = config_text()
    assert re.findall(r"^# ([a-z_]+): ", text, flags=re.M) == list(TEACHER_KEYS)
    for name in TEACHER_KEYS:
        assert f"# {FIELDS[name][1]}\n# {name}: " in text
    values = yaml.safe_load(
        "\n".join(line[2:] for line in text.splitlines() if re.match(r"# [a-z_]+: ", line))
    )
    assert load_settings(**values).model_dump() == load_settings().model_dump()


def test_init_here_with_samples_copies_the_sample_leaves(here: Path) -> None:
    code, out, err = invoke(".", "--with-samples")
    assert (code, err) == (0, "")
    assert "copied 6 sample leaves into taxonomy/" in out.splitlines()
    assert "  cd ." not in out  # already there
    leaves = sorted(
        str(p.parent.relative_to(here / "taxonomy")) for p in (here / "taxonomy").rglob("qna.yaml")
    )
    assert leaves == [
        "compositional_skills/education/assessment/multiple_choice_questions",
        "compositional_skills/education/tutoring/step_by_step_word_problems",
        "knowledge/school/class_5b_field_trip_rules",
        "knowledge/school/riverside_garden_project",
        "knowledge/science/biology/photosynthesis",
        "knowledge/science/earth_science/water_cycle",
    ]
    assert validate([here / "taxonomy"], use_cache=False).ok


def test_an_existing_project_is_not_overwritten_without_force(here: Path) -> None:
    assert invoke("p")[0] == 0
    settings = here / "p/configs/edubot.yaml"
    settings.write_text("port: 9000\n")
    (here / "p/README.md").write_text("my notes\n")
    code, out, err = invoke("p")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"error: p is already an edubot project ({Path('p/configs/edubot.yaml')} exists)",
        "hint: work in it as it is, or pass --force to write a fresh settings file (leaves are kept)",
    ]
    assert settings.read_text() == "port: 9000\n"
    code, out, _ = invoke("p", "--force")
    assert code == 0
    assert out.splitlines()[0] == "created p/configs/edubot.yaml"
    assert settings.read_text() == config_text()
    assert (here / "p/README.md").read_text() == "my notes\n"  # never overwritten


def test_a_file_in_the_way_is_one_clear_error(here: Path) -> None:
    (here / "notes").write_text("x")
    code, _, err = invoke("notes")
    assert (code, err.splitlines()) == (
        2,
        ["error: notes is a file, not a folder", "hint: choose a new folder name"],
    )


def test_serve_on_an_empty_taxonomy_says_how_to_add_the_first_leaf(here: Path) -> None:
    invoke("p")
    root = here / "p/taxonomy"
    assert empty_taxonomy_note(root) == (
        f"{root}/ has no leaves yet, so answers come from the model alone, not from your material. Add your first: "
        "edubot taxonomy add knowledge/<subject>/<topic> --document your-notes.pdf (the server picks it up without "
        "a restart)"
    )
    assert empty_taxonomy_note(here / "missing") is not None
    leaf = root / "knowledge/school/trip"
    leaf.mkdir(parents=True)
    (leaf / "qna.yaml").write_text("version: 3\n")
    assert empty_taxonomy_note(root) is None
