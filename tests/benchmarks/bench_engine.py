"""The embedded engine through `edubot serve`, against the same llama-server binary started by hand, in one run.

Single student: a real `edubot serve` process (defaults: all physical cores, 32 slots, the queue, the
supervisor) streams ``POST /chat``; the same binary started by hand with its best flags for one user (all
physical cores, one slot, the model's full context) streams ``POST /v1/chat/completions`` with the same system
prompt, question, temperature 0 and token budget, so both generate the same tokens. Requests alternate between
the two, one at a time. Target: tokens/s through edubot >= 95% of the hand-started engine.

Classroom: 32 students ask 32 different questions at once through `edubot serve` (max_tokens 48, streamed), in
three rounds, each worded anew (a repeated question would find its prompt cached) and each right after one
student alone asks the same kind of question on other topics (the machine's speed drifts, so each class is
compared with the student measured just before it). Targets, on the medians of the rounds: no errors; aggregate
tokens/s >= 2x one student's rate; p95 time to first token <= 6x the time one 48-token answer takes alone. For
comparison the same load goes to the hand-started engine with 32 slots and with one slot, and to 32 slots serving
the package's Q4_1 file as shipped (edubot serves it stored as Q8_0, which llama.cpp batches).

One student's rate is the generation rate after the first token, the stricter of two measures; the aggregate
counts a class's whole wall time, first tokens included, so the like-for-like figure (one student's tokens per
second of whole answers) is printed beside it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from edubot_cli.config import FIELDS
from edubot_cli.engines.embedded import served_file
from edubot_cli.engines.llama_build import find_binary
from edubot_cli.engines.llama_cpp import embedded_model, physical_cores
from edubot_cli.procgroup import free_port
from tests.benchmarks.targets import Targets

EDUBOT = Path(sys.executable).with_name("edubot")
QUESTION = "Explain photosynthesis to a ten-year-old, step by step."
SYSTEM_PROMPT = FIELDS["system_prompt"][0]
MAX_TOKENS = 128
ROUNDS = 12
SETTLE = 10.0
"""Seconds of throw-away answers before measuring: `edubot serve` fills every slot with the system prompt just
after it starts (a few seconds of engine work in the background), which would slow whichever side runs then."""
STUDENTS = 32
CLASS_TOKENS = 48
TOPICS = [
    "photosynthesis", "gravity", "the water cycle", "volcanoes", "fractions", "the heart", "magnets", "rainbows",
    "the moon", "electricity", "plate tectonics", "cells", "sound", "friction", "the Roman Empire", "verbs",
    "clouds", "bacteria", "the solar system", "erosion", "atoms", "photosynthesis in algae", "evaporation",
    "tides", "digestion", "the alphabet", "prime numbers", "light", "seasons", "bees", "ecosystems", "weather",
]  # fmt: skip
ALONE_TOPICS = ["dinosaurs", "glaciers", "owls", "comets", "coral reefs", "the pyramids"]
"""One student alone asks about other topics than the class."""
WORDINGS = [
    "Explain {} to a ten-year-old, step by step.",
    "What should a ten-year-old know about {}? Give steps.",
    "Describe {} simply, in steps, for a child of ten.",
]
"""Each round words every question anew: a slot keeps the prompt it last answered, so a question asked again
would find its prompt cached and skip the prompt processing that a new class question costs."""
CLASS_ROUNDS = 3
TAXONOMY = Path(__file__).resolve().parents[2] / "taxonomy"
PARALLEL = os.environ.get("EDUBOT_BENCH_PARALLEL")  # e.g. "32" to try another slot count


def wait_ok(url: str, proc: subprocess.Popen[bytes], headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, f"{proc.args[0]} exited"
        try:
            if httpx.get(url, timeout=2, headers=headers).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered"
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def serving(folder: Path, **settings: str) -> Iterator[str]:
    """`edubot serve` as a user starts it in ``folder`` (embedded model, default settings, no rate limit)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env |= {"EDUBOT_RATE_LIMIT_PER_MINUTE": "0", "EDUBOT_CACHE_DIR": str(folder / "cache")}
    # the same token budget and temperature 0 on both sides: the requests' own, which a class's server ignores
    env["EDUBOT_CLIENT_SAMPLING"] = "true"
    env |= {f"EDUBOT_{name.upper()}": value for name, value in settings.items()}
    if PARALLEL:
        env["EDUBOT_PARALLEL"] = PARALLEL
    proc = subprocess.Popen(
        [str(EDUBOT), "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ok(url + "/health", proc)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def edubot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """No taxonomy in its folder: answers are not grounded. Moderation off: the engine's tokens reach the client
    one by one, as the by-hand engine's do (``moderated_edubot`` is the default)."""
    with serving(tmp_path_factory.mktemp("serve"), moderation="false") as url:
        yield url


@pytest.fixture(scope="module")
def moderated_edubot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same, with moderation on (the default): each answer is shown a checked sentence at a time."""
    with serving(tmp_path_factory.mktemp("serve-moderated")) as url:
        yield url


def start_by_hand(
    tmp_path: Path, *flags: str, model: Path | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """The same llama-server binary and model as `edubot serve`, started by hand on all physical cores."""
    port = free_port()
    binary, _ = find_binary(None)
    cores = str(physical_cores())
    served = model or served_file(embedded_model()).path
    command = [str(binary), "-m", str(served), "--host", "127.0.0.1", "--port", str(port)]
    command += ["-t", cores, "-tb", cores, "--no-webui", *flags]
    with (tmp_path / "llama-server.log").open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_ok(url + "/health", proc)
    return url, proc


@pytest.fixture(scope="module")
def by_hand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The best flags for one user: one slot with the model's full context."""
    url, proc = start_by_hand(tmp_path_factory.mktemp("by-hand"), "-np", "1", "-c", "2048")
    yield url
    stop(proc)


CLASS_FLAGS = ["-np", str(STUDENTS), "-c", str(STUDENTS * 2048), "--no-kv-unified"]
"""The best flags for a class, as llama.cpp's docs suggest them: 32 slots with 2,048 tokens each."""


@pytest.fixture(scope="module")
def by_hand_class(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, proc = start_by_hand(tmp_path_factory.mktemp("by-hand-class"), *CLASS_FLAGS)
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def shipped_q4_1_class(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The class flags on the package's Q4_1 file as shipped."""
    folder = tmp_path_factory.mktemp("shipped-q4-1")
    url, proc = start_by_hand(folder, *CLASS_FLAGS, model=embedded_model())
    yield url
    stop(proc)


@dataclass
class Run:
    ttft: float
    decode: float  # seconds from the first to the last token
    total: float
    tokens: int
    text: str
    error: str = ""
    completion_tokens: int | None = (
        None  # /chat's own count (its ``done`` event): a checked answer's deltas are sentences
    )
    prompt_tokens: int | None = None

    @property
    def rate(self) -> float:
        return (self.tokens - 1) / self.decode if self.decode > 0 else 0.0


def _events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    kind = "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[len("event: ") :]
        elif line.startswith("data: ") and line != "data: [DONE]":
            yield kind, json.loads(line[len("data: ") :])
            kind = "message"


def ask(client: httpx.Client, url: str, question: str, max_tokens: int, *, by_hand: bool = False) -> Run:
    """One streamed answer: through edubot's /chat, or straight from the hand-started engine."""
    if by_hand:
        path = "/v1/chat/completions"
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]
        body: dict = {"messages": messages, "stream": True}
    else:
        path, body = "/chat", {"message": question, "stream": True}
    body |= {"max_tokens": max_tokens, "temperature": 0.0}
    start = time.perf_counter()
    first = last = None
    chunks: list[str] = []
    error = ""
    usage: dict = {}
    try:
        with client.stream("POST", url + path, json=body) as response:
            if response.status_code != 200:
                error = f"HTTP {response.status_code}: {response.read()[:200]!r}"
            for kind, event in _events(response) if not error else ():
                if kind == "error" or "error" in event:
                    error = json.dumps(event)
                    continue
                if event.get("done"):
                    usage = event.get("usage") or {}
                piece = event.get("delta") if not by_hand else (
                    ((event.get("choices") or [{}])[0].get("delta") or {}).get("content")
                )  # fmt: skip
                if piece:
                    last = time.perf_counter()
                    first = first or last
                    chunks.append(piece)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    end = time.perf_counter()
    if first is None or last is None:
        return Run(end - start, 0.0, end - start, 0, "", error or "no token")
    return Run(
        first - start,
        last - first,
        end - start,
        usage.get("completion_tokens") or len(chunks),  # a moderated answer's deltas are whole sentences
        "".join(chunks),
        error,
        usage.get("completion_tokens"),
        usage.get("prompt_tokens"),
    )


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def test_single_student_through_edubot_vs_the_engine_by_hand(edubot: str, by_hand: str) -> None:
    runs: dict[str, list[Run]] = {"by hand": [], "edubot": []}
    # No keep-alive: the hand-started server closes idle connections, and both sides pay the same connect.
    with httpx.Client(
        timeout=300, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
    ) as client:
        settled = time.monotonic() + SETTLE
        while time.monotonic() < settled:  # warm-up: caches on both sides, and edubot's slot warm-up done
            ask(client, by_hand, QUESTION, MAX_TOKENS, by_hand=True)
            ask(client, edubot, QUESTION, MAX_TOKENS)
        for index in range(ROUNDS):
            order = ("by hand", "edubot") if index % 2 == 0 else ("edubot", "by hand")
            for side in order:
                url = by_hand if side == "by hand" else edubot
                runs[side].append(ask(client, url, QUESTION, MAX_TOKENS, by_hand=side == "by hand"))
    for side, done in runs.items():
        assert not [r.error for r in done if r.error], side
    cores = physical_cores()
    print(f"\n[bench engine] single student: embedded SmolLM2-135M (Q8_0), {ROUNDS} streamed answers per side, "
          f"max_tokens {MAX_TOKENS}, temperature 0, {cores} physical cores")  # fmt: skip
    rates = {}
    for side, done in runs.items():
        rates[side] = statistics.median(r.rate for r in done)
        ttft = statistics.median(r.ttft for r in done)
        tokens = statistics.median(r.tokens for r in done)
        print(
            f"[bench engine]   {side:8}: {rates[side]:6.1f} tokens/s  TTFT {ttft * 1000:5.0f} ms  ({tokens:.0f} tokens)"
        )
    ratio = rates["edubot"] / rates["by hand"]
    same = runs["edubot"][0].text == runs["by hand"][0].text
    print(f"[bench engine]   same text both ways: {same}")
    targets = Targets("engine")
    print(f"[bench engine]   edubot / by hand (llama-server -t {cores} -np 1): {ratio:.1%} (target >= 95%: "
          f"{targets.check('edubot >= 95% of the engine by hand', ratio >= 0.95)})")  # fmt: skip
    targets.assert_met()


def worded(wording: str) -> list[str]:
    """The class's 32 questions in ``wording``, one topic each."""
    return [wording.format(TOPICS[index % len(TOPICS)]) for index in range(STUDENTS)]


def classroom(url: str, questions: list[str], *, by_hand: bool = False) -> Class:
    """Every question asked at once, one student each. Each student's HTTP client is made before the clock
    starts: in a class each sets up its connection on its own device, and here 32 clients' TLS contexts (about
    19 ms of CPU each) would take half a second of the two cores that the engine needs."""
    clients = [httpx.Client(timeout=600, trust_env=False) for _ in questions]

    def student(index: int) -> Run:
        return ask(clients[index], url, questions[index], CLASS_TOKENS, by_hand=by_hand)

    with concurrent.futures.ThreadPoolExecutor(len(questions)) as pool:
        start = time.perf_counter()
        runs = list(pool.map(student, range(len(questions))))
        wall = time.perf_counter() - start
    for client in clients:
        client.close()
    return Class(runs, wall)


@dataclass
class Alone:
    """One student alone, from a few answers: the generation rate after the first token, and a whole answer."""

    rate: float
    answer: float  # seconds for a whole answer, first token included
    tokens: float
    completion: float = 0.0  # the model's tokens in an answer, by /chat's own count

    @property
    def delivered(self) -> float:
        """Tokens per second of a whole answer, as the class aggregate counts them."""
        return self.tokens / self.answer

    @property
    def delivered_tokens(self) -> float:
        """The model's tokens per second of a whole answer (0 when the notes answered, not the model)."""
        return self.completion / self.answer


def alone(url: str, questions: list[str]) -> Alone:
    """One student asking ``questions`` one after another."""
    with httpx.Client(timeout=300, trust_env=False) as client:
        runs = [ask(client, url, question, CLASS_TOKENS) for question in questions]
    assert not [r.error for r in runs if r.error]
    return Alone(
        statistics.median(r.rate for r in runs),
        statistics.median(r.total for r in runs),
        statistics.median(r.tokens for r in runs),
        statistics.median(r.completion_tokens or 0 for r in runs),
    )


@dataclass
class Class:
    runs: list[Run]
    wall: float

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.runs if r.error]

    @property
    def aggregate(self) -> float:
        return sum(r.tokens for r in self.runs) / self.wall

    @property
    def ttfts(self) -> list[float]:
        return [r.ttft for r in self.runs if not r.error]


def test_a_classroom_of_32_at_once(
    edubot: str, moderated_edubot: str, by_hand_class: str, by_hand: str, shipped_q4_1_class: str
) -> None:
    rounds: list[tuple[Alone, Class]] = []
    for wording in WORDINGS[:CLASS_ROUNDS]:
        one = alone(edubot, [wording.format(topic) for topic in ALONE_TOPICS])  # right before: speed drifts
        rounds.append((one, classroom(edubot, worded(wording))))
    one_rate = statistics.median(one.rate for one, _ in rounds)
    one_answer = statistics.median(one.answer for one, _ in rounds)
    others = {
        f"llama-server -np {STUDENTS} by hand": classroom(by_hand_class, worded(WORDINGS[0]), by_hand=True),
        "llama-server -np 1 by hand": classroom(by_hand, worded(WORDINGS[0]), by_hand=True),
        f"llama-server -np {STUDENTS} by hand, shipped Q4_1 file": classroom(
            shipped_q4_1_class, worded(WORDINGS[0]), by_hand=True
        ),
    }
    print(f"\n[bench engine] classroom: {STUDENTS} students at once, max_tokens {CLASS_TOKENS}, streamed, "
          f"{CLASS_ROUNDS} rounds through edubot, each worded anew and right after one student alone")  # fmt: skip
    strict, whole, ttft_ratio = [], [], []
    for index, (one, done) in enumerate(rounds, 1):
        strict.append(done.aggregate / one.rate)
        whole.append(done.aggregate / one.delivered)
        ttft_ratio.append(p95(done.ttfts) / one.answer)
        print(f"[bench engine]   round {index}: one student {one.rate:.1f} tokens/s after the first token, a whole "
              f"answer {one.answer:.2f} s ({one.delivered:.1f} tokens/s); class {len(done.errors)} errors, "
              f"{done.aggregate:.1f} tokens/s = {strict[-1]:.2f}x one student ({whole[-1]:.2f}x whole answers), "
              f"TTFT p50 {statistics.median(done.ttfts):.2f} s p95 {p95(done.ttfts):.2f} s "
              f"({ttft_ratio[-1]:.1f}x one answer)")  # fmt: skip
        if done.errors:
            print(f"[bench engine]     first error: {done.errors[0]}")
    for side, done in others.items():
        print(f"[bench engine]   {side}: {len(done.errors)} errors, {done.aggregate:.1f} tokens/s "
              f"({done.aggregate / one_rate:.2f}x one student), TTFT p50 {statistics.median(done.ttfts):.2f} s "
              f"p95 {p95(done.ttfts):.2f} s ({p95(done.ttfts) / one_answer:.1f}x one answer)")  # fmt: skip
        if done.errors:
            print(f"[bench engine]     first error: {done.errors[0]}")
    one = alone(moderated_edubot, [WORDINGS[0].format(topic) for topic in ALONE_TOPICS])
    done = classroom(moderated_edubot, worded(WORDINGS[0]))
    print(f"[bench engine]   with moderation on (the default: an answer is shown a checked sentence at a time): "
          f"one student's whole answer {one.answer:.2f} s; class {len(done.errors)} errors, {done.aggregate:.1f} "
          f"tokens/s ({done.aggregate / one.delivered:.2f}x whole answers), TTFT p50 "
          f"{statistics.median(done.ttfts):.2f} s p95 {p95(done.ttfts):.2f} s "
          f"({p95(done.ttfts) / one.answer:.1f}x one answer)")  # fmt: skip
    errors = sum(len(done.errors) for _, done in rounds) + len(done.errors)
    ratio, like_for_like, ttft = (
        statistics.median(strict),
        statistics.median(whole),
        statistics.median(ttft_ratio),
    )
    print(f"[bench engine]   medians over the rounds: aggregate {ratio:.2f}x one student's rate after the first "
          f"token ({like_for_like:.2f}x one student's whole answers, first token included, as the aggregate counts "
          f"them); p95 TTFT {ttft:.1f}x one answer")  # fmt: skip
    targets = Targets("engine")
    print(f"[bench engine]   targets: 0 errors {targets.check('0 errors', not errors)}; aggregate >= 2x one "
          f"student {targets.check('aggregate >= 2x one student', ratio >= 2)}; p95 TTFT <= 6x one answer "
          f"{targets.check('p95 TTFT <= 6x one answer', ttft <= 6)}")  # fmt: skip
    targets.assert_met()


GROUNDED_HOLDOUT = 2
"""Q&A pairs of each context kept out of the grounded class's index: the class asks those, questions the notes
answer without containing them word for word, as students' own questions are."""


def held_out_questions(taxonomy: Path) -> list[str]:
    """The questions ``GROUNDED_HOLDOUT`` keeps out of ``taxonomy``'s index, one leaf after another in turn."""
    from edubot_cli.grounding.index import TaxonomyIndex

    index = TaxonomyIndex(taxonomy, holdout=GROUNDED_HOLDOUT)
    index.refresh()
    by_leaf: dict[str, list[str]] = {}
    for held in index.held_out():
        by_leaf.setdefault(held.file, []).append(held.question.strip())
    leaves = list(by_leaf.values())
    return [leaf[i] for i in range(max(map(len, leaves))) for leaf in leaves if i < len(leaf)]


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "n/a:"


def test_a_grounded_classroom_of_32_at_once(tmp_path: Path) -> None:
    """The class, grounded in the sample taxonomy: 32 different questions on its 4 knowledge leaves at once, held
    out of the index. Twice: as served by default (``grounding_answer: quote``: a question the notes answer gets
    their sentence, the engine is not asked) and with the model writing every answer (``check``), where each
    question carries its passages and the engine reads them before the first token. Targets (the model
    writing): 0 errors, p95 first token <= 6x one grounded answer alone (measured just before), aggregate >= 1.8x
    one grounded student's tokens per second of whole answers."""
    targets = Targets("engine grounded")
    folder = tmp_path / "serve-grounded"
    folder.mkdir()
    shutil.copytree(TAXONOMY, folder / "taxonomy")
    questions = held_out_questions(folder / "taxonomy")
    class_questions, others = questions[:STUDENTS], questions[STUDENTS:]
    print(f"\n[bench engine] grounded classroom: {STUDENTS} different held-out questions of the sample taxonomy's "
          f"4 knowledge leaves at once (holdout {GROUNDED_HOLDOUT}), server max_tokens {CLASS_TOKENS}")  # fmt: skip
    for mode in ("quote", "check"):
        with serving(
            folder,
            grounding_answer=mode,
            grounding_holdout=str(GROUNDED_HOLDOUT),
            max_tokens=str(CLASS_TOKENS),
        ) as url:
            one = alone(url, others[-3:])
            done = classroom(url, class_questions)
        written = [r for r in done.runs if not r.error and (r.completion_tokens or 0) > 0]
        tokens = sum(r.completion_tokens or 0 for r in written)
        aggregate = tokens / done.wall
        prompts = sorted(r.prompt_tokens for r in written if r.prompt_tokens)
        ttft = p95(done.ttfts) / one.answer
        print(f"[bench engine]   {mode}: one grounded student alone: a whole answer in {one.answer:.2f} s "
              f"({one.delivered_tokens:.1f} tokens/s); class: {len(done.errors)} errors, {len(written)} of "
              f"{STUDENTS} answers written by the model (the rest quote the notes), TTFT p50 "
              f"{statistics.median(done.ttfts):.2f} s p95 {p95(done.ttfts):.2f} s ({ttft:.1f}x one answer), "
              f"{aggregate:.1f} model tokens/s in all ({ratio(aggregate, one.delivered_tokens)} one student), "
              f"prompt tokens p50 {statistics.median(prompts) if prompts else 0:.0f} "
              f"p95 {p95([float(p) for p in prompts]) if prompts else 0:.0f}")  # fmt: skip
        targets.check(f"0 errors ({mode})", not done.errors)
        if mode == "check":
            print(f"[bench engine]   targets (the model writing): p95 TTFT <= 6x one answer "
                  f"{targets.check('grounded p95 TTFT <= 6x one answer', ttft <= 6)}; aggregate >= 1.8x one "
                  f"student {targets.check('grounded aggregate >= 1.8x', aggregate >= 1.8 * one.delivered_tokens > 0)}")  # fmt: skip
    targets.assert_met()
