"""The targets a benchmark checks: each is printed met or MISSED, and the benchmark fails at its end when one was
missed, after printing all its figures. A figure printed with no target is report-only, and says so.

Speed is measured here only, never in the test suite; run `make bench` on a quiet machine.
"""

from __future__ import annotations


class Targets:
    """``check`` each target as it is measured; ``assert_met`` once everything is printed."""

    def __init__(self, bench: str) -> None:
        self.bench = bench
        self.missed: list[str] = []

    def check(self, target: str, ok: bool) -> str:
        """Record ``target`` (e.g. ``"p50 ≤ 20 ms"``) and return ``met`` or ``MISSED`` for the printed line."""
        if not ok:
            self.missed.append(target)
        return "met" if ok else "MISSED"

    def assert_met(self) -> None:
        assert not self.missed, f"[bench {self.bench}] targets missed: " + "; ".join(self.missed)
