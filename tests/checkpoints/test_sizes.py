"""Byte sizes: ``--max-shard-size`` parsed in decimal and binary units, sizes printed in decimal units."""

from __future__ import annotations

import pytest

from edubot_cli.checkpoints.sizes import format_size, parse_size
from edubot_cli.errors import UsageError


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("5GB", 5_000_000_000),
        ("500MB", 500_000_000),
        ("1.5GB", 1_500_000_000),
        ("2GiB", 2 * 1024**3),
        ("10kb", 10_000),
        ("1048576", 1_048_576),
        (" 3 MB ", 3_000_000),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GB", "5 potatoes", "-1GB", "0MB", "1e9"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--max-shard-size"):
        parse_size(text)


def test_format_size() -> None:
    assert [format_size(n) for n in (999, 1000, 1_234_567, 5e9, 2.5e12)] == [
        "999 B",
        "1.00 KB",
        "1.23 MB",
        "5.00 GB",
        "2.50 TB",
    ]
