"""Fixtures for the ilab seam: a fake ``ilab``, an isolated working folder, a one-leaf taxonomy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.lab.fake_ilab import FakeIlab

SKILL = """\
version: 3
created_by: edubot
task_description: Simplify a fraction to its lowest terms.
seed_examples:
  - question: Simplify the fraction 4/8.
    answer: 4/8 simplifies to 1/2, because 4 and 8 share the factor 4.
  - question: Simplify the fraction 6/9.
    answer: 6/9 simplifies to 2/3, because 6 and 9 share the factor 3.
  - question: Simplify the fraction 10/15.
    answer: 10/15 simplifies to 2/3, because 10 and 15 share the factor 5.
  - question: Simplify the fraction 12/16.
    answer: 12/16 simplifies to 3/4, because 12 and 16 share the factor 4.
  - question: Simplify the fraction 5/20.
    answer: 5/20 simplifies to 1/4, because 5 and 20 share the factor 5.
"""
ATTRIBUTION = (
    "Title of work: fractions\nLink to work: -\nLicense of the work: CC-BY-4.0\nCreator names: edubot\n"
)
LEAF = "compositional_skills/education/fractions"


def write_taxonomy(root: Path, text: str = SKILL, attribution: str | None = ATTRIBUTION) -> Path:
    """A taxonomy with one compositional skill leaf; returns ``root``."""
    leaf = root / LEAF
    leaf.mkdir(parents=True, exist_ok=True)
    (leaf / "qna.yaml").write_text(text, encoding="utf-8")
    if attribution is not None:
        (leaf / "attribution.txt").write_text(attribution, encoding="utf-8")
    return root


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder (cwd) with its own caches and no edubot config file or EDUBOT_* variables."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("EDUBOT_CONFIG", "EDUBOT_ILAB_PATH", "EDUBOT_DATASETS_DIR", "EDUBOT_CHECKPOINTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def fake_ilab(tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch) -> FakeIlab:
    """A fake ilab that ``ilab_path`` points at (through EDUBOT_ILAB_PATH)."""
    fake = FakeIlab(tmp_path / "fake-ilab")
    monkeypatch.setenv("EDUBOT_ILAB_PATH", str(fake.path))
    return fake


@pytest.fixture
def taxonomy(work: Path) -> Path:
    """``./taxonomy`` with one valid skill leaf (the default taxonomy_path)."""
    return write_taxonomy(work / "taxonomy")


PROJECT_ILAB = Path(__file__).resolve().parents[2] / ".ilab-venv" / "bin" / "ilab"
ASK_FOR_ILAB = (
    "the real-ilab tests run only when asked: `make test-ilab` "
    "(or `pytest -m ilab`, or EDUBOT_ILAB=/path/to/ilab pytest)"
)


def asked_for_ilab(config: pytest.Config) -> bool:
    """Whether this run asked for the real-ilab tests: EDUBOT_ILAB is set, or ``-m`` selects the marker."""
    if os.environ.get("EDUBOT_ILAB"):
        return True
    from _pytest.mark.expression import Expression

    def only_ilab(name: str, /, **kwargs: str | int | bool | None) -> bool:
        return name == "ilab"

    markexpr = config.getoption("markexpr") or ""
    return bool(markexpr) and Expression.compile(markexpr).evaluate(only_ilab)


@pytest.fixture(scope="session")
def real_ilab(request: pytest.FixtureRequest) -> Path:
    """The real ilab: $EDUBOT_ILAB (set by `make test-ilab`) or the project's .ilab-venv, when the run asked for
    it (a plain `pytest` must not spend minutes on ilab unasked); skipped, saying how to run it, otherwise."""
    if not asked_for_ilab(request.config):
        pytest.skip(ASK_FOR_ILAB)
    path = Path(os.environ.get("EDUBOT_ILAB") or PROJECT_ILAB)
    if not path.is_file():
        pytest.skip(
            f"the real ilab is not installed ({path} is missing): run `make test-ilab` to install and test it"
        )
    return path
