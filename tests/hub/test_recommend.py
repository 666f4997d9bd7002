"""The model `edubot doctor` recommends: exact lines for a few machines."""

from __future__ import annotations

import pytest

from edubot_cli.hub.recommend import recommend


@pytest.mark.parametrize(
    ("cores", "ram_gib", "gpu", "name", "text"),
    [
        (
            2,
            24,
            None,
            "qwen2.5-1.5b",
            "for 2 cores and 24 GiB RAM, try `edubot model pull qwen2.5-1.5b` (on 2 cores a 3B model keeps "
            "students waiting about a minute; this one starts a grounded answer in ~15-30 s)",
        ),
        (
            4,
            16,
            None,
            "llama3.2-3b",
            "for 4 cores and 16 GiB RAM, try `edubot model pull llama3.2-3b` (a 3B model retells the teacher's "
            "facts better than a 1.5B one, and 4 cores keep it usable for a small group)",
        ),
        (
            4,
            7.7,  # an "8 GB" laptop as /proc/meminfo counts it
            None,
            "qwen2.5-3b",
            "for 4 cores and 8 GiB RAM, try `edubot model pull qwen2.5-3b` (llama3.2-3b would need 9.2 GiB with "
            "32 slots, more than the 4.6 GiB the engine may take here; this one needs 4.3; its licence allows "
            "non-commercial use only)",
        ),
        (
            16,
            64,
            "NVIDIA H100 80GB HBM3",
            "phi3.5-mini",
            "for 16 cores, 64 GiB RAM and a GPU, try `edubot model pull phi3.5-mini` (the strongest model of the "
            "catalog, and 16 cores keep it usable); the GPU serves Hugging Face models with vLLM instead "
            "(docs/models.md)",
        ),
        (
            2,
            4,
            None,
            None,
            "for 2 cores and 4 GiB RAM, keep the embedded SmolLM2-135M (qwen2.5-1.5b would need 3.0 GiB with 32 "
            "slots, more than the 2.4 GiB the engine may take here; with `edubot serve --parallel 4` it needs "
            "1.4)",
        ),
        (
            1,
            8,
            None,
            None,
            "for 1 core and 8 GiB RAM, keep the embedded SmolLM2-135M (on one core a larger model takes minutes "
            "per answer)",
        ),
    ],
)
def test_recommendation(cores: int, ram_gib: float, gpu: str | None, name: str | None, text: str) -> None:
    advice = recommend(cores, ram_gib, gpu)
    assert (advice.model.name if advice.model else None, advice.text) == (name, text)


def test_fewer_slots_let_a_larger_model_fit() -> None:
    advice = recommend(4, 8, slots=8)
    assert advice.model is not None and advice.model.name == "llama3.2-3b"
