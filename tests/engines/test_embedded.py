"""The embedded model stored as Q8_0 for serving: the conversion, its reuse, and the engine's answers."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import gguf
import httpx
import numpy as np
import pytest
from gguf.quants import dequantize, quantize

from edubot_cli.engines import embedded, llama_cpp
from edubot_cli.engines.lifecycle import running
from edubot_cli.errors import EngineError

Q4_1 = gguf.GGMLQuantizationType.Q4_1
Q8_0 = gguf.GGMLQuantizationType.Q8_0
F32 = gguf.GGMLQuantizationType.F32


def tiny_gguf(path: Path, seed: int = 1) -> Path:
    """A two-tensor GGUF: one Q4_1 matrix and one F32 norm, with a metadata string."""
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_string("general.name", "tiny")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_1)
    writer.add_tensor(
        "blk.0.ffn_up.weight", quantize(rng.normal(size=(4, 64)).astype(np.float32), Q4_1), raw_dtype=Q4_1
    )
    writer.add_tensor("output_norm.weight", rng.normal(size=64).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    folders = [tmp_path / "env" / "share" / "edubot", tmp_path / "cache" / "models"]
    monkeypatch.setattr(embedded, "folders", lambda: folders)
    return folders


def test_the_shipped_model_converts_to_q8_0_within_a_sixteenth_of_a_q4_1_step(tmp_path: Path) -> None:
    source = llama_cpp.embedded_model()
    target = tmp_path / "served.gguf"
    embedded.convert(source, target)
    before, after = gguf.GGUFReader(source), gguf.GGUFReader(target)
    assert [t.name for t in after.tensors] == [t.name for t in before.tensors]
    converted = 0
    for old, new in zip(before.tensors, after.tensors, strict=True):
        assert list(new.shape) == list(old.shape), old.name
        if old.tensor_type == Q4_1:
            converted += 1
            assert new.tensor_type == Q8_0, old.name
            was, now = dequantize(old.data, Q4_1), dequantize(new.data, Q8_0)
            blocks = was.reshape(-1, 32)
            error = np.abs(now.reshape(-1, 32) - blocks)
            # Half a Q8_0 step plus the rounding of its float16 scale ...
            assert (error <= np.abs(blocks).max(axis=1, keepdims=True) * (1 / 254 + 1 / 2048)).all(), old.name
            # ... which is under a sixteenth of one Q4_1 step.
            step = (blocks.max(axis=1, keepdims=True) - blocks.min(axis=1, keepdims=True)) / 15
            assert (error <= step / 16).all(), old.name
        else:
            assert new.tensor_type == old.tensor_type and bytes(new.data) == bytes(old.data), old.name
    assert converted == 210  # the 7 matrices of each of the 30 blocks (the embeddings are Q8_0 already)
    skip = {"general.file_type", "GGUF.kv_count", "GGUF.tensor_count"}
    meta = {k: f.contents() for k, f in before.fields.items() if k not in skip}
    assert {k: f.contents() for k, f in after.fields.items() if k not in skip} == meta
    assert after.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q8_0
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["served.gguf"]  # no temp file left


def test_converted_once_then_reused_and_again_when_the_source_changes(
    tmp_path: Path, places: list[Path]
) -> None:
    source = tiny_gguf(tmp_path / "Tiny.Q4_1.gguf")
    first = embedded.served_file(source)
    assert first.path == places[0] / "Tiny.Q8_0.gguf"
    assert first.seconds is not None
    record = json.loads(embedded.record_path(first.path).read_text())
    stat = source.stat()
    assert record == {
        "source_sha256": embedded.sha256(source),
        "source_size": stat.st_size,
        "source_mtime_ns": stat.st_mtime_ns,
        "format": embedded.FORMAT,
        "type": "Q8_0",
    }
    assert embedded.served_file(source) == embedded.Served(first.path, None)
    tiny_gguf(source, seed=2)  # a new package version
    assert embedded.served_file(source).seconds is not None
    assert json.loads(embedded.record_path(first.path).read_text())["source_sha256"] == embedded.sha256(
        source
    )


def test_a_start_trusts_the_record_while_the_source_keeps_its_size_and_time(
    tmp_path: Path, places: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tiny_gguf(tmp_path / "Tiny.Q4_1.gguf")
    served = embedded.served_file(source).path
    hashed: list[Path] = []
    real_sha256 = embedded.sha256
    monkeypatch.setattr(embedded, "sha256", lambda path: hashed.append(path) or real_sha256(path))
    assert embedded.served_file(source) == embedded.Served(served, None)
    assert hashed == []  # size and modification time vouch for it: no 92 MB read per engine start
    # Reinstalled: the same bytes with a new time are hashed once, reused, and vouched for again.
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    assert embedded.served_file(source) == embedded.Served(served, None)
    assert hashed == [source]
    assert (
        json.loads(embedded.record_path(served).read_text())["source_mtime_ns"] == source.stat().st_mtime_ns
    )
    assert embedded.served_file(source) == embedded.Served(served, None)
    assert hashed == [source]


def test_a_record_without_size_and_time_is_checked_by_hash(tmp_path: Path, places: list[Path]) -> None:
    source = tiny_gguf(tmp_path / "Tiny.Q4_1.gguf")
    served = embedded.served_file(source).path
    record = embedded.record_path(served)
    older = {"source_sha256": embedded.sha256(source), "format": embedded.FORMAT, "type": "Q8_0"}
    record.write_text(json.dumps(older))
    assert embedded.served_file(source) == embedded.Served(served, None)
    assert json.loads(record.read_text())["source_size"] == source.stat().st_size
    record.write_text(json.dumps(older | {"source_sha256": "0" * 64}))
    assert embedded.served_file(source).seconds is not None


def test_a_record_of_another_conversion_format_converts_again(tmp_path: Path, places: list[Path]) -> None:
    source = tiny_gguf(tmp_path / "Tiny.Q4_1.gguf")
    served = embedded.served_file(source).path
    record = embedded.record_path(served)
    record.write_text(json.dumps({"source_sha256": embedded.sha256(source), "format": 0, "type": "Q8_0"}))
    assert embedded.served_file(source).seconds is not None
    record.write_text("not json")
    assert embedded.served_file(source).seconds is not None


def test_an_unwritable_environment_falls_back_to_the_cache_folder(tmp_path: Path, places: list[Path]) -> None:
    places[0].parent.mkdir(parents=True)
    places[0].write_text("a file where the folder should be")
    source = tiny_gguf(tmp_path / "Tiny.Q4_1.gguf")
    assert embedded.served_file(source).path == places[1] / "Tiny.Q8_0.gguf"


def test_no_writable_place_is_one_clear_error(tmp_path: Path, places: list[Path]) -> None:
    for place in places:
        place.parent.mkdir(parents=True)
        place.write_text("blocked")
    source = tiny_gguf(tmp_path / "Tiny.Q4_1.gguf")
    with pytest.raises(EngineError) as caught:
        embedded.served_file(source)
    assert caught.value.message.startswith("cannot store the embedded model for serving (")
    assert str(places[0]) in caught.value.message and str(places[1]) in caught.value.message
    assert (
        caught.value.hint
        == "make one of these folders writable, or set EDUBOT_CACHE_DIR to a writable folder"
    )


QUESTIONS = [
    "What are the two stages of photosynthesis?",
    "Explain gravity to a ten-year-old.",
    "What is 7 times 8?",
    "Name the largest planet.",
    "Who wrote Romeo and Juliet?",
    "Why is the sky blue?",
]


@pytest.mark.engine
@pytest.mark.timeout(600)
def test_the_engine_predicts_the_same_tokens_from_q8_0_as_from_the_shipped_q4_1(make_settings) -> None:
    """Greedy answers may part at a near-tie far into an answer (two 8-bit kernels round differently), so the
    property tested is the one that matters: the same first tokens, each with nearly the same probability."""

    def first_tokens(model: Path | None) -> list[list[tuple[str, float]]]:
        with running(make_settings(model=model, parallel=1, engine_port=0)) as launch:
            engine = launch.engine
            headers = {"Authorization": f"Bearer {engine.api_key}"}
            found = []
            for question in QUESTIONS:
                body = {
                    "messages": [{"role": "user", "content": question}],
                    "max_tokens": 6,
                    "temperature": 0,
                    "logprobs": True,
                }
                reply = httpx.post(
                    engine.urls[0] + "/v1/chat/completions", json=body, headers=headers, timeout=60
                )
                steps = reply.json()["choices"][0]["logprobs"]["content"]
                found.append([(step["token"], math.exp(step["logprob"])) for step in steps])
            return found

    assert llama_cpp.model_path(make_settings()).name == "SmolLM2-135M-Instruct.Q8_0.gguf"
    served, shipped = first_tokens(None), first_tokens(llama_cpp.embedded_model())
    for question, now, before in zip(QUESTIONS, served, shipped, strict=True):
        assert [token for token, _ in now] == [token for token, _ in before], question
        assert len(now) == 6, question
        for (token, p_now), (_, p_before) in zip(now, before, strict=True):
            assert abs(p_now - p_before) <= 0.1, (question, token, p_now, p_before)
