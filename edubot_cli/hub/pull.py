"""``edubot model pull NAME``: one GGUF file from the Hugging Face hub into ``models_dir``, verified.

``NAME`` is a catalog name (``hub.catalog``) or ``hf:owner/repo/path/to/file.gguf``. The hub is
``$HF_ENDPOINT`` (read at each pull, default https://huggingface.co), so a mirror or a test's local server can
stand in for it.

The steps, through ``huggingface_hub``:

1. ``get_hf_file_metadata`` (a HEAD on ``/{repo}/resolve/{revision}/{file}``) gives the file's size, commit and
   hash: for a file stored with LFS (every GGUF file on the hub) the ETag / X-Linked-Etag is its SHA-256; for a
   small file kept in git, its git blob SHA-1. Both are checked; a file the hub gives neither for is refused.
2. A file already at ``models_dir/<file>`` is never replaced without ``force``: when it is the hub's file (same
   hash) the pull is already done; otherwise it is refused.
3. The bytes go to ``models_dir/.pull/<file>.<hash[:12]>.part`` through ``huggingface_hub``'s ``http_get``,
   which resumes with a Range request from what a stopped pull left there (and retries a dropped connection
   itself). The hash in the name keeps a newer version on the hub from resuming an older one's bytes.
4. The whole file is hashed; on a mismatch it is deleted and the pull fails. Then it is renamed into place:
   ``models_dir`` holds either no file of that name or the verified one, never half of one.

``huggingface_hub`` (and its HTTP client) are imported inside the functions that use them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from .. import __version__
from ..errors import PullError, missing_extra
from .catalog import CatalogModel, find, names

DEFAULT_ENDPOINT = "https://huggingface.co"
HF_PREFIX = "hf:"
PARTIAL_DIR = ".pull"
"""Folder under ``models_dir`` for downloads under way (``model list`` skips dot-folders)."""
METADATA_TIMEOUT = 10.0
"""Seconds to wait for the hub's answer about the file."""
GGUF_MAGIC = b"GGUF"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHA1 = re.compile(r"[0-9a-f]{40}")
_REPO_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

Progress = Callable[[int, int | None], None]
"""Called with (bytes on disk, total bytes or None) as the download goes."""


@dataclass(frozen=True)
class PullSource:
    """What to pull: a file of a hub repository, and the catalog entry it came from (None for ``hf:``)."""

    repo: str
    filename: str
    revision: str = "main"
    entry: CatalogModel | None = None

    @property
    def name(self) -> str:
        """The name the user gave (the catalog name, or ``hf:owner/repo/file``)."""
        return self.entry.name if self.entry is not None else f"{HF_PREFIX}{self.repo}/{self.filename}"

    @property
    def target_name(self) -> str:
        """The file's name under ``models_dir`` (its last path part)."""
        return PurePosixPath(self.filename).name


@dataclass(frozen=True)
class PullResult:
    path: Path
    source: PullSource
    size: int
    digest: str
    """The hub's hash the file matched (SHA-256, or git's SHA-1 for a small non-LFS file)."""
    algorithm: str
    """``SHA-256`` or ``git SHA-1``."""
    commit: str | None
    resumed_from: int = 0
    """Bytes a stopped pull had left, resumed from (0: from the start)."""
    already: bool = False
    """The file was already there, and is the hub's."""
    replaced: bool = False
    """``force`` replaced a different file of that name."""


def resolve_source(name: str) -> PullSource:
    """The file ``name`` (a catalog name or ``hf:owner/repo/file.gguf``) stands for; ``PullError`` otherwise."""
    text = name.strip()
    if text.lower().startswith(HF_PREFIX):
        parts = text[len(HF_PREFIX) :].strip("/").split("/")
        if len(parts) < 3 or not all(parts) or not all(_REPO_PART.fullmatch(p) for p in parts[:2]):
            raise PullError(
                f"{text!r} is not a hub file",
                hint="write hf:OWNER/REPO/FILE.gguf, e.g. hf:bartowski/Qwen2.5-1.5B-Instruct-GGUF/"
                "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf",
            )
        filename = "/".join(parts[2:])
        if any(part in (".", "..") for part in parts[2:]):
            raise PullError(
                f"{text!r}: the file's path may not contain . or ..", hint="name the file in the repository"
            )
        if not filename.lower().endswith(".gguf"):
            raise PullError(
                f"{filename} is not a .gguf file: edubot pulls GGUF models, which the llama-cpp engine serves",
                hint="pick a .gguf file from the repository's Files tab (Q4_K_M is a good size for a CPU)",
            )
        return PullSource(repo="/".join(parts[:2]), filename=filename)
    entry = find(text)
    if entry is None:
        raise PullError(
            f"unknown model {text!r}",
            hint=f"pull one of {', '.join(names())} (`edubot model catalog` describes them), or any GGUF file on "
            "the hub as hf:OWNER/REPO/FILE.gguf",
        )
    return PullSource(repo=entry.repo, filename=entry.filename, entry=entry)


def hub_endpoint() -> str:
    """``$HF_ENDPOINT`` (read now, not when huggingface_hub was imported), else the public hub."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def partial_path(models_dir: Path, filename: str, digest: str) -> Path:
    """Where a pull of ``filename`` with the hub's hash ``digest`` keeps its bytes until verified."""
    return models_dir / PARTIAL_DIR / f"{PurePosixPath(filename).name}.{digest[:12]}.part"


def stopped_download(models_dir: Path, source: PullSource) -> Path | None:
    """The partial file a stopped pull of ``source`` left in ``models_dir``, if any."""
    folder = models_dir / PARTIAL_DIR
    found = sorted(folder.glob(f"{glob_escape(source.target_name)}.*.part")) if folder.is_dir() else []
    return found[0] if found else None


def _hasher(algorithm: str, size: int) -> Any:
    if algorithm == "SHA-256":
        return hashlib.sha256()
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"blob {size}\0".encode())  # git's blob id: the header, then the content
    return digest


def file_digest(path: Path, algorithm: str) -> str:
    """``path``'s SHA-256, or its git blob SHA-1 (``algorithm`` ``git SHA-1``)."""
    digest = _hasher(algorithm, path.stat().st_size)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return str(digest.hexdigest())


def _algorithm(etag: str | None, source: PullSource, url: str) -> tuple[str, str]:
    value = (etag or "").strip().strip('"').lower()
    if value.startswith("w/"):
        value = value[2:].strip('"')
    if _SHA256.fullmatch(value):
        return "SHA-256", value
    if _SHA1.fullmatch(value):
        return "git SHA-1", value
    raise PullError(
        f"the hub gave no hash for {source.filename} ({url}), so the download could not be verified",
        hint="check HF_ENDPOINT: a mirror must send the hub's ETag / X-Linked-Etag headers",
    )


def _hub_error(exc: BaseException, source: PullSource, endpoint: str, target: Path) -> PullError:
    """One clear ``PullError`` for what ``huggingface_hub`` (or its HTTP client) raised."""
    import httpx2
    from huggingface_hub import errors

    where = f"{endpoint}/{source.repo}"
    if isinstance(exc, errors.GatedRepoError):
        return PullError(
            f"{source.repo} is gated: its licence must be accepted on the hub before a download",
            hint=f"accept it at {where}, then log in with `hf auth login` (or set HF_TOKEN) and pull again",
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return PullError(
            f"no repository {source.repo} on {endpoint}",
            hint="check the owner and name (`edubot model catalog` lists the curated models); a private "
            "repository needs `hf auth login` (or HF_TOKEN) first",
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return PullError(f"{source.repo} has no revision {source.revision!r}", hint=f"see {where}")
    if isinstance(exc, errors.EntryNotFoundError):
        return PullError(
            f"{source.repo} has no file {source.filename}",
            hint=f"see the repository's files at {where}/tree/{source.revision} (names are case-sensitive)",
        )
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return PullError(
            "HF_HUB_OFFLINE is set, so nothing can be downloaded", hint="unset HF_HUB_OFFLINE and pull again"
        )
    if isinstance(exc, errors.HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "an error"
        return PullError(
            f"the hub at {endpoint} answered {status} for {source.repo}/{source.filename}",
            hint="try again later; a download that stopped resumes when you run the same command again",
        )
    if isinstance(exc, OSError) and str(exc).startswith("Consistency check failed"):
        return PullError(
            f"the download of {source.target_name} from {endpoint} stopped short of the size the hub lists",
            hint="run the same command again: it resumes from what arrived",
        )
    if isinstance(exc, httpx2.HTTPError | OSError):
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        hint = "check the network connection (or HF_ENDPOINT) and run the same command again: a stopped download resumes"
        if target.is_file():
            hint += f"; {target} is already here: `edubot serve --model {target}` serves it as it is"
        return PullError(f"cannot reach the Hugging Face hub at {endpoint} ({reason})", hint=hint)
    raise exc


class _Reporter:
    """Stands in for huggingface_hub's tqdm bar: draws nothing, passes the byte counts to ``progress``."""

    progress: Progress | None = None

    def __init__(self, *args: Any, total: int | None = None, initial: int = 0, **kwargs: Any) -> None:
        self.total = total
        self.n = initial
        self._tell()

    def _tell(self) -> None:
        if self.progress is not None:
            self.progress(self.n, self.total)

    def update(self, n: int | float | None = 1) -> None:
        self.n += int(n or 0)
        self._tell()

    def __enter__(self) -> _Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None


def _reporter(progress: Progress | None) -> type[_Reporter]:
    return type("Reporter", (_Reporter,), {"progress": staticmethod(progress) if progress else None})


def pull(
    source: PullSource,
    models_dir: Path,
    *,
    force: bool = False,
    endpoint: str | None = None,
    token: str | None = None,
    progress: Progress | None = None,
) -> PullResult:
    """Download ``source`` into ``models_dir`` (see the module doc). ``endpoint``: the hub (default
    ``hub_endpoint()``); ``token``: a hub token (default: huggingface_hub's own, from ``HF_TOKEN`` or ``hf auth
    login``). Raises ``PullError`` with a hint for every failure; Ctrl-C leaves the partial file to resume from."""
    try:
        from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
        from huggingface_hub.file_download import http_get
        from huggingface_hub.utils import build_hf_headers
    except ImportError:
        raise missing_extra("huggingface_hub", "serve") from None

    # A school's download asks the hub for the file and nothing else: without this, huggingface_hub fetches a
    # registry of "AI agent harnesses" to label its user agent, from the endpoint it read at import (which a
    # later HF_ENDPOINT does not change).
    constants.HF_HUB_DISABLE_TELEMETRY = True

    endpoint = (endpoint or hub_endpoint()).rstrip("/")
    target = models_dir / source.target_name
    url = hf_hub_url(source.repo, source.filename, revision=source.revision, endpoint=endpoint)
    headers = build_hf_headers(token=token, library_name="edubot", library_version=__version__)
    try:
        meta = get_hf_file_metadata(
            url, token=token, timeout=METADATA_TIMEOUT, headers=headers, endpoint=endpoint
        )
    except Exception as exc:
        raise _hub_error(exc, source, endpoint, target) from exc
    algorithm, digest = _algorithm(meta.etag, source, url)
    size = meta.size

    replaced = False
    if target.exists():
        if not target.is_file():
            raise PullError(f"{target} exists and is not a file", hint="move it away, then pull again")
        same = (size is None or target.stat().st_size == size) and file_digest(target, algorithm) == digest
        if same:
            return PullResult(
                target, source, target.stat().st_size, digest, algorithm, meta.commit_hash, already=True
            )
        if not force:
            raise PullError(
                f"{target} already exists and is not the hub's {source.filename} (its {algorithm} differs)",
                hint="pass --force to replace it, or move it away first",
            )
        replaced = True

    part = partial_path(models_dir, source.filename, digest)
    try:
        part.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PullError(
            f"cannot create {part.parent}: {exc.strerror}", hint="check models_dir and its permissions"
        ) from exc
    for stale in part.parent.glob(f"{glob_escape(source.target_name)}.*.part"):
        if stale != part:
            stale.unlink(missing_ok=True)  # a stopped pull of another version: its bytes cannot be resumed
    resumed = part.stat().st_size if part.is_file() else 0
    if size is not None and resumed > size:
        resumed = 0
    if size is not None:
        free = shutil.disk_usage(part.parent).free
        if size - resumed > free:
            raise PullError(
                f"not enough free space in {models_dir}: {source.target_name} needs {size - resumed:,} more bytes, "
                f"{free:,} are free",
                hint="free some space (or point models_dir elsewhere) and pull again",
            )

    download_headers = dict(headers)
    if urlparse(meta.location).netloc != urlparse(url).netloc:
        # the file lives on a CDN or storage host: the hub's token must not go there
        download_headers = {k: v for k, v in download_headers.items() if k.lower() != "authorization"}
    try:
        with part.open("r+b" if resumed else "wb") as handle:
            handle.truncate(resumed)
            handle.seek(resumed)
            http_get(
                meta.location,
                handle,
                resume_size=resumed,
                headers=download_headers,
                expected_size=size,
                displayed_filename=source.target_name,
                tqdm_class=_reporter(progress),
            )
    except PullError:
        raise
    except Exception as exc:
        raise _hub_error(exc, source, endpoint, target) from exc

    if progress is not None:
        progress(part.stat().st_size, size)
    got = file_digest(part, algorithm)
    if got != digest:
        part.unlink(missing_ok=True)
        _tidy(part.parent)
        raise PullError(
            f"the downloaded {source.target_name} does not match the hub's {algorithm} "
            f"(got {got[:12]}…, expected {digest[:12]}…); it was deleted",
            hint="run the same command again; if it fails again, the server at HF_ENDPOINT sends another file "
            "than it lists",
        )
    with part.open("rb") as handle:
        magic = handle.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        part.unlink(missing_ok=True)
        _tidy(part.parent)
        raise PullError(
            f"{source.repo}/{source.filename} is not a GGUF model (it does not start with 'GGUF'); it was deleted",
            hint="pick a .gguf model file from the repository",
        )
    if target.exists() and not force:  # appeared while downloading
        part.unlink(missing_ok=True)
        raise PullError(f"{target} appeared during the download", hint="pass --force to replace it")
    os.replace(part, target)
    _tidy(part.parent)
    return PullResult(
        target,
        source,
        target.stat().st_size,
        digest,
        algorithm,
        meta.commit_hash,
        resumed_from=resumed,
        replaced=replaced,
    )


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _tidy(folder: Path) -> None:
    """Remove the partial-download folder once nothing is left in it."""
    with contextlib.suppress(OSError):  # not empty (another file's pull), or already gone
        folder.rmdir()
