"""``edubot taxonomy validate``: find qna.yaml files, check them in parallel, reuse cached verdicts.

Per file, in InstructLab's order: the name must be ``qna.yaml``; the content is checked by
``checks.check_content`` (cached by content hash, computed in a process pool over the cores); then the
path-level lint (folder names, ``attribution.txt``) runs fresh, since it depends on neighbouring files.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import checks, gitdiff, lint, schema
from .cache import ResultCache, key
from .checks import ContentResult
from .findings import Finding, Report, finding

TAXONOMY_FILE = "qna.yaml"
CANDIDATE_NAMES = ("qna.yaml", "qna.yml")
PARALLEL_THRESHOLD = 32
"""Below this many files to check, a process pool costs more than it saves."""


def discover(paths: Iterable[Path]) -> list[Path]:
    """qna.yaml (and misnamed qna.yml) files under each directory; files as given; missing paths kept."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name in CANDIDATE_NAMES:
                        found[Path(folder, name)] = None
        else:
            found[path] = None
    return list(found)


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _check_batch(batch: Sequence[tuple[bytes, str | None]], strict: bool) -> list[ContentResult]:
    return [checks.check_content(raw, folder, strict) for raw, folder in batch]


def _warm_up() -> None:
    """Build validators and the yamllint config once, so forked workers inherit them ready."""
    from yamllint import linter  # noqa: F401

    checks.yamllint_config()
    for name in schema.TAXONOMY_FOLDERS:
        schema.validator("v3", name)


def _check_all(todo: list[tuple[bytes, str | None]], strict: bool, jobs: int) -> list[ContentResult]:
    if jobs <= 1 or len(todo) < PARALLEL_THRESHOLD:
        return _check_batch(todo, strict)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _warm_up()
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    size = max(1, -(-len(todo) // (jobs * 4)))
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    results: list[ContentResult] = []
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            for part in pool.map(_check_batch, batches, [strict] * len(batches)):
                results.extend(part)
    except (OSError, BrokenProcessPool):
        # no usable process pool here (e.g. no /dev/shm in a container): the same work, in this process
        return _check_batch(todo, strict)
    return results


def default_jobs() -> int:
    """Worker processes: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def validate_files(
    files: Sequence[Path],
    *,
    strict: bool = False,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    root: Path | None = None,
) -> Report:
    """Validate exactly ``files``; ``root`` is the taxonomy root used for folder-name checks."""
    report = Report(files_checked=len(files))
    per_file: dict[int, list[Finding]] = {}
    pending: list[tuple[int, Path, str, bytes, str | None]] = []
    for index, path in enumerate(files):
        shown = display_path(path)
        if not path.is_file():
            per_file[index] = [
                finding(
                    "file-missing",
                    f'"{shown}" does not exist or is not a file',
                    hint="check the path (run from the repository root, or pass the taxonomy folder)",
                    file=shown,
                )
            ]
            continue
        if path.name != TAXONOMY_FILE:
            per_file[index] = [
                finding(
                    "file-name",
                    f'taxonomy files must be named "qna.yaml"; "{path.name}" is not a valid name',
                    hint=f"rename it: git mv {shown} {display_path(path.with_name(TAXONOMY_FILE))}",
                    file=shown,
                )
            ]
            continue
        try:
            raw = path.read_bytes()
        except OSError as exc:
            per_file[index] = [finding("file-missing", f"cannot read {shown}: {exc.strerror}", file=shown)]
            continue
        pending.append((index, path, shown, raw, schema.taxonomy_folder(path)))

    cache = ResultCache(cache_dir) if use_cache and pending else None
    keys = [key(raw, folder, strict) for _, _, _, raw, folder in pending] if cache else []
    cached = cache.get_many(keys) if cache else {}
    todo_positions = (
        [i for i, k in enumerate(keys) if k not in cached] if cache else list(range(len(pending)))
    )
    report.cache_hits = len(pending) - len(todo_positions)
    fresh = _check_all(
        [(pending[i][3], pending[i][4]) for i in todo_positions], strict, jobs or default_jobs()
    )
    results: dict[int, ContentResult] = dict(zip(todo_positions, fresh, strict=True))
    if cache is not None:
        for i, k in enumerate(keys):
            if i not in results:
                results[i] = cached[k]
        cache.put_many({keys[i]: results[i] for i in todo_positions})
        if cache.problem:
            report.notes.append(cache.problem)
        cache.close()

    for position, (index, path, shown, _, _) in enumerate(pending):
        result = results[position]
        found = [f.at(shown) for f in result.findings]
        found += [f.at(shown) for f in lint.lint_path(path, result.version3, root)]
        per_file[index] = found
    for index in range(len(files)):
        report.findings.extend(sorted(per_file.get(index, []), key=lambda f: (f.line, f.col, f.rule)))
    return report


def validate(
    paths: Sequence[Path],
    *,
    strict: bool = False,
    use_cache: bool = True,
    changed: bool = False,
    base: str | None = None,
    cache_dir: Path | None = None,
    jobs: int | None = None,
) -> Report:
    """Validate the qna.yaml files under ``paths`` (only those changed against git ``base`` with ``changed``)."""
    files = discover(paths)
    notes: list[str] = []
    if changed:
        selection = gitdiff.changed_files(paths, base)
        wanted = {p.resolve() for p in selection.files}
        files = [f for f in files if f.resolve() in wanted]
        notes.append(selection.note)
    root = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
    report = validate_files(
        files, strict=strict, use_cache=use_cache, cache_dir=cache_dir, jobs=jobs, root=root
    )
    report.notes[:0] = notes
    return report
