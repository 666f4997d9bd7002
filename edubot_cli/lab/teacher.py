"""``--teacher local``: the embedded model acts as ilab's teacher for synthetic data generation.

ilab's SDG speaks the OpenAI *completions* API to an engine, so the teacher is an engine of its own: the embedded
SmolLM2 started through the one engine lifecycle (``engines.lifecycle``) for the length of the run, with its
per-run key handed to ilab, and stopped afterwards.

What SDG (instructlab-sdg 0.8, ``--pipeline simple``) sends: first a probe, two prompts with ``n=3`` and
``max_tokens=1``, to learn whether the server batches; then, per leaf, one request holding every seed prompt with
``n`` = ``--sdg-scale-factor``, ``temperature`` 0.7 and ``max_tokens`` 2048 (from its pipeline YAML), and no
``seed``. llama-server serves at most ``--parallel`` completions per prompt (a larger ``n`` is a 400 that ends the
run), so the teacher gets one slot per completion asked for. Nothing rewrites the requests: what they leave open
is pinned by the teacher's own defaults. Its ``--seed`` is the seed of every request, since none sends one; with
the temperature fixed by ilab's pipeline and one thread, the same taxonomy gives the same samples. Its
``--grammar`` (``QA_GRAMMAR``) makes every answer one question and its answer, the shape ilab's simple pipeline
splits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import Settings

TEACHERS = ("local",)
TEACHER_SEED = 42
"""Sampling seed of the embedded teacher (``--seed``): ilab's requests carry none, so this one pins them."""
PROBE_COMPLETIONS = 3
"""``n`` of SDG's batching probe: the teacher needs at least this many slots for it to succeed."""
DEFAULT_SCALE_FACTOR = 2
"""``--sdg-scale-factor`` asked for with ``--teacher local`` when none is given (ilab's own 30 would take hours on
CPU and need 30 slots)."""
MAX_SCALE_FACTOR = 8
"""Most completions per prompt the embedded teacher serves (one slot each, 4,096 tokens of context per slot)."""
QA_GRAMMAR = r"""root ::= question "?" sep answer
question ::= ("What" | "How" | "Why" | "Where" | "When" | "Which" | "Who" | "Can" | "Does" | "Is") " " [^?\n]{3,150}
sep ::= " " | "\n"
answer ::= [A-Z] [^?\n]{9,300}
"""
"""The shape every answer of the embedded teacher must take (llama-server's default ``--grammar``; ilab's requests
carry none): one question that starts with a question word and ends in ``?``, then a one-line answer. ilab's simple pipeline splits each answer at its
first ``?``, makes a sample with an empty question from one without, and stops the whole run at an empty one; a
135M model left free answers some prompts with nothing and rambles on others up to ilab's 2,048 tokens."""
TEACHER_THREADS = 1
"""CPU threads of the embedded teacher: one thread gives the same arithmetic on every machine, and on a shared
2-core machine it generated 51 tokens/s where two threads, spinning against other processes, gave 5.5."""
TEACHER_CONTEXT = 4096
"""SDG asks for up to 2,048 new tokens on top of its prompt; a 2,048-token context would reject that."""
SMOLLM2_FAMILY = "merlinite"
"""SDG has no ChatML prompt family (SmolLM2's own). Measured on a five-example skill leaf (``--sdg-scale-factor 2``,
10 answers asked): without ``QA_GRAMMAR`` merlinite left 5 usable pairs, llama 2, and with mixtral and blank the
teacher answered some prompts with nothing, which stops ilab's simple pipeline; with the grammar merlinite and
llama both left 10, of which 9 (merlinite) and 4 (llama) answer their question. ilab would guess merlinite from
the file name too; edubot passes it so that the run record says which one was used."""


def family_for(model: str) -> str | None:
    """The SDG prompt family edubot asks for when ``model`` is the teacher (None: leave ilab's choice)."""
    return SMOLLM2_FAMILY if "smollm2" in Path(model).name.lower() else None


@dataclass(frozen=True)
class Teacher:
    """An OpenAI-compatible endpoint for ``ilab data generate --endpoint-url``."""

    endpoint_url: str
    """Ends in ``/v1``."""
    model: str
    """What to pass to ``--model`` (ilab guesses the prompt family from its file name)."""
    source: str
    """Where it came from, for the user."""
    model_family: str | None = None
    """SDG prompt family to ask for (``--model-family``), when the default one does not suit the model."""
    api_key: str | None = None
    """The key the endpoint requires (``--api-key``; never shown or recorded)."""
    seed: int | None = None
    """The sampling seed every request gets (None: the endpoint's own choice)."""


def teacher_slots(scale_factor: int) -> int:
    """Slots the embedded teacher needs for ``scale_factor`` completions per prompt (and SDG's probe)."""
    return max(PROBE_COMPLETIONS, scale_factor)


def teacher_settings(settings: Settings, scale_factor: int) -> Settings:
    """The settings the embedded teacher runs with: its own port, enough slots, one thread, the pinned seed."""
    return settings.model_copy(
        update={
            "engine": "llama-cpp",
            "model": None,
            "engine_urls": [],
            "engine_port": 0,
            "parallel": teacher_slots(scale_factor),
            "threads": TEACHER_THREADS,
            "context_length": max(settings.context_length, TEACHER_CONTEXT),
            "engine_args": [*settings.engine_args, "--seed", str(TEACHER_SEED), "--grammar", QA_GRAMMAR],
        }
    )


@contextmanager
def local_teacher(settings: Settings, note: Callable[[str], None], scale_factor: int) -> Iterator[Teacher]:
    """Start the embedded model for the block (through the engine lifecycle) and stop it after."""
    from ..engines.lifecycle import running

    pinned = teacher_settings(settings, scale_factor)
    note(
        f"generator model: starting the embedded model (llama-cpp, {pinned.parallel} slots, {TEACHER_THREADS} thread, "
        f"seed {TEACHER_SEED}) for this run"
    )
    with running(pinned) as launch:
        engine = launch.engine
        base = engine.urls[0]
        note(f"generator model: embedded model ready at {base}/v1 (log: {engine.log_path})")
        yield Teacher(
            base + "/v1",
            engine.model,
            "the embedded model",
            family_for(engine.model),
            engine.api_key,
            TEACHER_SEED,
        )


def check_teacher(teacher: str | None, endpoint_url: str | None, model: str | None) -> None:
    """Reject flag combinations that cannot work together."""
    if teacher is None:
        return
    if teacher not in TEACHERS:
        raise UsageError(
            f"--generator {teacher!r} is not known", hint="use --generator local, or --endpoint-url URL"
        )
    if endpoint_url:
        raise UsageError(
            "--generator local and --endpoint-url both name the generator model",
            hint="give one of them, not both",
        )
    if model:
        raise UsageError(
            "--generator local picks the model itself; --model names another generator model",
            hint="drop --model, or drop --generator local and give --model (and --endpoint-url)",
        )
