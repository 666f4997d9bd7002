"""The whole loop against the real ilab (`make test-ilab`): generate with the embedded model as generator model, train
the embedded SmolLM2 on CPU, convert the checkpoint and get an answer from `edubot serve` on it.

They run only when asked (`make test-ilab`, `pytest -m ilab`, or EDUBOT_ILAB set) and the ilab venv exists;
otherwise they are skipped with a reason that says how to run them. The steps share one working folder and run
in file order; each prints how long it took.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edubot_cli.lab.samples import MIN_USABLE_SAMPLES
from edubot_cli.lab.teacher import SMOLLM2_FAMILY, TEACHER_SEED
from tests.lab.conftest import ATTRIBUTION, write_taxonomy
from tests.support.serve_process import wait_healthy

pytestmark = [pytest.mark.ilab, pytest.mark.slow, pytest.mark.timeout(1800)]

# Science words phrased as questions: the simple SDG pipeline splits each generated pair at its first "?", so
# pairs without one are dropped from the training mix.
SKILL = """\
version: 3
created_by: edubot
task_description: Explain a science word to a ten-year-old pupil in one or two sentences.
seed_examples:
  - question: What does evaporation mean?
    answer: Evaporation is when a liquid, like water in a puddle, slowly turns into a gas and goes into the air.
  - question: What does photosynthesis mean?
    answer: Photosynthesis is how plants use sunlight, water and air to make their own food.
  - question: What is gravity?
    answer: Gravity is the pull that makes things fall down to the ground and keeps us on the Earth.
  - question: What is a magnet?
    answer: A magnet is a piece of metal that pulls iron things towards it without touching them.
  - question: What does melting mean?
    answer: Melting is when something solid, like ice, gets warm and turns into a liquid.
"""


class Loop:
    """The shared working folder and environment of the real-ilab steps."""

    def __init__(self, root: Path, ilab: Path) -> None:
        self.root = root
        self.work = root / "work"
        self.work.mkdir()
        home = root / "home"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("EDUBOT_", "XDG_"))},
            "HOME": str(home),
            "EDUBOT_ILAB_PATH": str(ilab),
            "COLUMNS": "200",
            # torch in ilab's trainer: one thread trained a small network 3.4x faster than two on the shared
            # 2-core machine, where two threads spin against other processes.
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        }
        self.ilab = ilab

    def run(self, *args: str, timeout: float = 1200) -> tuple[int, str, float]:
        started = time.monotonic()
        done = subprocess.run(
            args, cwd=self.work, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        return done.returncode, done.stdout + done.stderr, time.monotonic() - started

    def edubot(self, *args: str, timeout: float = 1200) -> tuple[int, str, float]:
        return self.run(sys.executable, "-m", "edubot_cli", *args, timeout=timeout)


@pytest.fixture(scope="module")
def loop(real_ilab: Path, tmp_path_factory: pytest.TempPathFactory) -> Loop:
    state = Loop(tmp_path_factory.mktemp("real-ilab"), real_ilab)
    taxonomy = write_taxonomy(state.work / "taxonomy", SKILL, ATTRIBUTION)
    code, output, seconds = state.run(
        str(real_ilab), "config", "init", "--non-interactive", "--taxonomy-path", str(taxonomy)
    )
    assert code == 0, output
    print(f"\nilab config init: {seconds:.1f} s")
    return state


@pytest.fixture(scope="module")
def generated(loop: Loop) -> tuple[int, str]:
    code, output, seconds = loop.edubot(
        "data", "generate", "--pipeline", "simple", "--generator", "local", "--sdg-scale-factor", "2"
    )
    print(f"\nedubot data generate --pipeline simple --generator local: {seconds:.1f} s\n{output[-3000:]}")
    return code, output


def test_generate_with_the_embedded_model_as_generator_model(loop: Loop, generated: tuple[int, str]) -> None:
    code, output = generated
    assert code == 0, output
    assert "generator model: embedded model ready at http://127.0.0.1:" in output
    [record_file] = (loop.work / "datasets").glob("edubot-run-data-generate-*.json")
    record = json.loads(record_file.read_text())
    assert record["exit_code"] == 0 and record["ilab_version"] == "0.26.1"
    assert record["teacher"]["source"] == "the embedded model"
    assert record["teacher"]["model_family"] == SMOLLM2_FAMILY
    assert record["teacher"]["seed"] == TEACHER_SEED
    # Pinned sampling and the generator model's grammar: the same samples on every run (measured: 10 asked, 10 usable).
    samples = record["samples"]
    print("samples:", json.dumps(samples))
    assert samples["requested"] == 10 and samples["usable"] >= samples["minimum"] == MIN_USABLE_SAMPLES
    assert f"samples: 10 asked of the generator model, {samples['generated']} kept by ilab" in output
    produced = {Path(f["path"]).name.split("_2")[0]: f for f in record["files_produced"]}
    assert produced["skills_train_msgs"]["records"] > 0
    assert produced["train"]["records"] > 0
    print("produced:", json.dumps(record["files_produced"], indent=1))


@pytest.fixture(scope="module")
def student(loop: Loop) -> Path:
    """The HF folder `edubot model convert` makes from the embedded SmolLM2 GGUF."""
    from edubot_cli.engines.llama_cpp import embedded_model

    target = loop.root / "smollm2-hf"
    code, output, seconds = loop.edubot("model", "convert", str(embedded_model()), "--output", str(target))
    print(f"\nedubot model convert (embedded GGUF → HF): {seconds:.1f} s")
    assert code == 0, output
    return target


@pytest.fixture(scope="module")
def trained(loop: Loop, generated: tuple[int, str], student: Path) -> tuple[int, str]:
    assert generated[0] == 0, "generation failed; nothing to train on"
    code, output, seconds = loop.edubot(
        "model",
        "train",
        "--pipeline",
        "full",
        "--device",
        "cpu",
        "--model-path",
        str(student),
        "--convert",
        "--",
        "--num-epochs",
        "1",
    )
    print(f"\nedubot model train --pipeline full --device cpu --convert: {seconds:.1f} s\n{output[-2500:]}")
    return code, output


def test_train_full_on_cpu_then_convert(loop: Loop, trained: tuple[int, str]) -> None:
    code, output = trained
    assert code == 0, output
    checkpoint = loop.work / "checkpoints" / "hf_format" / "samples_0"
    assert (checkpoint / "pytorch_model.bin").is_file()
    assert f"newest checkpoint: {checkpoint}" in output
    assert (loop.work / "models" / "checkpoints-samples_0" / "model.safetensors").is_file()
    assert "next: edubot serve --model models/checkpoints-samples_0" in output


def test_simple_training_cannot_train_smollm2(loop: Loop, generated: tuple[int, str], student: Path) -> None:
    """`--pipeline simple` stops in ilab's own sanity check: its stop words include "<|assistant|>", which
    SmolLM2's tokenizer splits into several tokens, and ilab compares that tensor with one token id."""
    code, output, seconds = loop.edubot(
        "model",
        "train",
        "--pipeline",
        "simple",
        "--device",
        "cpu",
        "--model-path",
        str(student),
        "--ckpt-output-dir",
        "checkpoints-simple",
        "--",
        "--num-epochs",
        "1",
    )
    print(f"\nedubot model train --pipeline simple --device cpu: {seconds:.1f} s (exit {code})")
    assert code == 1, output
    assert "Boolean value of Tensor with more than one value is ambiguous" in output
    assert "LINUX_TRAIN.PY: SANITY CHECKING THE BASE MODEL" in output


@pytest.fixture
def served(loop: Loop, trained: tuple[int, str]) -> Iterator[str]:
    from edubot_cli.procgroup import free_port

    assert trained[0] == 0, "training failed; nothing to serve"
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edubot_cli",
            "serve",
            "--model",
            "models/checkpoints-samples_0",
            "--port",
            str(port),
        ],
        cwd=loop.work,
        env=loop.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout=600)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def test_serve_answers_with_the_trained_model(loop: Loop, served: str) -> None:
    import httpx

    started = time.monotonic()
    reply = httpx.post(
        served + "/chat", json={"message": "What does evaporation mean?", "max_tokens": 40}, timeout=300
    )
    print(f"\nedubot serve (transformers) answer in {time.monotonic() - started:.1f} s: {reply.text[:400]}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    # `transformers serve` is started on a link named after served_model_name: the checkpoint's path is not shown.
    assert body["model"] == "edubot"
    assert "checkpoints-samples_0" not in reply.text
    assert body["completion_tokens"] > 0 and body["response"].strip()
