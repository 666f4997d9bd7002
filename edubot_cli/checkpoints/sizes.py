"""Byte sizes as people write them: ``--max-shard-size 5GB`` in, ``1.23 GB`` out.

Kept apart from the writer (and free of heavy imports) so the command modules can format sizes without
loading anything else of the conversion.
"""

from __future__ import annotations

import re

from ..errors import UsageError

DEFAULT_MAX_SHARD_SIZE = "5GB"

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def parse_size(text: str) -> int:
    """Bytes in a size like ``5GB`` (decimal: 5×10⁹), ``500MB``, ``2GiB`` (binary) or ``1048576``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise UsageError(
            f"--max-shard-size {text!r}: not a size",
            hint="write a number with a unit, e.g. 5GB, 500MB (decimal) or 2GiB (binary)",
        )
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise UsageError(f"--max-shard-size {text!r}: must be more than 0 bytes", hint="e.g. 5GB")
    return size


def format_size(n: float) -> str:
    """``n`` bytes in decimal units (``1.23 GB``)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} TB"
