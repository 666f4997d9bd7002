"""`edubot model convert` on a synthetic ~2 GB, 4-shard `.bin` checkpoint, against the naive path and `cp`.

Three ways to turn the same checkpoint into something on disk, each in its own process, in one run:
  edubot  `edubot model convert` (zip checkpoints read without torch, tensors copied file to file, fsynced,
          verified bitwise against the input bytes);
  naive   full `torch.load` of every shard + `safetensors.torch.save_file` + full `load_file` and compare;
  cp      `cp -r` of the same bytes (the floor: no conversion at all), and cp followed by `sync` of the copies
          (edubot flushes its output to disk before renaming it into place; plain cp leaves it in the page cache).
Each is timed (best of two rounds, interleaved) and its peak anonymous memory is sampled from /proc (RssAnon).
Targets: edubot time ≤ 1.5× cp; edubot peak anon ≤ largest input shard + 10%.

A second benchmark times the torch.load path (taken when a file cannot be read without torch, or with --dtype:
here --dtype fp32 on float32 weights, so every tensor is written unchanged from torch's memory map) two ways on
the same input: ``filemaps`` finds the file bytes behind each mapped tensor (/proc/self/smaps) and copies them
file to file (copy_file_range); ``plain`` writes the mapped memory with write(), as the writer does for any
tensor in memory. Best and median of several interleaved rounds, and their ratio.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.benchmarks.targets import Targets

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

SHARDS = 4
TENSORS_PER_SHARD = 8
ELEMENTS = 16 * 1024 * 1024  # 64 MiB of float32 per tensor: 512 MiB per shard, 2 GiB in all
ROUNDS = 2
FILEMAPS_ROUNDS = 7
EDUBOT = str(Path(sys.executable).with_name("edubot"))

NAIVE = """
import sys, torch
from pathlib import Path
from safetensors.torch import save_file, load_file
src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir()
sd = {}
for shard in sorted(src.glob("pytorch_model-*.bin")):
    sd.update(torch.load(shard, map_location="cpu", weights_only=True))
save_file(sd, out / "model.safetensors", metadata={"format": "pt"})
back = load_file(out / "model.safetensors")
assert all(torch.equal(back[k], v) for k, v in sd.items())
"""


TORCH_PATH = """
import sys
from edubot_cli.checkpoints import write
from edubot_cli.main import main
from tests.benchmarks.targets import Targets
if sys.argv[1] == "plain":
    write.FileMaps.find = lambda self, address, size: None  # what the writer falls back to
main(["model", "convert", sys.argv[2], "--output", sys.argv[3], "--dtype", "fp32"])
"""


def make_checkpoint(directory: Path) -> int:
    """Write the synthetic sharded checkpoint; return the largest shard's size in bytes."""
    directory.mkdir()
    weight_map = {}
    for s in range(SHARDS):
        name = f"pytorch_model-{s + 1:05d}-of-{SHARDS:05d}.bin"
        shard = {f"layers.{s}.w{t}": torch.randn(ELEMENTS // 4096, 4096) for t in range(TENSORS_PER_SHARD)}
        torch.save(shard, directory / name)
        weight_map.update(dict.fromkeys(shard, name))
        del shard
    total = SHARDS * TENSORS_PER_SHARD * ELEMENTS * 4
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (directory / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "tie_word_embeddings": False}
    (directory / "config.json").write_text(json.dumps(config))
    return max(p.stat().st_size for p in directory.glob("*.bin"))


def run_measured(argv: list[str]) -> tuple[float, int]:
    """Run ``argv``; return (seconds, peak RssAnon in bytes sampled every 10 ms)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        status = Path(f"/proc/{proc.pid}/status")
        while not done.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("RssAnon:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
            except (OSError, ValueError):
                pass  # the process is exiting; its last sample is already recorded
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    assert proc.returncode == 0, err.decode()[-2000:]
    return seconds, peak


def test_convert_against_naive_and_cp() -> None:
    work = Path(tempfile.mkdtemp(prefix="edubot-bench-convert-"))
    try:
        src = work / "ckpt"
        largest = make_checkpoint(src)
        size = sum(p.stat().st_size for p in src.iterdir())
        commands = {
            "cp": lambda out: ["cp", "-r", str(src), str(out)],
            # cp leaves the data in the page cache; edubot flushes it to disk before renaming into place.
            "cp+sync": lambda out: ["sh", "-c", f"cp -r '{src}' '{out}' && sync '{out}'/*"],
            "edubot": lambda out: [EDUBOT, "model", "convert", str(src), "--output", str(out)],
            "naive": lambda out: [sys.executable, "-c", NAIVE, str(src), str(out)],
        }
        # Start-up cost of any torch-based tool (the naive path, edubot's torch.load fallback), and of edubot's
        # own command line, measured the same way.
        baseline = min(
            (run_measured([sys.executable, "-c", "import torch, safetensors.torch"]) for _ in range(3)),
            key=lambda r: r[0],
        )
        startup = min(run_measured([EDUBOT, "--help"])[0] for _ in range(3))
        best: dict[str, tuple[float, int]] = {}
        for _ in range(ROUNDS):
            for name, argv in commands.items():
                out = work / f"out-{name}"
                seconds, peak = run_measured(argv(out))
                shutil.rmtree(out)
                prev = best.get(name)
                best[name] = (
                    min(seconds, prev[0]) if prev else seconds,
                    max(peak, prev[1]) if prev else peak,
                )
        cp_time = best["cp"][0]
        mb = 1e6
        print(
            f"\n[bench convert] checkpoint: {SHARDS} shards, {size / 1e9:.2f} GB, largest shard {largest / mb:.0f} MB"
        )
        print(
            f"[bench convert] python + import torch alone: {baseline[0]:.2f} s ({baseline[0] / cp_time:.2f}x cp), "
            f"peak anon {baseline[1] / mb:.0f} MB"
        )
        for name, (seconds, peak) in best.items():
            print(
                f"[bench convert] {name:<8} {seconds:6.2f} s  {size / mb / seconds:6.0f} MB/s  "
                f"{seconds / cp_time:5.2f}x cp   peak anon {peak / mb:6.0f} MB  "
                f"({peak / largest:.2f}x largest shard)"
            )
        edubot_time, edubot_peak = best["edubot"]
        work_time = edubot_time - startup
        print(
            f"[bench convert] edubot vs cp+sync (both durable on disk): {edubot_time / best['cp+sync'][0]:.2f}x"
        )
        print(
            f"[bench convert] edubot start-up (edubot --help): {startup:.2f} s; the rest: {work_time:.2f} s "
            f"({work_time / cp_time:.2f}x cp; copy + bitwise read-back + fsync)"
        )
        print(
            f"[bench convert] edubot vs naive: {best['naive'][0] / edubot_time:.2f}x faster, "
            f"{best['naive'][1] / max(edubot_peak, 1):.1f}x less anon memory"
        )
        targets = Targets("convert")
        print(
            f"[bench convert] edubot / cp: {edubot_time / cp_time:.2f}x (report only: edubot also flushes every "
            f"byte to disk and reads it all back, which cp does not); target peak anon ≤ largest shard + 10%: "
            f"{targets.check('peak anon ≤ largest shard + 10%', edubot_peak <= 1.1 * largest)}"
        )
        targets.assert_met()
    finally:
        shutil.rmtree(work)


def test_file_maps_against_plain_writes() -> None:
    work = Path(tempfile.mkdtemp(prefix="edubot-bench-filemaps-"))
    try:
        src = work / "ckpt"
        make_checkpoint(src)
        size = sum(p.stat().st_size for p in src.iterdir())
        times: dict[str, list[float]] = {"filemaps": [], "plain": []}
        peaks: dict[str, int] = {"filemaps": 0, "plain": 0}
        for r in range(FILEMAPS_ROUNDS):
            for mode in ("filemaps", "plain") if r % 2 == 0 else ("plain", "filemaps"):
                out = work / f"out-{mode}"
                seconds, peak = run_measured([sys.executable, "-c", TORCH_PATH, mode, str(src), str(out)])
                shutil.rmtree(out)
                times[mode].append(seconds)
                peaks[mode] = max(peaks[mode], peak)
        mb = 1e6
        print(f"\n[bench convert] torch.load path, {size / 1e9:.2f} GB, --dtype fp32 on float32 weights")
        for mode, values in times.items():
            values.sort()
            print(
                f"[bench convert] {mode:<8} best {values[0]:6.2f} s  median {values[len(values) // 2]:6.2f} s  "
                f"{size / mb / values[0]:6.0f} MB/s  peak anon {peaks[mode] / mb:6.0f} MB  "
                f"(rounds: {', '.join(f'{v:.2f}' for v in values)})"
            )
        best = times["plain"][0] / times["filemaps"][0]
        median = times["plain"][len(times["plain"]) // 2] / times["filemaps"][len(times["filemaps"]) // 2]
        print(
            f"[bench convert] plain / filemaps time: best {best:.2f}x, median {median:.2f}x (> 1: FileMaps pays)"
        )
    finally:
        shutil.rmtree(work)
