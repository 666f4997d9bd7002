"""Planning a conversion from metadata alone: shard packing, refused inputs, the exact safetensors header."""

from __future__ import annotations

import json

import pytest

from edubot_cli.checkpoints import plan as plan_module
from edubot_cli.checkpoints.plan import make_plan
from edubot_cli.errors import ConvertError

from .conftest import torch


def test_tensor_larger_than_the_shard_size_gets_a_shard_of_its_own() -> None:
    tensors = {"small": torch.ones(10), "big": torch.ones(1000), "after": torch.ones(10)}
    plan = make_plan(1, lambda i: tensors, dtype=None, max_shard_size=100, tie_word_embeddings=False)
    assert [[t.name for t in s.tensors] for s in plan.shards] == [["small"], ["big"], ["after"]]


def test_same_name_in_two_input_shards_is_refused() -> None:
    shards = [{"a": torch.ones(1)}, {"a": torch.ones(1)}]
    with pytest.raises(ConvertError, match="tensor 'a' appears in input shards 1 and 2"):
        make_plan(2, lambda i: shards[i], dtype=None, max_shard_size=100, tie_word_embeddings=False)


def test_unsupported_dtype_is_refused() -> None:
    tensors = {"c": torch.ones(2, dtype=torch.complex64)}
    with pytest.raises(
        ConvertError, match=r"tensor 'c' has dtype torch\.complex64, which safetensors cannot store"
    ):
        make_plan(1, lambda i: tensors, dtype=None, max_shard_size=100, tie_word_embeddings=False)


def test_header_lists_offsets_in_order() -> None:
    shard = plan_module.ShardPlan(
        "model.safetensors",
        [plan_module.TensorPlan("a", 0, "F32", [2], 8), plan_module.TensorPlan("b", 0, "BF16", [3], 6)],
    )
    raw = plan_module.header(shard)
    n = int.from_bytes(raw[:8], "little")
    assert len(raw) == 8 + n and n % 8 == 0
    assert json.loads(raw[8:]) == {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "BF16", "shape": [3], "data_offsets": [8, 14]},
    }
