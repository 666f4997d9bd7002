"""`edubot --help` start-up time (target: median ≤ 200 ms), next to a bare interpreter for scale."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.benchmarks.targets import Targets

EDUBOT = str(Path(sys.executable).with_name("edubot"))
RUNS = 21


def _median_seconds(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_help_start_up_time() -> None:
    # Interleave nothing: each median is taken over consecutive runs of one command, bare Python first.
    bare = _median_seconds([sys.executable, "-c", "pass"])
    root = _median_seconds([EDUBOT, "--help"])
    sub = _median_seconds([EDUBOT, "taxonomy", "validate", "--help"])
    print(f"\n[bench cli] python -c pass        median {bare * 1000:7.1f} ms")
    print(f"[bench cli] edubot --help         median {root * 1000:7.1f} ms  ({root / bare:.1f}x bare python)")
    print(f"[bench cli] edubot taxonomy validate --help median {sub * 1000:7.1f} ms  ({sub / bare:.1f}x)")
    targets = Targets("cli")
    print(f"[bench cli] target ≤ 200 ms: {targets.check('edubot --help median ≤ 200 ms', root <= 0.200)}")
    targets.assert_met()
