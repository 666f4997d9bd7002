"""``edubot init``: a new project folder for a teacher's own chatbot.

The folder holds ``configs/edubot.yaml`` (the settings a teacher is likely to change, commented out, with their
defaults and descriptions from ``config.FIELDS``), an empty taxonomy (``knowledge/`` and
``compositional_skills/``; the sample leaves only with ``--with-samples``), ``models/`` for pulled or converted
models, ``data/`` for what the server keeps, and a ``README.md`` with the next steps. Nothing that exists is
overwritten: an existing settings file needs ``force``; existing folders and leaves are kept as they are.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import DEFAULT_CONFIG_FILE, FIELDS
from .errors import UsageError
from .fileio import write_atomic

TEACHER_KEYS = (
    "taxonomy_path",
    "models_dir",
    "host",
    "port",
    "api_key",
    "model",
    "system_prompt",
    "grounding_answer",
    "max_tokens",
    "temperature",
)
"""The settings ``edubot init`` writes into a new project's settings file (commented out)."""

FOLDERS = ("taxonomy/knowledge", "taxonomy/compositional_skills", "models", "data")

NEXT_STEPS = """\
# {name}

An edubot project: your class's own chatbot.

1. Add what the bot should know, from a document you have (Markdown, text, PDF or Word), with at least five
   passages of it and three questions and answers about each (a CSV: context,question,answer):

       edubot taxonomy add knowledge/<subject>/<topic> --document notes.pdf --from questions.csv

   Leave out --from on a terminal and edubot asks for each passage and question.
2. Check it:  edubot taxonomy validate
3. Serve it:  edubot serve   and open http://localhost:8000
4. A better model than the small built-in one:  edubot model catalog,  then  edubot model pull NAME
5. Score the answers:  edubot eval --local --holdout 1

Settings are in configs/edubot.yaml; folders: taxonomy/ (what the bot knows), knowledge_docs/ (your documents, made
by the first --document), models/ (models you pull), data/ (what the server keeps).
"""


@dataclass
class InitResult:
    folder: Path
    created: list[Path] = field(default_factory=list)
    samples: list[Path] = field(default_factory=list)


def sample_taxonomy() -> Path | None:
    """The sample taxonomy of edubot's source tree, when edubot runs from one."""
    candidate = Path(__file__).resolve().parent.parent / "taxonomy"
    return candidate if (candidate / "knowledge").is_dir() else None


def _yaml_value(value: Any) -> str:
    import yaml

    plain = str(value) if isinstance(value, Path) else value
    text: str = yaml.safe_dump({"k": plain}, default_flow_style=True, width=1_000_000, allow_unicode=True)
    return text.strip()[len("{k: ") : -1]


def config_text(keys: tuple[str, ...] = TEACHER_KEYS) -> str:
    """A settings file with ``keys`` commented out: each with its description and default."""
    lines = [
        "# edubot settings for this project. Uncomment a line to change it; every other key and its default is",
        "# listed in edubot's configs/edubot.yaml and README (Configuration).",
    ]
    for name in keys:
        default, description = FIELDS[name]
        lines += ["", f"# {description}", f"# {name}: {_yaml_value(default)}"]
    return "\n".join(lines) + "\n"


def init_project(folder: Path, *, with_samples: bool = False, force: bool = False) -> InitResult:
    """Make ``folder`` an edubot project (see the module's docstring)."""
    config = folder / DEFAULT_CONFIG_FILE
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder", hint="choose a new folder name")
    if config.exists() and not force:
        raise UsageError(
            f"{folder} is already an edubot project ({config} exists)",
            hint="work in it as it is, or pass --force to write a fresh settings file (leaves are kept)",
        )
    samples = sample_taxonomy() if with_samples else None
    if with_samples and samples is None:
        raise UsageError(
            "the sample taxonomy is not installed with this edubot (it ships with edubot's source)",
            hint="clone edubot's repository and run `edubot init` from its checkout, or start without samples",
        )
    result = InitResult(folder)
    try:
        for name in FOLDERS:
            path = folder / name
            if not path.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                result.created.append(path)
        config.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(config, config_text())
        result.created.append(config)
        readme = folder / "README.md"
        if not readme.exists():
            write_atomic(readme, NEXT_STEPS.format(name=folder.resolve().name))
            result.created.append(readme)
        if samples is not None:
            for qna in sorted(samples.rglob("qna.yaml")):
                leaf = qna.parent.relative_to(samples)
                target = folder / "taxonomy" / leaf
                if target.exists():
                    continue
                shutil.copytree(qna.parent, target)
                result.samples.append(target)
    except OSError as exc:
        raise UsageError(
            f"cannot create the project in {folder}: {exc.strerror}",
            hint="choose a folder you may write to",
        ) from exc
    return result


def empty_taxonomy_note(root: Path) -> str | None:
    """How to add the first leaf, when ``root`` holds none (the bot then answers from the model alone)."""
    from .taxonomy.validate import discover

    if root.is_dir() and discover([root]):
        return None
    return (
        f"{root}/ has no leaves yet, so answers come from the model alone, not from your material. "
        "Add your first: edubot taxonomy add knowledge/<subject>/<topic> --document your-notes.pdf "
        "(the server picks it up without a restart)"
    )
