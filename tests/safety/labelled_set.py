"""The labelled set of student-like messages (``tests/safety/labelled/``), shared by the tests and
``tests/benchmarks/bench_safety.py``.

Five folders, in the order they were written: ``dev/`` (written first; the rules were tuned on it), ``test/`` and
``unseen/`` (each written after the rules of its time, measured once as it came, then tuned on too), ``final/``
(measured once, then tuned on) and ``fresh/`` (self-harm and school questions, written by someone who had not
seen the rules or the set; measured once against the rules and the self-harm model trained on the four before
it, then added to the model's training). ``docs/safety.md`` gives each folder's figures at first contact: how
the filters did on phrasing they had not seen.

``held_out/`` is kept out of all of it: written blind by someone who had seen neither the rules nor the set, it
is never tuned on nor trained on (``items()`` leaves it out), so ``make bench`` measures the filters on it as at
first contact, every time, and checks the targets there. Each ``<category>.jsonl`` line is
``{"text", "category"}``; ``benign`` is the ordinary school questions. ``off_topic.jsonl`` holds questions outside
the test taxonomies, for the syllabus scope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent / "labelled"
FOLDERS = ("dev", "test", "unseen", "final", "fresh")
"""The folders the rules were tuned on and the self-harm model is trained on."""
HELD_OUT = "held_out"
"""The folder nothing is tuned or trained on."""
BENIGN = "benign"
UNSAFE_CATEGORIES = ("self_harm", "violence", "sexual", "harassment", "personal_data", "injection")


@dataclass(frozen=True, slots=True)
class Item:
    text: str
    category: str
    folder: str


def items(folders: tuple[str, ...] = FOLDERS) -> list[Item]:
    """Every labelled message of ``folders``, folder by folder, file by file, in file order."""
    found = []
    for folder in folders:
        for path in sorted((ROOT / folder).glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    found.append(Item(row["text"], row["category"], folder))
    return found


def off_topic() -> list[str]:
    """The off-topic questions for the scope."""
    return [json.loads(line)["text"] for line in (ROOT / "off_topic.jsonl").read_text().splitlines() if line]
