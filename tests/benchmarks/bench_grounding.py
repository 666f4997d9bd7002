"""The grounding index on a generated taxonomy of 2,000 leaves: build, refresh with nothing changed, search.

Half the leaves are knowledge (5 contexts of ~60 words, 3 Q&A each), half skills (6 examples); every tenth
knowledge leaf has a local markdown document of 6 sections. The words come from a generated vocabulary of 6,000
terms with a Zipf-like spread, so posting lists look like real text rather than one repeated sentence.
Queries are 500 seed questions of the corpus. Target: search p50 ≤ 20 ms.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from pathlib import Path

import pytest

from edubot_cli.grounding import index as index_module
from edubot_cli.grounding.index import TaxonomyIndex
from tests.benchmarks.targets import Targets

LEAVES = 2000
QUERIES = 500
SEED = 20260101


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    onsets = ["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "ch", "st", "tr", "ph", "gl"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou", "io"]
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


class Text:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = _vocabulary(rng)
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.glue = ["the", "of", "and", "in", "is", "a", "to", "with", "that", "by"]

    def sentence(self, n: int) -> str:
        picked = self.rng.choices(self.words, self.weights, k=n)
        out = []
        for word in picked:
            out.append(word)
            if self.rng.random() < 0.35:
                out.append(self.rng.choice(self.glue))
        return " ".join(out).capitalize() + "."


def _knowledge(text: Text, i: int, doc: bool) -> str:
    lines = [
        "version: 3",
        f"created_by: teacher{i}",
        f"domain: Subject {i % 40}",
        "document_outline: |",
        f"  {text.sentence(10)}",
        "seed_examples:",
    ]
    for _ in range(5):
        lines += ["  - context: |", f"      {' '.join(text.sentence(12) for _ in range(5))}"]
        lines.append("    questions_and_answers:")
        for _ in range(3):
            lines += [
                "      - question: |",
                f"          {text.sentence(8)[:-1]}?",
                "        answer: |",
                f"          {text.sentence(14)}",
            ]
    repo = "docs" if doc else "https://github.com/example/school-docs"
    lines += [
        "document:",
        f"  repo: {repo}",
        f"  commit: c0ffee{i:034x}",
        "  patterns:",
        f"    - topic_{i}.md",
    ]
    return "\n".join(lines) + "\n"


def _skill(text: Text, i: int) -> str:
    lines = [
        "version: 3",
        f"created_by: teacher{i}",
        f"task_description: {text.sentence(8)}",
        "seed_examples:",
    ]
    for _ in range(6):
        lines += [
            "  - context: |",
            f"      {text.sentence(15)}",
            "    question: |",
            f"      {text.sentence(10)[:-1]}?",
            "    answer: |",
            f"      {text.sentence(20)}",
        ]
    return "\n".join(lines) + "\n"


def _document(text: Text) -> str:
    parts = []
    for s in range(6):
        parts.append(f"## Section {s}\n")
        parts += [" ".join(text.sentence(12) for _ in range(4)) + "\n" for _ in range(3)]
    return "# Topic\n\n" + "\n".join(parts)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    rng = random.Random(SEED)
    text = Text(rng)
    root = tmp_path_factory.mktemp("bench") / "taxonomy"
    (root / "docs").mkdir(parents=True)
    for i in range(LEAVES):
        if i % 2:
            doc = i % 20 == 1
            leaf = root / f"knowledge/subject_{i % 40}/topic_{i}"
            body = _knowledge(text, i, doc)
            if doc:
                (root / f"docs/topic_{i}.md").write_text(_document(text))
        else:
            leaf = root / f"compositional_skills/teaching/idea_{i}"
            body = _skill(text, i)
        leaf.mkdir(parents=True)
        (leaf / "qna.yaml").write_text(body)
    past = time.time_ns() - 3600 * 1_000_000_000  # older than the 2 s "racy" window
    for folder, _, files in os.walk(root):
        for name in files:
            os.utime(Path(folder, name), ns=(past, past))
    questions = [
        line.strip()
        for path in sorted(root.glob("knowledge/*/*/qna.yaml"))
        for line in path.read_text().splitlines()
        if line.strip().endswith("?")
    ]
    return root, random.Random(SEED).sample(questions, QUERIES)


def test_index_build_refresh_and_search(
    corpus: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, queries = corpus
    reads = 0
    original = index_module._read_bytes

    def counting(path: Path) -> bytes:
        nonlocal reads
        reads += 1
        return original(path)

    monkeypatch.setattr(index_module, "_read_bytes", counting)
    path = tmp_path / "index.sqlite3"
    with TaxonomyIndex(root, path) as index:
        start = time.perf_counter()
        built = index.refresh()
        build_s = time.perf_counter() - start

        reads = 0
        start = time.perf_counter()
        same = index.refresh()
        refresh_s = time.perf_counter() - start
        assert reads == 0 and same.unchanged == built.read

        changed = next(root.glob("knowledge/*/*/qna.yaml"))
        changed.write_text(changed.read_text().replace("version: 3", "version: 3\n# edited"))
        start = time.perf_counter()
        one = index.refresh()
        one_s = time.perf_counter() - start
        assert one.read == 1

        latencies = []
        hits = 0
        for query in queries:
            start = time.perf_counter()
            results = index.search(query, 5)
            latencies.append(time.perf_counter() - start)
            hits += bool(results)
    size_mb = path.stat().st_size / 1e6
    p50 = statistics.median(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=20)[18] * 1000
    passages = built.passages
    assert built.read == LEAVES + LEAVES // 20 and built.skipped == []
    assert passages == {"knowledge": 5000, "skill": 6000, "document": passages["document"]}
    assert hits == QUERIES
    print(
        f"\n[bench grounding] {LEAVES} leaves + {LEAVES // 20} documents, {sum(passages.values())} passages"
    )
    print(f"[bench grounding] {passages}, index {size_mb:.1f} MB")
    print(f"[bench grounding] build (cold)               {build_s:8.2f} s")
    print(f"[bench grounding] refresh, nothing changed   {refresh_s * 1000:8.1f} ms  (0 files read)")
    print(f"[bench grounding] refresh, one file changed  {one_s * 1000:8.1f} ms")
    targets = Targets("grounding")
    print(
        f"[bench grounding] search k=5 ({QUERIES} seed questions)  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  "
        f"(target p50 ≤ 20 ms: {targets.check('search p50 ≤ 20 ms', p50 <= 20)})"
    )
    targets.assert_met()
