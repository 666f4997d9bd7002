"""Bitwise comparison of tensors (NaNs and signed zeros as bits), as the read-back verification uses it."""

from __future__ import annotations

from edubot_cli.checkpoints.verify import bitwise_equal

from .conftest import torch


def test_bitwise_equal() -> None:
    nan = torch.tensor([float("nan")])
    assert bitwise_equal(nan, nan.clone())
    assert not bitwise_equal(torch.tensor([0.0]), torch.tensor([-0.0]))
    assert not bitwise_equal(torch.ones(2), torch.ones(2, dtype=torch.float64))
    assert not bitwise_equal(torch.ones(2, 1), torch.ones(1, 2))
    assert bitwise_equal(torch.zeros(0), torch.zeros(0))
    odd = torch.arange(7, dtype=torch.uint8)
    assert bitwise_equal(odd[1:], odd.clone()[1:]) and not bitwise_equal(odd[1:], odd[:-1])
