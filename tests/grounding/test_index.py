"""The retrieval index: counts, incremental refresh, broken files, search results, holdout, safety."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edubot_cli.errors import MissingDependencyError, TaxonomyError
from edubot_cli.grounding import index as index_module
from edubot_cli.grounding.index import GroundingError, TaxonomyIndex, build_index, default_index_path
from edubot_cli.grounding.passages import HeldOut
from edubot_cli.grounding.sources import Source

from .conftest import HAIKU, PLANTS, age, write

PLANTS_FILE = "knowledge/botany/plants/qna.yaml"
HAIKU_FILE = "compositional_skills/poems/haiku/qna.yaml"
TITLE = "Botany: Xylem tubes carry water from the roots up…"
"""The second context as sources name it: the leaf's domain, then the opening words of the passage."""


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the index reads, in order."""
    seen: list[str] = []
    original = index_module._read_bytes

    def counting(path: Path) -> bytes:
        seen.append(path.name)
        return original(path)

    monkeypatch.setattr(index_module, "_read_bytes", counting)
    return seen


@pytest.fixture
def open_index(tmp_path: Path) -> Callable[..., TaxonomyIndex]:
    opened: list[TaxonomyIndex] = []

    def make(root: Path, **kw: object) -> TaxonomyIndex:
        index = TaxonomyIndex(root, tmp_path / "index.sqlite3", **kw)  # type: ignore[arg-type]
        opened.append(index)
        return index

    yield make  # type: ignore[misc]
    for index in opened:
        index.close()


def files(report: index_module.IndexReport) -> dict[str, int]:
    return report.to_dict()["files"]


def test_first_build_counts(
    taxonomy: Path, open_index: Callable[..., TaxonomyIndex], reads: list[str]
) -> None:
    report = open_index(taxonomy).refresh()
    assert files(report) == {"read": 3, "unchanged": 0, "skipped": 0, "removed": 0}
    assert report.passages == {"knowledge": 3, "skill": 2, "document": 2}
    assert report.rebuilt is True
    assert report.skipped == [] and report.warnings == [] and report.remote_documents == 0
    assert sorted(reads) == ["qna.yaml", "qna.yaml", "roots.md"]


def test_refresh_reads_no_unchanged_file(
    taxonomy: Path, open_index: Callable[..., TaxonomyIndex], reads: list[str]
) -> None:
    index = open_index(taxonomy)
    index.refresh()
    reads.clear()
    report = index.refresh()
    assert reads == []
    assert files(report) == {"read": 0, "unchanged": 3, "skipped": 0, "removed": 0}
    assert report.passages == {"knowledge": 3, "skill": 2, "document": 2}
    assert report.rebuilt is False


def test_changed_file_is_indexed_again(
    taxonomy: Path, open_index: Callable[..., TaxonomyIndex], reads: list[str]
) -> None:
    index = open_index(taxonomy)
    index.refresh()
    assert index.search("volcanoes", 1)[0].file == HAIKU_FILE
    write(taxonomy, HAIKU_FILE, HAIKU.replace("volcanoes", "glaciers"))
    age(taxonomy)
    reads.clear()
    report = index.refresh()
    assert reads == ["qna.yaml"]
    assert files(report) == {"read": 1, "unchanged": 2, "skipped": 0, "removed": 0}
    assert index.search("volcanoes", 3) == []
    assert [(s.file, s.yaml_path) for s in index.search("glaciers", 3)] == [(HAIKU_FILE, "seed_examples[1]")]


def test_touched_file_is_hashed_not_parsed(
    taxonomy: Path,
    open_index: Callable[..., TaxonomyIndex],
    reads: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = open_index(taxonomy)
    index.refresh()
    (taxonomy / HAIKU_FILE).touch()  # same bytes, new mtime
    age(taxonomy, 60)
    parsed: list[str] = []
    original = index_module.qna_passages
    monkeypatch.setattr(
        index_module, "qna_passages", lambda raw, f, **kw: parsed.append(f) or original(raw, f, **kw)
    )
    reads.clear()
    report = index.refresh()
    assert reads == ["qna.yaml"] and parsed == []
    assert files(report) == {"read": 0, "unchanged": 3, "skipped": 0, "removed": 0}
    reads.clear()
    index.refresh()
    assert reads == []  # the new mtime was recorded


def test_recently_written_file_is_hashed_again(
    taxonomy: Path, open_index: Callable[..., TaxonomyIndex], reads: list[str]
) -> None:
    """An mtime younger than 2 s is not trusted: the same second may hold another write of the same size."""
    index = open_index(taxonomy)
    write(taxonomy, HAIKU_FILE, HAIKU.replace("fractions", "fraktions"))  # same size, mtime now
    index.refresh()
    reads.clear()
    report = index.refresh()
    assert reads == ["qna.yaml"]
    assert files(report) == {"read": 0, "unchanged": 3, "skipped": 0, "removed": 0}


def test_deleted_files_drop_out(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    index = open_index(taxonomy)
    index.refresh()
    (taxonomy / HAIKU_FILE).unlink()
    (taxonomy / "docs/plants/roots.md").unlink()
    report = index.refresh()
    assert files(report) == {"read": 0, "unchanged": 1, "skipped": 0, "removed": 2}
    assert report.passages == {"knowledge": 3, "skill": 0, "document": 0}
    assert index.search("haiku volcanoes osmosis", 5) == []
    assert report.warnings[0].rule == "document-pattern"  # plants/*.md matches nothing now


def test_broken_yaml_is_skipped_with_a_finding(
    taxonomy: Path, open_index: Callable[..., TaxonomyIndex], reads: list[str]
) -> None:
    index = open_index(taxonomy)
    index.refresh()
    broken = HAIKU.replace("    answer: |\n      Pizza", "    answer: [\n      Pizza")
    write(taxonomy, HAIKU_FILE, broken)
    write(taxonomy, "compositional_skills/poems/limerick/qna.yaml", "version: 3\nseed_examples: [\n")
    age(taxonomy)
    report = index.refresh()
    assert files(report) == {"read": 0, "unchanged": 2, "skipped": 2, "removed": 0}
    assert [(f.file, f.line, f.col, f.rule) for f in report.skipped] == [
        (HAIKU_FILE, 11, 12, "yaml-syntax"),
        ("compositional_skills/poems/limerick/qna.yaml", 3, 1, "yaml-syntax"),
    ]
    assert report.passages == {"knowledge": 3, "skill": 0, "document": 2}  # the old haiku passages are gone
    assert index.search("volcanoes", 3) == []
    assert [s.file for s in index.search("stomata", 1)] == [PLANTS_FILE]
    # still broken, unchanged: reported again without reading it
    reads.clear()
    again = index.refresh()
    assert reads == [] and again.skipped == report.skipped
    # fixed: indexed again
    write(taxonomy, HAIKU_FILE, HAIKU)
    age(taxonomy)
    fixed = index.refresh()
    assert files(fixed) == {"read": 1, "unchanged": 2, "skipped": 1, "removed": 0}
    assert fixed.passages["skill"] == 2


def test_not_a_mapping_and_empty_files(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    write(taxonomy, "compositional_skills/poems/list/qna.yaml", "- just\n- a list\n")
    write(taxonomy, "compositional_skills/poems/empty/qna.yaml", "")
    report = open_index(taxonomy).refresh()
    assert [(f.file, f.line, f.col, f.rule) for f in report.skipped] == [
        ("compositional_skills/poems/list/qna.yaml", 1, 1, "top-level-not-mapping")
    ]
    assert files(report) == {"read": 4, "unchanged": 0, "skipped": 1, "removed": 0}


def test_search_result_fields(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    index = open_index(taxonomy)
    index.refresh()
    results = index.search("Which tubes carry water up to the leaves?", 3)
    first = results[0]
    assert first == Source(
        n=1,
        file=PLANTS_FILE,
        line=18,
        yaml_path="seed_examples[1].context",
        title=TITLE,
        snippet="Xylem tubes carry water from the roots up to the leaves. Phloem tubes carry sugar around the "
        "plant. Q: Which tubes carry water to the leaves? A: Xylem tubes carry water from the roots to the "
        "leaves. Q: What does phloem carry? A: Phloem carries sugar around the plant.",
        score=first.score,
    )
    # "water" is in 4 of the 7 passages: BM25 gives it no weight, so passages with only it are not returned
    assert [(s.n, s.yaml_path) for s in results] == [
        (1, "seed_examples[1].context"),
        (2, "seed_examples[2].context"),
    ]
    assert all(s.score > 0 for s in results)
    assert [s.score for s in results] == sorted((s.score for s in results), reverse=True)
    assert first.score == round(first.score, 3)
    assert first.to_dict() == {
        "n": 1,
        "file": PLANTS_FILE,
        "line": 18,
        "yaml_path": "seed_examples[1].context",
        "title": TITLE,
        "snippet": first.snippet,
        "score": first.score,
    }
    skill = index.search("haiku fractions pizza", 1)[0]
    assert (skill.file, skill.line, skill.yaml_path, skill.title) == (
        HAIKU_FILE,
        5,
        "seed_examples[0]",
        "Haiku: Write a haiku about fractions.",
    )
    doc = index.search("osmosis", 1)[0]
    assert (doc.file, doc.line, doc.yaml_path, doc.title, doc.snippet) == (
        "docs/plants/roots.md",
        3,
        "",
        "Roots",
        "Roots anchor the plant in the ground. Root hairs absorb water by osmosis.",
    )
    cap = index.search("growing tip", 1)[0]
    assert (cap.line, cap.title) == (9, "Roots > Root cap")


def test_snippet_is_bounded(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    long_context = " ".join(["Chlorophyll   absorbs light."] * 40)
    write(taxonomy, PLANTS_FILE, PLANTS.replace("Stomata are small pores under a leaf.", long_context))
    index = open_index(taxonomy)
    index.refresh()
    hit = index.search("chlorophyll", 1)[0]
    assert len(hit.snippet) == 297 and hit.snippet.endswith("light.…")
    assert "  " not in hit.snippet and "\n" not in hit.snippet


def test_stemming_and_accents(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    index = open_index(taxonomy)
    index.refresh()
    assert index.search("tube", 1)[0].yaml_path == "seed_examples[1].context"  # porter: tube = tubes
    assert index.search("STÓMATA", 1)[0].yaml_path == "seed_examples[2].context"


@pytest.mark.parametrize(
    "query",
    ['"NEAR(', "col:x*", "title:roots", "x*", "^roots", '"', "(", ")", "*", "-", "+", "NEAR(a b, 2)", ""],
)
def test_query_text_is_never_fts_syntax(
    taxonomy: Path, open_index: Callable[..., TaxonomyIndex], query: str
) -> None:
    index = open_index(taxonomy)
    index.refresh()
    results = index.search(query, 5)
    if query == "title:roots":
        # the plain words "title" and "roots", not a column filter on the title
        assert {s.file for s in results} == {PLANTS_FILE, "docs/plants/roots.md"}
        return
    if query == "^roots":
        assert results != []
        return
    # no "near", "col", "x", "and", "or", "not", "a", "b", "2" in the taxonomy: x* must not match "xylem"
    assert results == []


def test_operator_words_are_plain_words(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    write(taxonomy, "compositional_skills/poems/near/qna.yaml", HAIKU.replace("fractions", "near"))
    index = open_index(taxonomy)
    index.refresh()
    # the word "near" (in its text and in its folder name), nothing else
    assert {s.file for s in index.search('"NEAR(', 5)} == {"compositional_skills/poems/near/qna.yaml"}
    # AND, OR, NOT are words too: "and" is in the plants contexts, the rest nowhere
    assert {s.file for s in index.search("AND OR NOT", 5)} == {PLANTS_FILE}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60))
def test_any_text_searches_without_error(text: str, taxonomy: Path, tmp_path: Path) -> None:
    index_path = tmp_path / "fuzz.sqlite3"
    with TaxonomyIndex(taxonomy, index_path) as index:
        if not index_path.with_suffix(".done").exists():
            index.refresh()
            index_path.with_suffix(".done").touch()
        results = index.search(text, 3)
    assert len(results) <= 3


def test_words_in_half_the_passages_only_count_when_alone(
    taxonomy: Path, open_index: Callable[..., TaxonomyIndex]
) -> None:
    index = open_index(taxonomy)
    index.refresh()
    # "water" is in 4 of 7 passages (FTS5's BM25 floors its IDF): alone, it still finds them, all scored ~0
    alone = index.search("water", 10)
    assert len(alone) == 4 and {s.score for s in alone} == {0.001}
    # next to a telling word it is dropped from the query: only the passage with "minerals" comes back
    assert [s.yaml_path for s in index.search("water minerals", 10)] == ["seed_examples[0].context"]
    # a word in no passage is ignored; one the tokenizer drops entirely matches nothing
    assert [s.yaml_path for s in index.search("minerals zzzunknown", 10)] == ["seed_examples[0].context"]
    assert index.search("zzzunknown", 10) == []


def test_exclude_files_and_passages(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    index = open_index(taxonomy)
    index.refresh()
    query = "xylem stomata osmosis hairs"
    everything = [(s.file, s.yaml_path) for s in index.search(query, 10)]
    assert (PLANTS_FILE, "seed_examples[1].context") in everything
    without_pair = index.search(query, 10, exclude=[(PLANTS_FILE, "seed_examples[1].context")])
    assert [(s.file, s.yaml_path) for s in without_pair] == [
        x for x in everything if x != (PLANTS_FILE, "seed_examples[1].context")
    ]
    assert [s.n for s in without_pair] == list(range(1, len(without_pair) + 1))
    without_file = index.search(query, 10, exclude=[PLANTS_FILE])
    assert {s.file for s in without_file} == {"docs/plants/roots.md"}


def test_holdout_keeps_the_last_pairs_out(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    index = open_index(taxonomy, holdout=1)
    report = index.refresh()
    assert report.held_out == 3
    assert index.held_out() == [
        HeldOut(
            PLANTS_FILE,
            14,
            "seed_examples[0].questions_and_answers[1]",
            "seed_examples[0].context",
            "Why do roots have root hairs?",
            "Root hairs give the roots a large surface.",
        ),
        HeldOut(
            PLANTS_FILE,
            25,
            "seed_examples[1].questions_and_answers[1]",
            "seed_examples[1].context",
            "What does phloem carry?",
            "Phloem carries sugar around the plant.",
        ),
        HeldOut(
            PLANTS_FILE,
            36,
            "seed_examples[2].questions_and_answers[1]",
            "seed_examples[2].context",
            "What leaves a plant through the stomata?",
            "Water vapour leaves the plant through the stomata.",
        ),
    ]
    passage = index.retrieve("phloem", 1)[0]
    assert passage.text == (
        "Xylem tubes carry water from the roots up to the leaves. Phloem tubes carry sugar around the plant.\n"
        "Q: Which tubes carry water to the leaves?\n"
        "A: Xylem tubes carry water from the roots to the leaves."
    )
    top = index.search("Why do roots have root hairs", 3)
    assert (PLANTS_FILE, "seed_examples[0].context") in [(s.file, s.yaml_path) for s in top]


def test_holdout_larger_than_the_pairs_keeps_the_context(
    taxonomy: Path, open_index: Callable[..., TaxonomyIndex]
) -> None:
    index = open_index(taxonomy, holdout=5)
    report = index.refresh()
    assert report.held_out == 6 and report.passages["knowledge"] == 3
    assert index.retrieve("phloem", 1)[0].text == (
        "Xylem tubes carry water from the roots up to the leaves. Phloem tubes carry sugar around the plant."
    )


def test_changing_holdout_rebuilds(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    open_index(taxonomy).refresh()
    report = open_index(taxonomy, holdout=1).refresh()
    assert report.rebuilt is True
    assert files(report)["read"] == 3


def test_rebuild_reads_everything(
    taxonomy: Path, open_index: Callable[..., TaxonomyIndex], reads: list[str]
) -> None:
    index = open_index(taxonomy)
    index.refresh()
    reads.clear()
    report = index.refresh(rebuild=True)
    assert report.rebuilt is True and len(reads) == 3
    assert files(report) == {"read": 3, "unchanged": 0, "skipped": 0, "removed": 0}
    # the same connection searches the tables made again
    assert [s.file for s in index.search("osmosis", 3)] == ["docs/plants/roots.md"]


def test_a_crash_mid_refresh_leaves_the_old_index(
    taxonomy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.sqlite3"
    with TaxonomyIndex(taxonomy, path) as index:
        index.refresh()
        before = index.search("roots water volcanoes osmosis", 10)
    (taxonomy / HAIKU_FILE).unlink()
    write(taxonomy, PLANTS_FILE, PLANTS.replace("Xylem", "Vessel"))
    age(taxonomy)

    def crash(path: Path, *args: object) -> list[object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "document_passages", crash)
    monkeypatch.setattr(
        index_module, "document_files", lambda ref, folder, root: ([(taxonomy / "x.md", "x.md")], [])
    )
    (taxonomy / "x.md").write_text("# x\n")
    with TaxonomyIndex(taxonomy, path) as index, pytest.raises(KeyboardInterrupt):
        index.refresh()
    monkeypatch.undo()
    with TaxonomyIndex(taxonomy, path) as index:
        assert index.search("roots water volcanoes osmosis", 10) == before
        assert index.counts() == {"knowledge": 3, "skill": 2, "document": 2}


def test_readers_do_not_wait_for_a_refresh(taxonomy: Path, tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    with TaxonomyIndex(taxonomy, path) as index:
        index.refresh()
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # as a refresh in another process holds it
        writer.execute("DELETE FROM passages")
        started = time.monotonic()
        with TaxonomyIndex(taxonomy, path) as reader:
            assert [s.file for s in reader.search("osmosis", 3)] == ["docs/plants/roots.md"]  # the old index
        assert time.monotonic() - started < 5
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_an_index_of_another_format_is_made_again(taxonomy: Path, tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    with TaxonomyIndex(taxonomy, path) as index:
        index.refresh()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'format'")
    with TaxonomyIndex(taxonomy, path) as index:
        assert index.counts() == {"knowledge": 0, "skill": 0, "document": 0}
        report = index.refresh()
    assert report.rebuilt is True and files(report)["read"] == 3


def test_documents_from_a_checkout_folder(tmp_path: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    root = tmp_path / "taxonomy"
    remote = PLANTS.replace("repo: docs", "repo: https://github.com/example/plant-docs.git")
    write(root, PLANTS_FILE, remote)
    checkouts = tmp_path / "checkouts"
    write(checkouts, "plant-docs/plants/roots.md", "# Roots\n\nRoots drink by osmosis.\n")
    write(checkouts, "plant-docs/plants/notes.txt", "osmosis\n")  # not markdown
    age(tmp_path)
    without = open_index(root).refresh()
    assert without.remote_documents == 1 and without.passages["document"] == 0
    index = open_index(root, docs_dir=checkouts)
    report = index.refresh()
    assert report.remote_documents == 0 and report.passages["document"] == 1
    hit = index.search("osmosis", 1)[0]
    assert (hit.file, hit.line, hit.title) == (
        "https://github.com/example/plant-docs/plants/roots.md",
        3,
        "Roots",
    )


def test_document_problems_are_warnings(tmp_path: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    root = tmp_path / "taxonomy"
    write(root, PLANTS_FILE, PLANTS.replace("repo: docs", "repo: ../missing"))
    write(
        root,
        "knowledge/botany/trees/qna.yaml",
        PLANTS.replace("    - plants/*.md", "    - trees/*.md\n    - ../../etc/*.md"),
    )
    (root / "docs").mkdir()
    write(root, "docs/bad.md", "")
    (root / "docs/plants").mkdir()
    (root / "docs/plants/latin1.md").write_bytes(b"# Caf\xe9\n")
    report = open_index(root).refresh()
    assert [(f.file, f.line, f.rule, f.severity, f.message) for f in report.warnings] == [
        (
            "knowledge/botany/plants/qna.yaml",
            41,
            "document-missing",
            "warning",
            'document repo "../missing" is not a folder on this machine: its documents are not indexed',
        ),
        (
            "knowledge/botany/trees/qna.yaml",
            41,
            "document-pattern",
            "warning",
            'pattern "trees/*.md" matches no markdown file in "docs"',
        ),
        (
            "knowledge/botany/trees/qna.yaml",
            41,
            "document-pattern",
            "warning",
            'pattern "../../etc/*.md" matches no markdown file in "docs"',
        ),
    ]
    assert report.skipped == []


def test_undecodable_document_is_skipped(taxonomy: Path, open_index: Callable[..., TaxonomyIndex]) -> None:
    (taxonomy / "docs/plants/latin1.md").write_bytes(b"# Caf\xe9\n")
    report = open_index(taxonomy).refresh()
    assert [(f.file, f.line, f.col, f.rule) for f in report.skipped] == [
        ("docs/plants/latin1.md", 1, 6, "encoding")
    ]
    assert report.passages == {"knowledge": 3, "skill": 2, "document": 2}


def test_missing_taxonomy_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match=r"taxonomy .*nowhere is not a folder"):
        build_index(tmp_path / "nowhere", path=tmp_path / "index.sqlite3")
    assert not (tmp_path / "index.sqlite3").exists()


def test_a_file_that_is_not_an_index_is_left_alone(taxonomy: Path, tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database at all, just some notes that are long enough\n" * 20)
    with pytest.raises(GroundingError, match="is not a usable index"):
        TaxonomyIndex(taxonomy, text_file)
    assert text_file.read_text().startswith("not a database")
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE people (name TEXT)")
    with pytest.raises(GroundingError, match="not an edubot index"):
        TaxonomyIndex(taxonomy, other)


def test_without_fts5_the_error_says_so(taxonomy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "fts5_available", lambda: False)
    with pytest.raises(MissingDependencyError, match="built without FTS5"):
        TaxonomyIndex(taxonomy)


def test_default_index_path_is_in_the_cache(taxonomy: Path, isolated_cache: Path) -> None:
    path = default_index_path(taxonomy)
    assert path.parent == isolated_cache / "grounding"
    assert path.name.startswith("taxonomy-") and path.suffix == ".sqlite3"
    assert default_index_path(taxonomy, holdout=2).name == path.stem + "-holdout2.sqlite3"
    assert default_index_path(taxonomy.parent / "other") != path
    report = build_index(taxonomy)
    assert report.index == str(path) and path.is_file()
    assert not any(p.name.endswith(".sqlite3") for p in taxonomy.rglob("*"))
