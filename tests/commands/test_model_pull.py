"""`edubot model pull` and `edubot model catalog` through the CLI, against the fake hub (``HF_ENDPOINT``): exact
output, exit codes, what is left in models/, and the one error path."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edubot_cli.hub.catalog import CATALOG
from edubot_cli.hub.pull import partial_path
from edubot_cli.main import app
from edubot_cli.procgroup import free_port
from tests.hub.conftest import QWEN_FILE, QWEN_REPO, gguf_bytes
from tests.support.fake_hub import FakeHub, Request

QWEN_LICENCE = "licence: Apache-2.0 (https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct/blob/main/LICENSE)\n"
RESOLVE = f"/{QWEN_REPO}/resolve/main/{QWEN_FILE}"
DATA = gguf_bytes(150_000)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The fake hub with the catalog's qwen2.5-1.5b file, ``HF_ENDPOINT`` at it, and an empty working folder
    (models/ is relative to it)."""
    for name in list(os.environ):
        if name.startswith("EDUBOT_"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("COLUMNS", "200")
    with FakeHub(tmp_path / "hub") as fake:
        fake.add(QWEN_REPO, QWEN_FILE, DATA)
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


def pull(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["model", "pull", *args], prog_name="edubot")
    return result.exit_code, result.stdout, result.stderr


def test_pull_a_catalog_model(hub: FakeHub) -> None:
    assert pull("qwen2.5-1.5b") == (
        0,
        f"pulled qwen2.5-1.5b → models/{QWEN_FILE} (150.00 KB, SHA-256 verified against the hub)\n"
        f"serve it: edubot serve --model models/{QWEN_FILE}\n",
        QWEN_LICENCE,
    )
    assert Path("models", QWEN_FILE).read_bytes() == DATA
    assert sorted(p.name for p in Path("models").iterdir()) == [QWEN_FILE]
    assert hub.requests == [Request("HEAD", RESOLVE, None), Request("GET", RESOLVE, None)]


def test_pull_any_gguf_file_of_the_hub(hub: FakeHub) -> None:
    hub.add("someone/tiny-GGUF", "tiny-Q8_0.gguf", gguf_bytes(2048))
    hub.redirect = True  # as the hub sends a large file to its CDN
    assert pull("hf:someone/tiny-GGUF/tiny-Q8_0.gguf") == (
        0,
        "pulled hf:someone/tiny-GGUF/tiny-Q8_0.gguf → models/tiny-Q8_0.gguf (2.05 KB, SHA-256 verified against "
        "the hub)\n"
        "serve it: edubot serve --model models/tiny-Q8_0.gguf\n",
        "",
    )


def test_a_stopped_download_resumes(hub: FakeHub) -> None:
    part = partial_path(Path("models"), QWEN_FILE, hashlib.sha256(DATA).hexdigest())
    part.parent.mkdir(parents=True)
    part.write_bytes(DATA[:100_000])  # what a pull stopped by Ctrl-C (or a dropped connection) leaves
    assert pull("qwen2.5-1.5b") == (
        0,
        f"pulled qwen2.5-1.5b → models/{QWEN_FILE} (150.00 KB, SHA-256 verified against the hub)\n"
        f"serve it: edubot serve --model models/{QWEN_FILE}\n",
        QWEN_LICENCE + "resumed a stopped download at 100.00 KB of 150.00 KB\n",
    )
    assert Path("models", QWEN_FILE).read_bytes() == DATA
    assert hub.requests[-1] == Request("GET", RESOLVE, "bytes=100000-")
    assert not part.parent.exists()


def test_a_download_that_does_not_match_the_hash_is_refused_and_deleted(hub: FakeHub) -> None:
    hub.corrupt.add(f"{QWEN_REPO}/{QWEN_FILE}")
    code, out, err = pull("qwen2.5-1.5b")
    assert (code, out) == (1, "")
    sha = hashlib.sha256(DATA).hexdigest()
    lines = err.splitlines()
    assert lines[0] == QWEN_LICENCE.strip()
    assert lines[1].startswith(f"error: the downloaded {QWEN_FILE} does not match the hub's SHA-256 (got ")
    assert lines[1].endswith(f"…, expected {sha[:12]}…); it was deleted")
    assert lines[2:] == [
        "hint: run the same command again; if it fails again, the server at HF_ENDPOINT sends another file than "
        "it lists"
    ]
    assert list(Path("models").rglob("*")) == []


def test_offline_is_one_clear_message(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    monkeypatch.setenv("HF_ENDPOINT", url)
    assert pull("qwen2.5-1.5b") == (
        1,
        "",
        QWEN_LICENCE + f"error: cannot reach the Hugging Face hub at {url} ([Errno 111] Connection refused)\n"
        "hint: check the network connection (or HF_ENDPOINT) and run the same command again: a stopped download "
        "resumes\n",
    )
    assert not Path("models").exists()


def test_an_unknown_name_lists_the_catalog(hub: FakeHub) -> None:
    assert pull("qwen") == (
        1,
        "",
        "error: unknown model 'qwen'\n"
        "hint: pull one of qwen2.5-1.5b, smollm2-1.7b, gemma2-2b, qwen2.5-3b, llama3.2-3b, phi3.5-mini "
        "(`edubot model catalog` describes them), or any GGUF file on the hub as hf:OWNER/REPO/FILE.gguf\n",
    )
    assert hub.requests == []


def test_a_missing_repository_or_file(hub: FakeHub) -> None:
    assert pull("hf:someone/missing/x.gguf") == (
        1,
        "",
        f"error: no repository someone/missing on {hub.url}\n"
        "hint: check the owner and name (`edubot model catalog` lists the curated models); a private repository "
        "needs `hf auth login` (or HF_TOKEN) first\n",
    )
    assert pull(f"hf:{QWEN_REPO}/Qwen2.5-1.5B-Instruct-Q5_K_M.gguf") == (
        1,
        "",
        f"error: {QWEN_REPO} has no file Qwen2.5-1.5B-Instruct-Q5_K_M.gguf\n"
        f"hint: see the repository's files at {hub.url}/{QWEN_REPO}/tree/main (names are case-sensitive)\n",
    )


def test_an_existing_file_is_never_replaced_without_force(hub: FakeHub) -> None:
    models = Path("models")
    models.mkdir()
    (models / QWEN_FILE).write_bytes(b"my own model")
    assert pull("qwen2.5-1.5b") == (
        1,
        "",
        QWEN_LICENCE
        + f"error: models/{QWEN_FILE} already exists and is not the hub's {QWEN_FILE} (its SHA-256 "
        "differs)\n"
        "hint: pass --force to replace it, or move it away first\n",
    )
    assert (models / QWEN_FILE).read_bytes() == b"my own model"
    assert pull("qwen2.5-1.5b", "--force") == (
        0,
        f"pulled qwen2.5-1.5b → models/{QWEN_FILE} (150.00 KB, SHA-256 verified against the hub)\n"
        f"serve it: edubot serve --model models/{QWEN_FILE}\n",
        QWEN_LICENCE + f"replaced the earlier models/{QWEN_FILE} (--force)\n",
    )
    hub.requests.clear()
    assert pull("qwen2.5-1.5b") == (
        0,
        f"models/{QWEN_FILE} is already here and matches the hub's SHA-256: nothing to download\n"
        f"serve it: edubot serve --model models/{QWEN_FILE}\n",
        QWEN_LICENCE,
    )
    assert [r.method for r in hub.requests] == ["HEAD"]


def test_models_dir_comes_from_the_settings(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDUBOT_MODELS_DIR", str(tmp_path / "elsewhere"))
    code, out, _ = pull("qwen2.5-1.5b")
    assert code == 0
    assert out.splitlines()[-1] == f"serve it: edubot serve --model {tmp_path / 'elsewhere' / QWEN_FILE}"


def test_catalog_table_and_json(hub: FakeHub) -> None:
    result = CliRunner().invoke(app, ["model", "catalog"], prog_name="edubot")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [cell.strip() for cell in lines[0].split("┃")] == [
        "name",
        "model",
        "download",
        "licence",
        "RAM 4 / 32 slots",
        "speed on a laptop",
    ]
    assert lines[2].startswith(
        "qwen2.5-1.5b │ Qwen2.5 1.5B Instruct                │ 986.00 MB │ Apache-2.0 "
    )
    assert "│ 1.4 / 3.0 GiB    │ 2 cores: ~8 tokens/s" in lines[2]
    assert (
        lines[-1]
        == "pull one: edubot model pull NAME (or hf:OWNER/REPO/FILE.gguf for any GGUF file on the hub)"
    )
    result = CliRunner().invoke(app, ["model", "catalog", "--format", "json"], prog_name="edubot")
    document = json.loads(result.stdout)
    assert [m["name"] for m in document["models"]] == [m.name for m in CATALOG]
    assert document["models"][0] == {
        "name": "qwen2.5-1.5b",
        "title": "Qwen2.5 1.5B Instruct",
        "repo": QWEN_REPO,
        "filename": QWEN_FILE,
        "size_bytes": 986_000_000,
        "parameters": "1.5B",
        "licence": "Apache-2.0",
        "licence_url": "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct/blob/main/LICENSE",
        "ram_gib_by_slots": {"1": 1.3, "4": 1.4, "8": 1.7, "32": 3.0},
        "speed": "2 cores: ~8 tokens/s, a grounded answer starts after ~15-30 s; 4 cores: about twice as fast. "
        "The one for a small laptop.",
        "pull": "edubot model pull qwen2.5-1.5b",
    }
    assert hub.requests == []


def test_ctrl_c_keeps_what_arrived_and_says_how_to_resume(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import file_download

    def stopped(url: str, temp_file: Any, **kwargs: Any) -> None:
        temp_file.write(DATA[:60_000])
        raise KeyboardInterrupt

    real = file_download.http_get
    monkeypatch.setattr(file_download, "http_get", stopped)
    part = partial_path(Path("models"), QWEN_FILE, hashlib.sha256(DATA).hexdigest())
    assert pull("qwen2.5-1.5b") == (
        130,
        "",
        QWEN_LICENCE
        + f"stopped: 60.00 KB kept in {part}; run the same command again to resume\ninterrupted\n",
    )
    assert part.read_bytes() == DATA[:60_000]
    monkeypatch.setattr(file_download, "http_get", real)
    code, _, err = pull("qwen2.5-1.5b")
    assert code == 0
    assert err.endswith("resumed a stopped download at 60.00 KB of 150.00 KB\n")
    assert hub.requests[-1] == Request("GET", RESOLVE, "bytes=60000-")
