"""A tiny random Llama model in Hugging Face format (config, safetensors, tokenizer with a chat template).

Built locally in seconds, no download: enough for an engine to load it and generate a few (meaningless) tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORDS = "hello world the sun plant light water is a of and to what photosynthesis user assistant system"


def tiny_llama_config(vocab_size: int, **fields: Any) -> Any:
    """A Llama config small enough to build in milliseconds (16 hidden units, 2 heads, <s> = 1, </s> = 2);
    ``fields`` set the rest (layers, key/value heads, positions, padding id, ...)."""
    from transformers import LlamaConfig

    base: dict[str, Any] = {
        "vocab_size": vocab_size,
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_attention_heads": 2,
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    return LlamaConfig(**{**base, **fields})


def word_level_tokenizer(
    vocab: dict[str, int], chat_template: str, pad_token: str, decoder: Any = None
) -> Any:
    """A whitespace-split WordLevel tokenizer over ``vocab`` (with <unk>, <s> and </s>) and a chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if decoder is not None:
        tokenizer.decoder = decoder
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token=pad_token
    )
    fast.chat_template = chat_template
    return fast


def build_tiny_hf_model(folder: Path) -> Path:
    """Write the model into ``folder`` and return it."""
    from tokenizers import decoders
    from transformers import LlamaForCausalLM

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for token in [*WORDS.split(), *"abcdefghijklmnopqrstuvwxyz?.,!:"]:
        vocab.setdefault(token, len(vocab))
    fast = word_level_tokenizer(
        vocab,
        "{% for m in messages %}{{ m['role'] }} {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}assistant {% endif %}",
        pad_token="</s>",
        decoder=decoders.WordPiece(prefix="##"),
    )
    config = tiny_llama_config(
        len(vocab),
        num_hidden_layers=1,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
