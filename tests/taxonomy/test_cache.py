"""The content-hash cache: hits on unchanged files, misses on changed ones, skipped with --no-cache."""

from __future__ import annotations

from pathlib import Path

from edubot_cli.taxonomy import checks
from edubot_cli.taxonomy.validate import validate

from .conftest import knowledge_text, skill_text, write_leaf


def _tree(root: Path) -> tuple[Path, Path]:
    a = write_leaf(root, "knowledge/geo/africa", knowledge_text())
    b = write_leaf(root, "compositional_skills/lang/q", skill_text())
    return a, b


def test_hit_miss_and_no_cache(tmp_path: Path, isolated_cache: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a, _ = _tree(tmp_path / "taxonomy")
    calls: list[int] = []
    real = checks.check_content

    def counting(raw: bytes, folder: str | None, strict: bool = False) -> checks.ContentResult:
        calls.append(1)
        return real(raw, folder, strict)

    monkeypatch.setattr(checks, "check_content", counting)

    first = validate([tmp_path / "taxonomy"], jobs=1)
    assert (first.cache_hits, len(calls)) == (0, 2)
    assert (isolated_cache / "taxonomy-validate.sqlite3").is_file()

    second = validate([tmp_path / "taxonomy"], jobs=1)
    assert (second.cache_hits, len(calls)) == (2, 2)
    assert second.to_dict() == first.to_dict()

    a.write_text(a.read_text().replace("domain: Geography", "domain: 5"))
    third = validate([tmp_path / "taxonomy"], jobs=1)
    assert (third.cache_hits, len(calls)) == (1, 3)
    assert [f.rule for f in third.findings] == ["schema/type"]

    fourth = validate([tmp_path / "taxonomy"], jobs=1, use_cache=False)
    assert (fourth.cache_hits, len(calls)) == (0, 5)
    assert fourth.to_dict() == third.to_dict()


def test_strict_is_part_of_the_key(tmp_path: Path) -> None:
    a, _ = _tree(tmp_path / "taxonomy")
    a.write_text(a.read_text().replace("domain: Geography", "domain:  Geography"))
    assert validate([a], jobs=1).warnings == 1
    strict = validate([a], jobs=1, strict=True)
    assert (strict.cache_hits, strict.errors, strict.warnings) == (0, 1, 0)


def test_path_checks_are_not_cached(tmp_path: Path) -> None:
    a, _ = _tree(tmp_path / "taxonomy")
    assert validate([a], jobs=1).findings == []
    (a.parent / "attribution.txt").unlink()
    report = validate([a], jobs=1)
    assert report.cache_hits == 1
    assert [f.rule for f in report.findings] == ["attribution"]


def test_unwritable_cache_is_a_note_not_a_failure(tmp_path: Path) -> None:
    a, _ = _tree(tmp_path / "taxonomy")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    report = validate([a], jobs=1, cache_dir=blocker / "sub")
    assert report.findings == []
    assert report.notes and report.notes[0].startswith("cache disabled")


def test_parallel_matches_serial(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    for i in range(40):
        text = knowledge_text() if i % 3 else knowledge_text().replace("domain: Geography", f"domain: {i}")
        write_leaf(root, f"knowledge/geo/leaf_{i:02d}", text)
    serial = validate([root], jobs=1, use_cache=False)
    parallel = validate([root], jobs=2, use_cache=False)
    assert parallel.to_dict() == serial.to_dict()
    assert serial.errors == 14


def test_without_a_process_pool_the_work_runs_here(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import concurrent.futures

    root = tmp_path / "taxonomy"
    for i in range(40):
        write_leaf(root, f"compositional_skills/s/leaf_{i:02d}", skill_text())

    tried: list[int] = []

    def no_pool(*args: object, **kwargs: object) -> None:
        tried.append(1)
        raise OSError("no /dev/shm")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    report = validate([root], jobs=2, use_cache=False)
    assert (report.files_checked, report.findings, tried) == (40, [], [1])
