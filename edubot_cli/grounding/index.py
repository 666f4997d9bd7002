"""A persistent, incremental retrieval index of a taxonomy: SQLite FTS5 with BM25, through the stdlib ``sqlite3``.

It holds one passage per knowledge context (the context and its Q&A), one per skill seed example, and the
sections of knowledge leaves' local markdown documents (see ``documents``). A refresh reads only what changed:
each file's size and mtime are compared first, its bytes are hashed (sha256) only when they differ, and it is
parsed again only when the hash differs. A file that cannot be parsed loses its passages and is reported as a
``Finding``; deleted files drop out. The whole refresh is one transaction, so a crash or Ctrl-C part-way leaves
the previous index as it was, and readers (the chat server) see the old or the new index, never half of one.

The default index file is in the user cache (``default_index_path``), not in the taxonomy: the taxonomy folder is
tracked by git and the index is derived data.

This module is longer than the others on purpose: ``TaxonomyIndex`` owns one SQLite connection, and the schema,
the incremental refresh and the queries all work on its tables inside its transactions; split apart, each part
would reach into the others' tables. What does not touch the database lives beside it (``passages``,
``documents``, ``query``, ``sources``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import EdubotError, MissingDependencyError, TaxonomyError
from ..taxonomy import yamlload
from ..taxonomy.findings import WARNING, Finding, finding
from ..taxonomy.model import DocumentRef
from .documents import document_files, locate
from .passages import KINDS, Chunk, HeldOut, document_passages, qna_passages
from .query import terms
from .sources import Passage, Source, snippet

INDEX_FORMAT = 2
"""Bumped when the schema or the way passages are cut changes: an index of another format is rebuilt."""

TOKENIZE = "porter unicode61 remove_diacritics 2"
"""Words (Unicode letters and digits), accents folded, English suffixes stemmed: 'leaves' finds 'leaf'."""

TITLE_WEIGHT = 0.5
TEXT_WEIGHT = 1.0
"""BM25 column weights: the title (leaf path + domain, or the heading trail) counts half as much as the text."""

RACY_NS = 2_000_000_000
"""A file modified less than 2 s before it was indexed may change again within the same mtime tick without
changing its size; its mtime is not trusted (stored as -1), so the next refresh hashes it again (git's "racily
clean" rule)."""

QNA = "qna"
DOC = "document"


class GroundingError(EdubotError):
    """The retrieval index cannot be opened or used."""


@functools.cache
def fts5_available() -> bool:
    """Whether this Python's SQLite was compiled with FTS5."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
    return True


def require_fts5() -> None:
    if not fts5_available():
        raise MissingDependencyError(
            f"this Python's SQLite ({sqlite3.sqlite_version}) was built without FTS5, which the taxonomy "
            "index needs",
            hint="use a Python whose sqlite3 module has FTS5 (the python.org, Debian/Ubuntu, Fedora, Homebrew "
            "and uv builds all do)",
        )


def default_index_path(root: Path, holdout: int = 0) -> Path:
    """``<user cache>/grounding/<folder name>-<hash of its absolute path>[-holdout<K>].sqlite3``: one index per
    taxonomy (and per holdout, so an evaluation index never replaces the one chat uses)."""
    from ..fileio import cache_dir

    absolute = str(root.resolve())
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", root.resolve().name).strip("-") or "taxonomy"
    digest = hashlib.sha256(absolute.encode()).hexdigest()[:12]
    suffix = f"-holdout{holdout}" if holdout else ""
    return cache_dir() / "grounding" / f"{slug}-{digest}{suffix}.sqlite3"


def _read_bytes(path: Path) -> bytes:
    """Every read of an indexed file goes through here (the tests count them)."""
    return path.read_bytes()


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    key TEXT PRIMARY KEY,   -- qna.yaml: path relative to the root; document: its absolute real path
    file TEXT NOT NULL,     -- the name sources show
    kind TEXT NOT NULL,     -- '{QNA}' or '{DOC}'
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    document TEXT,          -- knowledge qna.yaml: JSON {{"repo", "patterns", "line"}} of its document
    finding TEXT            -- JSON Finding when the file could not be parsed (then it has no passages)
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    file_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    yaml_path TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    label TEXT NOT NULL     -- the passage as sources name it; '' for its title
);
CREATE INDEX IF NOT EXISTS passages_by_file ON passages (file_key);
CREATE TABLE IF NOT EXISTS held_out (
    file_key TEXT NOT NULL,
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    yaml_path TEXT NOT NULL,
    context_path TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS held_out_by_file ON held_out (file_key);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    title, text, content='passages', content_rowid='id', tokenize='{TOKENIZE}'
);
CREATE TRIGGER IF NOT EXISTS passages_insert AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER IF NOT EXISTS passages_delete AFTER DELETE ON passages BEGIN
    INSERT INTO passages_fts (passages_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
END;
"""

TABLES = ("passages_fts", "passages", "held_out", "files", "meta")


@dataclass
class IndexReport:
    """What one refresh did. ``read``: files (re)indexed; ``unchanged``: kept without parsing; ``skipped``: one
    finding per file that could not be parsed; ``passages``: the whole index's passages by kind."""

    root: str
    index: str
    holdout: int = 0
    rebuilt: bool = False
    read: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    remote_documents: int = 0
    passages: dict[str, int] = field(default_factory=dict)
    held_out: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``edubot taxonomy index --format json``."""
        return {
            "root": self.root,
            "index": self.index,
            "holdout": self.holdout,
            "rebuilt": self.rebuilt,
            "files": {
                "read": self.read,
                "unchanged": self.unchanged,
                "skipped": len(self.skipped),
                "removed": self.removed,
            },
            "passages": {**self.passages, "total": sum(self.passages.values())},
            "held_out": self.held_out,
            "remote_documents": self.remote_documents,
            "skipped": [f.to_dict() for f in self.skipped],
            "warnings": [f.to_dict() for f in self.warnings],
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class _FileRow:
    key: str
    file: str
    kind: str
    size: int
    mtime_ns: int
    sha256: str
    document: str | None
    finding: str | None


class TaxonomyIndex:
    """The index of the taxonomy at ``root``, stored at ``path`` (default: ``default_index_path``).

    ``holdout`` (K ≥ 0) leaves the last K Q&A pairs of every knowledge context out of the index (``held_out()``
    lists them), for evaluation; ``docs_dir`` holds checkouts of remote document repositories. One object may be
    shared by threads (a lock serialises its connection); other processes may read while one refreshes.
    """

    def __init__(
        self, root: Path, path: Path | None = None, *, holdout: int = 0, docs_dir: Path | None = None
    ) -> None:
        require_fts5()
        if holdout < 0:
            raise GroundingError(f"holdout must be 0 or more, not {holdout}")
        self.root = root.resolve()
        self.path = path if path is not None else default_index_path(root, holdout)
        self.holdout = holdout
        self.docs_dir = docs_dir
        self._lock = threading.Lock()
        self._db = self._open()

    def __enter__(self) -> TaxonomyIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- storage -------------------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        where = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise GroundingError(
                f"cannot open the index {where}: {exc}",
                hint="check the folder's permissions, or pass another index path",
            ) from exc
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "meta" not in tables:
                raise GroundingError(
                    f"{where} is an SQLite database but not an edubot index; not touching it",
                    hint="pass another index path",
                )
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA temp_store = MEMORY")
            if not self._current(db, tables):
                # new, or of another format: (re)create it. Only then is the write lock taken, so opening an
                # index to search never waits for a refresh running in another process.
                db.execute("PRAGMA journal_mode = WAL")  # readers keep reading while a refresh writes
                db.execute("BEGIN IMMEDIATE")
                try:
                    if not self._current(db, tables):
                        for table in TABLES:  # an index of another format is derived data: made again
                            db.execute(f"DROP TABLE IF EXISTS {table}")
                        for statement in _statements(SCHEMA):
                            db.execute(statement)
                        db.execute("INSERT INTO meta (key, value) VALUES ('format', ?)", (str(INDEX_FORMAT),))
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            # per connection: FTS5's tokenizer for query words, and the index's vocabulary (see _match)
            db.execute(f"CREATE VIRTUAL TABLE temp.query_words USING fts5(word, tokenize='{TOKENIZE}')")
            db.execute("CREATE VIRTUAL TABLE temp.query_stems USING fts5vocab(temp, query_words, 'instance')")
            db.execute("CREATE VIRTUAL TABLE temp.passage_terms USING fts5vocab(main, passages_fts, 'row')")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise GroundingError(
                f"{where} is not a usable index ({exc})",
                hint="delete the file (it is rebuilt from the taxonomy) or pass another index path",
            ) from exc
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _current(db: sqlite3.Connection, tables: set[str]) -> bool:
        """Whether the file already holds an index of this format."""
        if "meta" not in tables:
            tables.update(row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
            if "meta" not in tables:
                return False
        row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        return row is not None and row[0] == str(INDEX_FORMAT)

    def _meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def _reset(self) -> None:
        db = self._db
        for table in TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in _statements(SCHEMA):
            db.execute(statement)
        db.execute("INSERT INTO meta (key, value) VALUES ('format', ?)", (str(INDEX_FORMAT),))

    # -- refresh -------------------------------------------------------------------------------------------

    def refresh(self, *, rebuild: bool = False) -> IndexReport:
        """Bring the index up to date with the taxonomy in one transaction (everything afresh: ``rebuild``)."""
        started = time.perf_counter()
        if not self.root.is_dir():
            raise TaxonomyError(
                f"taxonomy {self.root} is not a folder",
                hint="pass the taxonomy folder (the one holding knowledge/ and compositional_skills/), "
                "or set taxonomy_path in the config",
            )
        # imported here, not at the top: the chat server only searches
        from ..taxonomy.validate import TAXONOMY_FILE, discover

        report = IndexReport(root=str(self.root), index=str(self.path), holdout=self.holdout)
        qna_files = [p for p in discover([self.root]) if p.name == TAXONOMY_FILE]
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                meta = self._meta()
                identity = {"root": str(self.root), "holdout": str(self.holdout)}
                if rebuild or any(meta.get(k) != v for k, v in identity.items()):
                    self._reset()
                    report.rebuilt = True
                known = {
                    row[0]: _FileRow(*row)
                    for row in db.execute(
                        "SELECT key, file, kind, size, mtime_ns, sha256, document, finding FROM files"
                    )
                }
                seen: set[str] = set()
                for path in qna_files:
                    relative = path.relative_to(self.root).as_posix()
                    self._sync(path, relative, relative, QNA, known, seen, report)
                for real, display in self._documents(report):
                    self._sync(real, str(real), display, DOC, known, seen, report)
                for gone in sorted(known.keys() - seen):
                    self._forget(gone)
                    db.execute("DELETE FROM files WHERE key = ?", (gone,))
                    report.removed += 1
                counts = dict(db.execute("SELECT kind, count(*) FROM passages GROUP BY kind").fetchall())
                report.passages = {kind: counts.get(kind, 0) for kind in KINDS}
                report.held_out = db.execute("SELECT count(*) FROM held_out").fetchone()[0]
                stamp = datetime.now(UTC).isoformat(timespec="seconds")
                db.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [*identity.items(), ("refreshed_at", stamp), ("passages", str(sum(counts.values())))],
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        report.skipped.sort(key=lambda f: (f.file, f.line))
        report.seconds = time.perf_counter() - started
        return report

    def _forget(self, key: str) -> None:
        self._db.execute("DELETE FROM passages WHERE file_key = ?", (key,))
        self._db.execute("DELETE FROM held_out WHERE file_key = ?", (key,))

    def _sync(
        self,
        path: Path,
        key: str,
        display: str,
        kind: str,
        known: dict[str, _FileRow],
        seen: set[str],
        report: IndexReport,
    ) -> None:
        db = self._db
        try:
            stat = path.stat()
        except OSError:
            return  # gone since the folder was listed: it drops out as removed
        seen.add(key)
        row = known.get(key)
        if row is not None and row.file != display:
            row = None  # shown under another name now: index it again
        if row is not None and (row.size, row.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            _count_unchanged(row, report)
            return
        mtime = stat.st_mtime_ns if time.time_ns() - stat.st_mtime_ns >= RACY_NS else -1
        problem: Finding | None
        try:
            raw = _read_bytes(path)
        except OSError as exc:
            problem = finding("file-missing", f"cannot read the file: {exc.strerror}", file=display)
            self._store(key, display, kind, stat.st_size, mtime, "", None, [], [], problem, report)
            return
        digest = hashlib.sha256(raw).hexdigest()
        if row is not None and row.sha256 == digest:
            db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE key = ?", (stat.st_size, mtime, key))
            _count_unchanged(row, report)
            return
        if kind == QNA:
            parsed = qna_passages(raw, display, holdout=self.holdout)
            chunks, held, document, problem = parsed.chunks, parsed.held_out, parsed.document, parsed.finding
        else:
            chunks, problem = document_passages(raw, display, path.name)
            held, document = [], None
        self._store(key, display, kind, len(raw), mtime, digest, document, chunks, held, problem, report)

    def _store(
        self,
        key: str,
        display: str,
        kind: str,
        size: int,
        mtime: int,
        digest: str,
        document: DocumentRef | None,
        chunks: list[Chunk],
        held: list[HeldOut],
        problem: Finding | None,
        report: IndexReport,
    ) -> None:
        db = self._db
        self._forget(key)
        document_json = (
            json.dumps({"repo": document.repo, "patterns": list(document.patterns), "line": document.line})
            if document is not None
            else None
        )
        db.execute(
            "INSERT OR REPLACE INTO files (key, file, kind, size, mtime_ns, sha256, document, finding) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                display,
                kind,
                size,
                mtime,
                digest,
                document_json,
                json.dumps(problem.to_dict()) if problem else None,
            ),
        )
        if problem is not None:
            report.skipped.append(problem)
            return
        db.executemany(
            "INSERT INTO passages (file_key, kind, file, line, yaml_path, title, text, label) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(key, c.kind, display, c.line, c.yaml_path, c.title, c.text, c.label) for c in chunks],
        )
        db.executemany(
            "INSERT INTO held_out (file_key, file, line, yaml_path, context_path, question, answer) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(key, h.file, h.line, h.yaml_path, h.context_path, h.question, h.answer) for h in held],
        )
        report.read += 1

    def _documents(self, report: IndexReport) -> list[tuple[Path, str]]:
        """The markdown files the (readable) knowledge leaves point at, found on this machine."""
        wanted: dict[Path, str] = {}
        rows = self._db.execute(
            "SELECT file, document FROM files WHERE kind = ? AND document IS NOT NULL AND finding IS NULL "
            "ORDER BY file",
            (QNA,),
        ).fetchall()
        for file, document_json in rows:
            data = json.loads(document_json)
            ref = DocumentRef(data["repo"], tuple(data["patterns"]), data["line"])
            located = locate(ref.repo, self.root, self.docs_dir)
            where = yamlload.json_path(["document", "repo"])
            if located.folder is None:
                if located.remote:
                    report.remote_documents += 1
                else:
                    report.warnings.append(
                        finding(
                            "document-missing",
                            f'document repo "{ref.repo}" is not a folder on this machine: its documents are '
                            "not indexed",
                            line=ref.line,
                            col=1,
                            yaml_path=where,
                            hint="a local repo is an absolute path or a path relative to the taxonomy root",
                            severity=WARNING,
                            file=file,
                        )
                    )
                continue
            paths, unmatched = document_files(ref, located.folder, self.root)
            for pattern in unmatched:
                report.warnings.append(
                    finding(
                        "document-pattern",
                        f'pattern "{pattern}" matches no markdown file in "{ref.repo}"',
                        line=ref.line,
                        col=1,
                        yaml_path=yamlload.json_path(["document", "patterns"]),
                        hint="patterns are globs relative to the document folder, e.g. science/*.md",
                        severity=WARNING,
                        file=file,
                    )
                )
            for real, display in paths:
                wanted.setdefault(real, display)
        return list(wanted.items())

    # -- queries -------------------------------------------------------------------------------------------

    def retrieve(
        self, query: str, k: int = 5, *, exclude: Iterable[str | tuple[str, str]] = ()
    ) -> list[Passage]:
        """The ``k`` best passages for free-text ``query`` (BM25 over its words, any of them may match).

        ``exclude`` leaves out whole files (a ``file`` string as sources show it) or single passages (a
        ``(file, yaml_path)`` pair).
        """
        words = terms(query)
        if not words or k <= 0:
            return []
        skip = list(exclude)
        files = [e for e in skip if isinstance(e, str)]
        pairs = [e for e in skip if isinstance(e, tuple)]
        where = ""
        params: list[object] = []
        if files:
            where += (
                f" AND rowid NOT IN (SELECT id FROM passages WHERE file IN ({', '.join('?' * len(files))}))"
            )
            params += files
        if pairs:
            values = ", ".join(["(?, ?)"] * len(pairs))
            where += (
                f" AND rowid NOT IN (SELECT id FROM passages WHERE (file, yaml_path) IN (VALUES {values}))"
            )
            params += [part for pair in pairs for part in pair]
        # rank in the full-text index alone, then read the k winners' rows (joining first reads every match)
        sql = (
            "WITH top AS ("
            f"SELECT rowid AS id, bm25(passages_fts, {TITLE_WEIGHT}, {TEXT_WEIGHT}) AS rank_ FROM passages_fts "
            f"WHERE passages_fts MATCH ?{where} ORDER BY rank_, rowid LIMIT ?) "
            "SELECT p.file, p.line, p.yaml_path, p.label || CASE p.label WHEN '' THEN p.title ELSE '' END, "
            "p.text, top.rank_ "
            "FROM top JOIN passages AS p ON p.id = top.id ORDER BY top.rank_, top.id"
        )
        with self._lock:
            match = self._match(words)
            rows = self._db.execute(sql, [match, *params, k]).fetchall() if match else []
        return [
            Passage(Source(n, file, line, path, title, snippet(text), _score(rank)), text)
            for n, (file, line, path, title, text, rank) in enumerate(rows, start=1)
        ]

    def _match(self, words: list[str]) -> str:
        """The MATCH expression for ``words``, less those that cannot change the ranking.

        FTS5's BM25 floors the IDF of a term found in half the passages or more at 1e-6: such a term adds
        nothing to any score, yet the query would score every passage holding it (most of the index).
        It is dropped, unless only such terms are left. Words that are in no passage are dropped too. The
        words are stemmed by FTS5's own tokenizer (a temporary table), then looked up in the index's
        vocabulary.
        """
        db = self._db
        db.execute("DELETE FROM temp.query_words")
        db.executemany("INSERT INTO temp.query_words (rowid, word) VALUES (?, ?)", enumerate(words))
        stems: dict[int, set[str]] = {}
        for position, stem in db.execute("SELECT doc, term FROM temp.query_stems"):
            stems.setdefault(position, set()).add(stem)
        every = sorted({stem for found in stems.values() for stem in found})
        if not every:
            return ""
        marks = ", ".join("?" * len(every))
        frequency = dict(
            db.execute(f"SELECT term, doc FROM temp.passage_terms WHERE term IN ({marks})", every)
        )
        row = db.execute("SELECT value FROM meta WHERE key = 'passages'").fetchone()
        total = int(row[0]) if row else 0
        present = [(i, w) for i, w in enumerate(words) if any(frequency.get(s, 0) for s in stems.get(i, ()))]
        telling = [w for i, w in present if any(0 < 2 * frequency.get(s, 0) < total for s in stems[i])]
        chosen = telling or [w for _, w in present]
        return " OR ".join(f'"{word}"' for word in chosen)

    def stems(self, words: list[str]) -> list[set[str]]:
        """Each of ``words`` as FTS5's own tokenizer stems it (what the index matches it by); an empty set for a
        word it drops."""
        if not words:
            return []
        with self._lock:
            db = self._db
            db.execute("DELETE FROM temp.query_words")
            db.executemany("INSERT INTO temp.query_words (rowid, word) VALUES (?, ?)", enumerate(words))
            found: list[set[str]] = [set() for _ in words]
            for position, stem in db.execute("SELECT doc, term FROM temp.query_stems"):
                found[position].add(stem)
        return found

    def frequencies(self, stems: Iterable[str]) -> tuple[dict[str, int], int]:
        """How many passages hold each of ``stems`` (absent ones are left out), and how many passages the index
        has."""
        wanted = sorted(set(stems))
        with self._lock:
            found: dict[str, int] = {}
            for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                found.update(
                    self._db.execute(
                        f"SELECT term, doc FROM temp.passage_terms WHERE term IN ({marks})", chunk
                    )
                )
            row = self._db.execute("SELECT value FROM meta WHERE key = 'passages'").fetchone()
        return found, int(row[0]) if row else 0

    def search(
        self, query: str, k: int = 5, *, exclude: Iterable[str | tuple[str, str]] = ()
    ) -> list[Source]:
        """The ``k`` best sources for ``query`` (see ``retrieve``)."""
        return [p.source for p in self.retrieve(query, k, exclude=exclude)]

    def held_out(self) -> list[HeldOut]:
        """The Q&A pairs this index was built without (``holdout``), in file and line order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT file, line, yaml_path, context_path, question, answer FROM held_out ORDER BY file, line"
            ).fetchall()
        return [HeldOut(*row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Passages in the index by kind."""
        with self._lock:
            counts = dict(self._db.execute("SELECT kind, count(*) FROM passages GROUP BY kind").fetchall())
        return {kind: counts.get(kind, 0) for kind in KINDS}


def _score(bm25: float) -> float:
    """FTS5's bm25() is negative, lower is better: turned positive, higher is better, 3 decimals. A match on
    words that are in most passages scores almost 0 (FTS5 floors their IDF at 1e-6); it shows as 0.001."""
    return max(round(-bm25, 3), 0.001)


def _count_unchanged(row: _FileRow, report: IndexReport) -> None:
    if row.finding is not None:
        report.skipped.append(Finding.from_dict(json.loads(row.finding)))
    else:
        report.unchanged += 1


def _statements(script: str) -> list[str]:
    """The statements of ``SCHEMA`` one by one (``executescript`` would commit the open transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]


def build_index(
    root: Path,
    *,
    path: Path | None = None,
    holdout: int = 0,
    docs_dir: Path | None = None,
    rebuild: bool = False,
) -> IndexReport:
    """Build or refresh the index of ``root`` (what ``edubot taxonomy index`` runs)."""
    if not root.is_dir():
        raise TaxonomyError(
            f"taxonomy {root} is not a folder",
            hint="pass the taxonomy folder (the one holding knowledge/ and compositional_skills/), "
            "or set taxonomy_path in the config",
        )
    with TaxonomyIndex(root, path, holdout=holdout, docs_dir=docs_dir) as index:
        return index.refresh(rebuild=rebuild)
