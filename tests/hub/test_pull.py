"""``hub.pull`` against the fake hub: what is asked of the hub, resuming a stopped pull, the hash check, existing
files, and each way a name or the hub can be wrong."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edubot_cli.errors import PullError
from edubot_cli.hub.catalog import find
from edubot_cli.hub.pull import (
    PullSource,
    file_digest,
    partial_path,
    pull,
    resolve_source,
    stopped_download,
)
from edubot_cli.procgroup import free_port
from tests.support.fake_hub import FakeHub, Request, commit_of

from .conftest import QWEN_FILE, QWEN_REPO, gguf_bytes

RESOLVE = f"/{QWEN_REPO}/resolve/main/{QWEN_FILE}"


def test_a_catalog_name_is_one_head_and_one_get(hub: FakeHub, tmp_path: Path) -> None:
    data = gguf_bytes(100_000)
    hub.add(QWEN_REPO, QWEN_FILE, data)
    models = tmp_path / "models"
    seen: list[tuple[int, int | None]] = []
    result = pull(
        resolve_source("qwen2.5-1.5b"), models, progress=lambda done, total: seen.append((done, total))
    )
    assert result.path == models / QWEN_FILE
    assert result.path.read_bytes() == data
    assert (result.size, result.algorithm, result.digest) == (
        len(data),
        "SHA-256",
        hashlib.sha256(data).hexdigest(),
    )
    assert result.commit == commit_of(QWEN_REPO)
    assert (result.already, result.resumed_from, result.replaced) == (False, 0, False)
    assert result.source.entry == find("qwen2.5-1.5b")
    assert hub.requests == [Request("HEAD", RESOLVE, None), Request("GET", RESOLVE, None)]
    assert seen[0] == (0, len(data)) and seen[-1] == (len(data), len(data))
    assert sorted(p.name for p in models.iterdir()) == [QWEN_FILE]  # the partial-download folder is gone


def test_an_hf_name_follows_the_hub_to_its_cdn(hub: FakeHub, tmp_path: Path) -> None:
    data = gguf_bytes(5000)
    hub.add("someone/tiny-GGUF", "sub/dir/tiny-Q8_0.gguf", data)
    hub.redirect = True
    result = pull(resolve_source("hf:someone/tiny-GGUF/sub/dir/tiny-Q8_0.gguf"), tmp_path / "models")
    assert result.path == tmp_path / "models" / "tiny-Q8_0.gguf"
    assert result.path.read_bytes() == data
    assert result.source.name == "hf:someone/tiny-GGUF/sub/dir/tiny-Q8_0.gguf"
    sha = hashlib.sha256(data).hexdigest()
    assert hub.requests == [
        Request("HEAD", "/someone/tiny-GGUF/resolve/main/sub/dir/tiny-Q8_0.gguf", None),
        Request("GET", f"/cdn/{sha}", None),
    ]


def test_a_pull_stopped_by_ctrl_c_resumes_where_it_stopped(hub: FakeHub, tmp_path: Path) -> None:
    from huggingface_hub import constants

    chunk = constants.DOWNLOAD_CHUNK_SIZE  # http_get writes a chunk after reporting it
    data = gguf_bytes(chunk + chunk // 4)
    hub.add(QWEN_REPO, QWEN_FILE, data)
    models = tmp_path / "models"
    source = resolve_source("qwen2.5-1.5b")

    def stop_after_the_first_chunk(done: int, total: int | None) -> None:
        if done > chunk:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pull(source, models, progress=stop_after_the_first_chunk)
    part = partial_path(models, QWEN_FILE, hashlib.sha256(data).hexdigest())
    assert stopped_download(models, source) == part
    assert part.read_bytes() == data[:chunk]
    assert not (models / QWEN_FILE).exists()

    hub.requests.clear()
    result = pull(source, models)
    assert result.resumed_from == chunk
    assert result.path.read_bytes() == data
    assert hub.requests == [Request("HEAD", RESOLVE, None), Request("GET", RESOLVE, f"bytes={chunk}-")]
    assert stopped_download(models, source) is None


def test_a_stopped_pull_of_another_version_is_not_resumed(hub: FakeHub, tmp_path: Path) -> None:
    data = gguf_bytes(20_000)
    hub.add(QWEN_REPO, QWEN_FILE, data)
    models = tmp_path / "models"
    old = partial_path(models, QWEN_FILE, "0" * 64)
    old.parent.mkdir(parents=True)
    old.write_bytes(gguf_bytes(10_000, seed=3))
    result = pull(resolve_source("qwen2.5-1.5b"), models)
    assert result.resumed_from == 0 and result.path.read_bytes() == data
    assert not old.exists()
    assert hub.requests[-1] == Request("GET", RESOLVE, None)


def test_bytes_that_do_not_match_the_hash_are_deleted(hub: FakeHub, tmp_path: Path) -> None:
    data = gguf_bytes(20_000)
    hub.add(QWEN_REPO, QWEN_FILE, data)
    hub.corrupt.add(f"{QWEN_REPO}/{QWEN_FILE}")
    models = tmp_path / "models"
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(PullError) as failed:
        pull(resolve_source("qwen2.5-1.5b"), models)
    assert failed.value.message.startswith(
        f"the downloaded {QWEN_FILE} does not match the hub's SHA-256 (got "
    )
    assert failed.value.message.endswith(f", expected {sha[:12]}…); it was deleted")
    assert list(models.rglob("*")) == []


def test_an_existing_file_is_kept_unless_forced(hub: FakeHub, tmp_path: Path) -> None:
    data = gguf_bytes(20_000)
    hub.add(QWEN_REPO, QWEN_FILE, data)
    models = tmp_path / "models"
    models.mkdir()
    (models / QWEN_FILE).write_bytes(b"the teacher's own file")
    source = resolve_source("qwen2.5-1.5b")
    with pytest.raises(PullError) as refused:
        pull(source, models)
    assert (refused.value.message, refused.value.hint) == (
        f"{models / QWEN_FILE} already exists and is not the hub's {QWEN_FILE} (its SHA-256 differs)",
        "pass --force to replace it, or move it away first",
    )
    assert (models / QWEN_FILE).read_bytes() == b"the teacher's own file"
    assert [r.method for r in hub.requests] == ["HEAD"]

    forced = pull(source, models, force=True)
    assert forced.replaced and forced.path.read_bytes() == data
    hub.requests.clear()
    again = pull(source, models)
    assert again.already and again.path.read_bytes() == data
    assert [r.method for r in hub.requests] == ["HEAD"]  # verified against the hub's hash, nothing downloaded


def test_a_file_that_is_not_gguf_is_refused(hub: FakeHub, tmp_path: Path) -> None:
    hub.add("someone/notes", "notes.gguf", b"<html>not a model</html>")
    with pytest.raises(PullError) as refused:
        pull(resolve_source("hf:someone/notes/notes.gguf"), tmp_path / "models")
    assert refused.value.message == (
        "someone/notes/notes.gguf is not a GGUF model (it does not start with 'GGUF'); it was deleted"
    )
    assert list((tmp_path / "models").rglob("*")) == []


@pytest.mark.parametrize(
    ("name", "message", "hint"),
    [
        (
            "hf:someone/missing/model.gguf",
            "no repository someone/missing on {url}",
            "check the owner and name (`edubot model catalog` lists the curated models); a private repository "
            "needs `hf auth login` (or HF_TOKEN) first",
        ),
        (
            "hf:someone/tiny/other.gguf",
            "someone/tiny has no file other.gguf",
            "see the repository's files at {url}/someone/tiny/tree/main (names are case-sensitive)",
        ),
    ],
)
def test_what_the_hub_does_not_have(hub: FakeHub, tmp_path: Path, name: str, message: str, hint: str) -> None:
    hub.add("someone/tiny", "tiny.gguf", gguf_bytes(100))
    with pytest.raises(PullError) as failed:
        pull(resolve_source(name), tmp_path / "models")
    assert (failed.value.message, failed.value.hint) == (
        message.format(url=hub.url),
        hint.format(url=hub.url),
    )
    assert not (tmp_path / "models").exists()


def test_a_revision_the_hub_does_not_have(hub: FakeHub, tmp_path: Path) -> None:
    hub.add("someone/tiny", "tiny.gguf", gguf_bytes(100))
    with pytest.raises(PullError) as failed:
        pull(PullSource("someone/tiny", "tiny.gguf", revision="v9"), tmp_path / "models")
    assert failed.value.message == "someone/tiny has no revision 'v9'"
    pinned = pull(
        PullSource("someone/tiny", "tiny.gguf", revision=commit_of("someone/tiny")), tmp_path / "models"
    )
    assert pinned.path.read_bytes() == gguf_bytes(100)


def test_no_hub_is_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("HF_ENDPOINT", url)
    with pytest.raises(PullError) as failed:
        pull(resolve_source("qwen2.5-1.5b"), tmp_path / "models")
    assert (
        failed.value.message == f"cannot reach the Hugging Face hub at {url} ([Errno 111] Connection refused)"
    )
    assert failed.value.hint == (
        "check the network connection (or HF_ENDPOINT) and run the same command again: a stopped download resumes"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("hf:someone/repo", "'hf:someone/repo' is not a hub file"),
        ("hf:someone//x.gguf", "'hf:someone//x.gguf' is not a hub file"),
        ("hf:some one/repo/x.gguf", "'hf:some one/repo/x.gguf' is not a hub file"),
        ("hf:someone/repo/../x.gguf", "'hf:someone/repo/../x.gguf': the file's path may not contain . or .."),
        (
            "hf:someone/repo/model.safetensors",
            "model.safetensors is not a .gguf file: edubot pulls GGUF models, which the llama-cpp engine serves",
        ),
        ("qwen", "unknown model 'qwen'"),
    ],
)
def test_names_that_are_not_a_model(name: str, message: str) -> None:
    with pytest.raises(PullError) as failed:
        resolve_source(name)
    assert failed.value.message == message


def test_catalog_names_and_hub_names() -> None:
    assert resolve_source(" Qwen2.5-1.5B ") == PullSource(QWEN_REPO, QWEN_FILE, entry=find("qwen2.5-1.5b"))
    assert resolve_source("hf:a/b/c/d.GGUF") == PullSource("a/b", "c/d.GGUF")
    with pytest.raises(PullError) as failed:
        resolve_source("nope")
    assert failed.value.hint == (
        "pull one of qwen2.5-1.5b, smollm2-1.7b, gemma2-2b, qwen2.5-3b, llama3.2-3b, phi3.5-mini "
        "(`edubot model catalog` describes them), or any GGUF file on the hub as hf:OWNER/REPO/FILE.gguf"
    )


def test_a_small_file_kept_in_git_is_checked_by_its_blob_id(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    # `printf 'hello\n' | git hash-object --stdin`
    assert file_digest(path, "git SHA-1") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert file_digest(path, "SHA-256") == hashlib.sha256(b"hello\n").hexdigest()
