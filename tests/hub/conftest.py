"""A started fake hub (tests/support/fake_hub.py) that ``HF_ENDPOINT`` points at, and GGUF-looking bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_hub import FakeHub

QWEN_REPO = "bartowski/Qwen2.5-1.5B-Instruct-GGUF"
QWEN_FILE = "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf"


def gguf_bytes(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that start like a GGUF file, the rest a pattern that ``seed`` changes."""
    pattern = bytes((i * 7 + seed) % 251 for i in range(4096))
    body = (pattern * (size // len(pattern) + 1))[: size - 4]
    return b"GGUF" + body


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub(tmp_path / "hub") as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        yield fake
