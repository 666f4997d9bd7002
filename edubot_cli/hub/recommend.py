"""Which catalog model suits this machine: a pure function of (cores, RAM, GPU), shown by ``edubot doctor``.

The rule, in order:

1. Cores pick the size. On a CPU the wait before a grounded answer's first word is the prompt (400-700 tokens),
   and reading it scales with the parameters: 1 core is too slow for anything above the embedded 135M model;
   2-3 cores get the 1.5B model (a 3B one keeps a student waiting about a minute); 4-7 cores a 3B model, which
   retells the teacher's facts better; 8 or more the strongest, Phi 3.5 mini.
2. RAM decides among them: the engine may take ``BUDGET`` of it (the system, the backend and a browser need the
   rest) for ``slots`` slots of ``context`` tokens (``edubot serve``'s 32 x 2,048 by default). The first model of
   the cores' list that fits is picked, else the next smaller; when none fits, the embedded model stays.
3. A GPU changes nothing here (edubot's llama.cpp build runs on the CPU) but is named: vLLM serves Hugging Face
   models on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import DEFAULT_CONTEXT, DEFAULT_SLOTS, CatalogModel, find

BUDGET = 0.6
"""Share of the machine's RAM the engine may take."""

PREFERENCES: tuple[tuple[int, tuple[str, ...]], ...] = (
    (8, ("phi3.5-mini", "llama3.2-3b", "qwen2.5-3b", "qwen2.5-1.5b")),
    (4, ("llama3.2-3b", "qwen2.5-3b", "qwen2.5-1.5b")),
    (2, ("qwen2.5-1.5b",)),
)
"""(fewest cores, models in order of preference)."""

WHY = {
    "qwen2.5-1.5b": "on {cores} a 3B model keeps students waiting about a minute; this one starts a grounded "
    "answer in ~15-30 s",
    "qwen2.5-3b": "a 3B model retells the teacher's facts better than a 1.5B one, and its small KV cache fits "
    "{slots} slots in {need:.1f} GiB",
    "llama3.2-3b": "a 3B model retells the teacher's facts better than a 1.5B one, and {cores} keep it usable "
    "for a small group",
    "phi3.5-mini": "the strongest model of the catalog, and {cores} keep it usable",
}
NOTES = {"qwen2.5-3b": "; its licence allows non-commercial use only"}
"""Said of a model whenever it is recommended."""


@dataclass(frozen=True)
class Recommendation:
    """The model to pull (None: keep the embedded one) and the line that says so and why."""

    model: CatalogModel | None
    text: str


def _cores(cores: int) -> str:
    return f"{cores} core" if cores == 1 else f"{cores} cores"


def _machine(cores: int, ram_gib: float, gpu: str | None) -> str:
    ram = f"{round(ram_gib)} GiB RAM"
    if gpu:
        return f"{_cores(cores)}, {ram} and a GPU"
    return f"{_cores(cores)} and {ram}"


def recommend(
    cores: int,
    ram_gib: float,
    gpu: str | None = None,
    *,
    slots: int = DEFAULT_SLOTS,
    context: int = DEFAULT_CONTEXT,
) -> Recommendation:
    """The catalog model for a machine with ``cores`` physical cores, ``ram_gib`` GiB of RAM and ``gpu`` (its
    name, or None), served with ``slots`` slots of ``context`` tokens; see the module doc for the rule."""
    machine = _machine(cores, ram_gib, gpu)
    gpu_note = "; the GPU serves Hugging Face models with vLLM instead (docs/models.md)" if gpu else ""
    wanted = next((names for fewest, names in PREFERENCES if cores >= fewest), ())
    if not wanted:
        return Recommendation(
            None,
            f"for {machine}, keep the embedded SmolLM2-135M (on one core a larger model takes minutes per "
            f"answer){gpu_note}",
        )
    budget = ram_gib * BUDGET
    models = [model for model in (find(name) for name in wanted) if model is not None]
    for model in models:
        need = model.ram_gib(slots, context)
        if need > budget:
            continue
        if model is models[0]:
            why = WHY[model.name].format(cores=_cores(cores), slots=slots, need=need)
        else:
            first = models[0]
            why = (
                f"{first.name} would need {first.ram_gib(slots, context):.1f} GiB with {slots} slots, more than "
                f"the {budget:.1f} GiB the engine may take here; this one needs {need:.1f}"
            )
        why += NOTES.get(model.name, "")
        return Recommendation(model, f"for {machine}, try `edubot model pull {model.name}` ({why}){gpu_note}")
    smallest = models[-1]
    fewer = smallest.ram_gib(4, context)
    then = f"; with `edubot serve --parallel 4` it needs {fewer:.1f}" if fewer <= budget and slots > 4 else ""
    return Recommendation(
        None,
        f"for {machine}, keep the embedded SmolLM2-135M ({smallest.name} would need "
        f"{smallest.ram_gib(slots, context):.1f} GiB with {slots} slots, more than the {budget:.1f} GiB the engine "
        f"may take here{then}){gpu_note}",
    )
