"""The fake hub speaks what huggingface_hub's own download functions need: ``hf_hub_download`` (into its cache
and into a folder, directly and through the CDN redirect) and ``get_hf_file_metadata``, with the hub's errors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_hub import FakeHub, commit_of

huggingface_hub = pytest.importorskip("huggingface_hub")

REPO, FILE = "someone/tiny-GGUF", "tiny.gguf"
DATA = b"GGUF" + bytes(range(256)) * 64


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    from huggingface_hub import constants

    # huggingface_hub read HF_ENDPOINT at import: every call below names the endpoint, and telemetry (which
    # would ask the import-time endpoint for a registry) is off
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    with FakeHub(tmp_path / "hub") as fake:
        fake.add(REPO, FILE, DATA)
        yield fake


@pytest.mark.parametrize("redirect", [False, True])
def test_hf_hub_download_into_the_cache_and_a_folder(hub: FakeHub, tmp_path: Path, redirect: bool) -> None:
    from huggingface_hub import hf_hub_download

    hub.redirect = redirect
    cached = hf_hub_download(REPO, FILE, endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert Path(cached).read_bytes() == DATA
    assert f"snapshots/{commit_of(REPO)}/{FILE}" in cached
    local = hf_hub_download(REPO, FILE, endpoint=hub.url, local_dir=tmp_path / "folder")
    assert Path(local) == tmp_path / "folder" / FILE and Path(local).read_bytes() == DATA


def test_metadata_and_ranges(hub: FakeHub) -> None:
    import httpx
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    meta = get_hf_file_metadata(hf_hub_url(REPO, FILE, endpoint=hub.url), endpoint=hub.url)
    assert (meta.etag, meta.size, meta.commit_hash) == (
        hashlib.sha256(DATA).hexdigest(),
        len(DATA),
        commit_of(REPO),
    )
    url = f"{hub.url}/{REPO}/resolve/main/{FILE}"
    tail = httpx.get(url, headers={"Range": "bytes=100-"}, trust_env=False)
    assert tail.status_code == 206 and tail.content == DATA[100:]
    assert tail.headers["Content-Range"] == f"bytes 100-{len(DATA) - 1}/{len(DATA)}"
    assert httpx.get(url, headers={"Range": f"bytes={len(DATA)}-"}, trust_env=False).status_code == 416


def test_the_hubs_errors(hub: FakeHub) -> None:
    from huggingface_hub import errors, get_hf_file_metadata, hf_hub_url

    def head(repo: str, file: str, revision: str = "main") -> None:
        get_hf_file_metadata(hf_hub_url(repo, file, revision=revision, endpoint=hub.url), endpoint=hub.url)

    with pytest.raises(errors.RepositoryNotFoundError):
        head("someone/missing", FILE)
    with pytest.raises(errors.RemoteEntryNotFoundError):
        head(REPO, "other.gguf")
    with pytest.raises(errors.RevisionNotFoundError):
        head(REPO, FILE, revision="v2")
    head(REPO, FILE, revision=commit_of(REPO))


def test_faults_corrupt_bytes_and_a_dropped_connection(hub: FakeHub) -> None:
    import httpx

    url = f"{hub.url}/{REPO}/resolve/main/{FILE}"
    hub.corrupt.add(f"{REPO}/{FILE}")
    body = httpx.get(url, trust_env=False).content
    assert len(body) == len(DATA) and body != DATA
    hub.corrupt.clear()
    hub.cut_after[f"{REPO}/{FILE}"] = 1000
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url, trust_env=False)
    assert httpx.get(url, trust_env=False).content == DATA  # once only
    assert [(r.method, r.range) for r in hub.requests] == [("GET", None)] * 3


def test_a_linked_file_is_served_without_a_copy(hub: FakeHub, tmp_path: Path) -> None:
    from huggingface_hub import hf_hub_download

    big = tmp_path / "big.gguf"
    big.write_bytes(DATA * 3)
    served = hub.link("someone/linked", "big.gguf", big)
    assert served.is_symlink()
    got = hf_hub_download("someone/linked", "big.gguf", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert Path(got).read_bytes() == DATA * 3
    assert hub.sha256("someone/linked", "big.gguf") == hashlib.sha256(DATA * 3).hexdigest()
