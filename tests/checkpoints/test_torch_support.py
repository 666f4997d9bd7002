"""torch imported on demand: too old a torch is refused, a missing one names the extra to install."""

from __future__ import annotations

import sys

import pytest

from edubot_cli.checkpoints import torch_support
from edubot_cli.errors import ConvertError, MissingDependencyError

torch = pytest.importorskip("torch")


def test_old_torch_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch, "__version__", "2.5.1+cpu")
    with pytest.raises(
        ConvertError, match=r"torch 2.5.1\+cpu is too old: loading checkpoints safely needs torch >= 2.6"
    ):
        torch_support.import_torch()


def test_missing_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match="torch is not installed") as info:
        torch_support.import_torch()
    assert info.value.hint == "run `make install` or `pip install 'edubot[convert]'`"


def test_safetensors_names_of_torch_dtypes() -> None:
    names = torch_support.st_dtypes(torch)
    assert (names[torch.bfloat16], names[torch.float32], names[torch.bool]) == ("BF16", "F32", "BOOL")
    assert torch.complex64 not in names
