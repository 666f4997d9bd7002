"""The curated catalog of instruct GGUF models that ``edubot model pull NAME`` fetches from the Hugging Face hub.

Every entry is a Q4_K_M quantisation (the usual balance of size and quality on a CPU) of an instruct model from a
well-known publisher of GGUF files (bartowski's llama.cpp quantisations, made with an importance matrix). Sizes
are the hub's listing, in decimal units; the RAM figures are estimates from the model's shape, not measurements:
the weights, plus llama.cpp's f16 KV cache for ``slots`` x ``context`` tokens (``edubot serve`` reserves all of it
at start: 32 slots of 2,048 tokens by default), plus ``OVERHEAD_GIB`` of work buffers. The speed notes are
estimates too, scaled from llama.cpp's CPU throughput by file size (generation) and parameters (reading the
prompt); a grounded question's prompt is 400-700 tokens, so on a CPU the wait before the first word is mostly the
prompt. ``edubot eval --compare`` measures the models on the class's own questions.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2**30
OVERHEAD_GIB = 0.3
"""A margin for llama.cpp's work buffers (the logits of a 256-token batch over a 150k vocabulary alone take
150 MB). The weights and KV cache alone explain what ``make bench`` measures for the embedded model: 145 MB plus
32 x 2,048 x 22.5 KiB = 1.65 GB, against the 1.6 GB noted at ``engines.llama_cpp.CLASSROOM_SLOTS``."""
DEFAULT_SLOTS = 32
"""``edubot serve``'s slots when ``parallel`` is 0 (``engines.llama_cpp.CLASSROOM_SLOTS``: a class answered at
once), repeated here so that the catalog needs no engine module."""
DEFAULT_CONTEXT = 2048
"""The ``context_length`` setting's default: tokens per slot."""


@dataclass(frozen=True)
class CatalogModel:
    """One entry of the catalog."""

    name: str
    """Short name for ``edubot model pull NAME``."""
    title: str
    repo: str
    """Hub repository (``owner/name``)."""
    filename: str
    """File in the repository; also its name under ``models_dir``."""
    size: int
    """Download size in bytes, as the hub lists it (rounded)."""
    parameters: str
    licence: str
    licence_url: str
    kv_bytes_per_token: int
    """f16 K and V for one token: 2 x layers x KV heads x head size x 2 bytes."""
    speed: str
    """An honest line on speed on a 2-core and a 4-core laptop (estimates, see the module doc)."""

    def ram_gib(self, slots: int = DEFAULT_SLOTS, context: int = DEFAULT_CONTEXT) -> float:
        """Estimated memory the engine takes with ``slots`` slots of ``context`` tokens, in GiB."""
        return (self.size + self.kv_bytes_per_token * slots * context) / GIB + OVERHEAD_GIB

    @property
    def url(self) -> str:
        """The file's page on the hub."""
        return f"https://huggingface.co/{self.repo}/blob/main/{self.filename}"


def _kv(layers: int, kv_heads: int, head_size: int) -> int:
    return 2 * layers * kv_heads * head_size * 2


CATALOG: tuple[CatalogModel, ...] = (
    CatalogModel(
        name="qwen2.5-1.5b",
        title="Qwen2.5 1.5B Instruct",
        repo="bartowski/Qwen2.5-1.5B-Instruct-GGUF",
        filename="Qwen2.5-1.5B-Instruct-Q4_K_M.gguf",
        size=986_000_000,
        parameters="1.5B",
        licence="Apache-2.0",
        licence_url="https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct/blob/main/LICENSE",
        kv_bytes_per_token=_kv(28, 2, 128),
        speed="2 cores: ~8 tokens/s, a grounded answer starts after ~15-30 s; 4 cores: about twice as fast. "
        "The one for a small laptop.",
    ),
    CatalogModel(
        name="smollm2-1.7b",
        title="SmolLM2 1.7B Instruct",
        repo="bartowski/SmolLM2-1.7B-Instruct-GGUF",
        filename="SmolLM2-1.7B-Instruct-Q4_K_M.gguf",
        size=1_060_000_000,
        parameters="1.7B",
        licence="Apache-2.0",
        licence_url="https://huggingface.co/HuggingFaceTB/SmolLM2-1.7B-Instruct",
        kv_bytes_per_token=_kv(24, 32, 64),
        speed="As fast as qwen2.5-1.5b (~8 tokens/s on 2 cores), but its KV cache is 7x larger: "
        "below 16 GiB of RAM, serve it with --parallel 8.",
    ),
    CatalogModel(
        name="gemma2-2b",
        title="Gemma 2 2B it",
        repo="bartowski/gemma-2-2b-it-GGUF",
        filename="gemma-2-2b-it-Q4_K_M.gguf",
        size=1_710_000_000,
        parameters="2.6B",
        licence="Gemma Terms of Use",
        licence_url="https://ai.google.dev/gemma/terms",
        kv_bytes_per_token=_kv(26, 4, 256),
        speed="2 cores: ~5 tokens/s, answers start after ~25-50 s; 4 cores: fine for a few students at once.",
    ),
    CatalogModel(
        name="qwen2.5-3b",
        title="Qwen2.5 3B Instruct",
        repo="bartowski/Qwen2.5-3B-Instruct-GGUF",
        filename="Qwen2.5-3B-Instruct-Q4_K_M.gguf",
        size=1_930_000_000,
        parameters="3.1B",
        licence="Qwen Research License (non-commercial)",
        licence_url="https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE",
        kv_bytes_per_token=_kv(36, 2, 128),
        speed="2 cores: ~4 tokens/s, answers start after ~30-60 s; 4 cores: usable for a small group. "
        "Small KV cache: 32 slots fit in 8 GiB.",
    ),
    CatalogModel(
        name="llama3.2-3b",
        title="Llama 3.2 3B Instruct",
        repo="bartowski/Llama-3.2-3B-Instruct-GGUF",
        filename="Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        size=2_020_000_000,
        parameters="3.2B",
        licence="Llama 3.2 Community License",
        licence_url="https://www.llama.com/llama3_2/license/",
        kv_bytes_per_token=_kv(28, 8, 128),
        speed="2 cores: ~4 tokens/s, answers start after ~30-60 s; 4 cores: usable for a small group.",
    ),
    CatalogModel(
        name="phi3.5-mini",
        title="Phi 3.5 mini instruct",
        repo="bartowski/Phi-3.5-mini-instruct-GGUF",
        filename="Phi-3.5-mini-instruct-Q4_K_M.gguf",
        size=2_390_000_000,
        parameters="3.8B",
        licence="MIT",
        licence_url="https://huggingface.co/microsoft/Phi-3.5-mini-instruct/blob/main/LICENSE",
        kv_bytes_per_token=_kv(32, 32, 96),
        speed="The slowest here: 2 cores ~3 tokens/s, about a minute before a grounded answer starts; wants "
        "8 cores. The largest KV cache: 26.5 GiB of RAM for 32 slots, 5.5 GiB for 4.",
    ),
)


def names() -> list[str]:
    """The catalog's short names, in its order."""
    return [model.name for model in CATALOG]


def find(name: str) -> CatalogModel | None:
    """The entry called ``name`` (any case), or None."""
    wanted = name.strip().lower()
    return next((model for model in CATALOG if model.name == wanted), None)


RAM_SLOTS = (1, 4, 8, DEFAULT_SLOTS)
"""Slot counts whose RAM ``edubot model catalog --format json`` gives."""


def catalog_json(context: int = DEFAULT_CONTEXT) -> list[dict[str, object]]:
    """The catalog as ``edubot model catalog --format json`` prints it (RAM for each of ``RAM_SLOTS``)."""
    return [
        {
            "name": model.name,
            "title": model.title,
            "repo": model.repo,
            "filename": model.filename,
            "size_bytes": model.size,
            "parameters": model.parameters,
            "licence": model.licence,
            "licence_url": model.licence_url,
            "ram_gib_by_slots": {str(n): round(model.ram_gib(n, context), 1) for n in RAM_SLOTS},
            "speed": model.speed,
            "pull": f"edubot model pull {model.name}",
        }
        for model in CATALOG
    ]
