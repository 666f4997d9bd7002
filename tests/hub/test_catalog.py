"""The catalog: well-formed entries, and the RAM each needs as `edubot model catalog` shows it."""

from __future__ import annotations

import re

from edubot_cli.hub.catalog import CATALOG, DEFAULT_SLOTS, find, names


def test_every_entry_is_a_q4_k_m_gguf_file_of_a_hub_repository() -> None:
    assert names() == [
        "qwen2.5-1.5b",
        "smollm2-1.7b",
        "gemma2-2b",
        "qwen2.5-3b",
        "llama3.2-3b",
        "phi3.5-mini",
    ]
    for model in CATALOG:
        assert re.fullmatch(r"[a-z0-9.-]+", model.name)
        assert re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9.-]+-GGUF", model.repo)
        assert model.filename.endswith("-Q4_K_M.gguf")
        assert model.speed.startswith(("2 cores", "As fast", "The slowest"))
        assert model.licence and model.licence_url.startswith("https://")
        assert model.url == f"https://huggingface.co/{model.repo}/blob/main/{model.filename}"
    assert [m.size for m in CATALOG] == sorted(m.size for m in CATALOG)  # smallest download first


def test_ram_is_the_weights_plus_the_kv_cache_of_every_slot() -> None:
    ram = {m.name: (round(m.ram_gib(4), 1), round(m.ram_gib(), 1)) for m in CATALOG}
    assert DEFAULT_SLOTS == 32
    assert ram == {
        "qwen2.5-1.5b": (1.4, 3.0),
        "smollm2-1.7b": (2.8, 13.3),
        "gemma2-2b": (2.7, 8.4),
        "qwen2.5-3b": (2.4, 4.3),
        "llama3.2-3b": (3.1, 9.2),
        "phi3.5-mini": (5.5, 26.5),
    }
    llama = find("LLAMA3.2-3B")
    assert llama is not None
    # 28 layers x 8 KV heads x 128 x K and V x 2 bytes = 112 KiB per token; 32 slots x 2,048 tokens = 7 GiB
    assert llama.kv_bytes_per_token == 112 * 1024
    assert round(llama.ram_gib(32, 4096) - llama.ram_gib(32, 2048), 3) == 7.0
    assert find("gpt-5") is None
