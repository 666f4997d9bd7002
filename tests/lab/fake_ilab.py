"""A fake ``ilab`` executable for unit tests.

It records every call (argv, working directory and environment) as a JSON line, writes the files ilab 0.26
writes (datasets in ``<output-dir>/<time>/``, ``hf_format/samples_N`` checkpoints, the GGUF of ``--pipeline
simple``), and can fail, print chosen lines, or hang until signalled together with a child process of its own.
Behaviour is read from ``behaviour.json`` beside the script, so tests change it between calls.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

SCRIPT = r"""#!{python}
import json, os, signal, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
b = json.loads((HERE / "behaviour.json").read_text())
argv = sys.argv[1:]
with open(HERE / "calls.jsonl", "a") as f:
    f.write(json.dumps({{"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}}) + "\n")

def opt(name, default=None):
    return argv[argv.index(name) + 1] if name in argv else default

if argv == ["--version"]:
    if b.get("version_error"):
        print(b["version_error"], file=sys.stderr)
        sys.exit(1)
    print("ilab, version " + b.get("version", "0.26.1"))
    sys.exit(0)

for line in b.get("lines", []):
    sys.stdout.write(line)
    sys.stdout.flush()

if b.get("hang"):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    (HERE / "pids.json").write_text(json.dumps({{"ilab": os.getpid(), "child": child.pid}}))
    if b.get("ignore_sigint"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("hanging", flush=True)
    time.sleep(600)
    sys.exit(0)

stamp = b.get("stamp", "2026-01-02T03_04_05")
if argv[:2] == ["data", "generate"] and b.get("write", True):
    run = Path(opt("--output-dir")) / b.get("run_dir", "2026-01-02_030405")
    run.mkdir(parents=True, exist_ok=True)
    msg = {{"messages": [{{"role": "user", "content": "q"}}, {{"role": "assistant", "content": "a"}}]}}
    legacy = {{"system": "s", "user": "q", "assistant": "a"}}
    files = {{
        f"skills_train_msgs_{{stamp}}.jsonl": [msg] * b.get("skills_records", 12),
        f"knowledge_train_msgs_{{stamp}}.jsonl": [msg] * b.get("knowledge_records", 0),
        f"messages_{{stamp}}.jsonl": [msg] * 12,
        f"train_{{stamp}}.jsonl": [legacy] * 12,
        f"test_{{stamp}}.jsonl": [legacy] * 5,
    }}
    for name, rows in files.items():
        (run / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    work = run / f"preprocessed_{{stamp}}"
    work.mkdir(exist_ok=True)
    (work / "leaf.jsonl").write_text((json.dumps(legacy) + "\n") * b.get("seed_rows", 1))
    if "outputs" in b:
        generated = run / f"generated_{{stamp}}"
        generated.mkdir(exist_ok=True)
        (generated / "leaf.jsonl").write_text("".join(json.dumps({{"output": o}}) + "\n" for o in b["outputs"]))
    print(f"INFO Generation took 1.00s")

if argv[:2] == ["model", "train"] and b.get("write", True):
    ckpt = Path(opt("--ckpt-output-dir"))
    if opt("--pipeline") == "simple":
        (Path.cwd() / "training_results" / "final").mkdir(parents=True, exist_ok=True)
        gguf = Path(b.get("gguf_dir", str(ckpt))) / "ggml-model-f16.gguf"
        gguf.parent.mkdir(parents=True, exist_ok=True)
        gguf.write_bytes(b"GGUF" + bytes(60))
        print(f"INFO Save trained model to {{gguf}}")
    else:
        for n in b.get("samples", [8]):
            folder = ckpt / "hf_format" / f"samples_{{n}}"
            folder.mkdir(parents=True, exist_ok=True)
            source = b.get("checkpoint_from")
            if source:
                for item in Path(source).iterdir():
                    (folder / item.name).write_bytes(item.read_bytes())
            else:
                (folder / "pytorch_model.bin").write_bytes(b"weights")
                (folder / "config.json").write_text("{{}}")
    print("Training completed successfully!")

sys.exit(b.get("exit_code", 0))
"""


class FakeIlab:
    """The fake ``ilab`` in ``folder``: ``path`` to run, ``set`` to change behaviour, ``calls`` to read back."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "ilab"
        self.path.write_text(SCRIPT.format(python=sys.executable))
        self.path.chmod(self.path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.behaviour: dict[str, Any] = {}
        self.set()

    def set(self, **behaviour: Any) -> FakeIlab:
        """Replace the behaviour (keys: version, version_error, lines, hang, ignore_sigint, exit_code, write,
        skills_records, knowledge_records, run_dir, stamp, seed_rows, outputs, samples, checkpoint_from,
        gguf_dir)."""
        self.behaviour = behaviour
        (self.folder / "behaviour.json").write_text(json.dumps(behaviour))
        return self

    def calls(self) -> list[dict[str, Any]]:
        """Every call so far except ``--version``: argv, cwd and env."""
        path = self.folder / "calls.jsonl"
        if not path.exists():
            return []
        found = [json.loads(line) for line in path.read_text().splitlines()]
        return [c for c in found if c["argv"] != ["--version"]]

    def pids(self) -> dict[str, int] | None:
        """Process ids written by a hanging run (``ilab`` and its ``child``), once it is hanging."""
        path = self.folder / "pids.json"
        return json.loads(path.read_text()) if path.exists() else None


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (non-zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
