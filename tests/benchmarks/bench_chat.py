"""Terminal chat rendering cost for one long streamed answer: the live markdown view (finished blocks printed
once, only the block being written redrawn) next to plain text and next to redrawing the whole answer as markdown
on every refresh (what a naive live markdown view does). Printed as ms per answer and ratios, same run."""

from __future__ import annotations

import io
import statistics
import time

from rich.console import Console
from rich.live import Live

from edubot_cli.chat.render import AnswerMarkdown, AnswerView

RUNS = 3
PARAGRAPH = (
    "Photosynthesis turns **light**, water and carbon dioxide into sugar and oxygen. "
    "It happens in the `chloroplasts` of plant cells.\n\n"
    "- light reactions\n- the Calvin cycle\n\n"
    "```python\nenergy = light * efficiency\nprint(energy)\n```\n\n"
)
ANSWER = PARAGRAPH * 20  # ~ 1,600 tokens of mixed markdown
DELTAS = [ANSWER[i : i + 4] for i in range(0, len(ANSWER), 4)]  # ~ one token per delta


def terminal() -> Console:
    return Console(file=io.StringIO(), width=100, height=40, force_terminal=True, color_system="truecolor")


def view(plain: bool) -> None:
    answer = AnswerView(terminal(), plain=plain)
    answer.start()
    for delta in DELTAS:
        answer.add(delta)
        answer._last_refresh = 0.0  # refresh on every delta: the worst case, independent of the clock
    answer.finish(None)


def naive() -> None:
    console = terminal()
    text = ""
    with Live(console=console, auto_refresh=False, vertical_overflow="visible") as live:
        for delta in DELTAS:
            text += delta
            live.update(AnswerMarkdown(text), refresh=True)


def median_ms(work: object) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def test_render_cost_per_answer() -> None:
    plain = median_ms(lambda: view(plain=True))
    blocks = median_ms(lambda: view(plain=False))
    whole = median_ms(naive)
    print(f"\n[bench chat] answer: {len(ANSWER)} characters in {len(DELTAS)} deltas, a redraw after each")
    print(f"[bench chat] plain text                 median {plain:8.1f} ms")
    print(f"[bench chat] live markdown (blocks)     median {blocks:8.1f} ms  ({blocks / plain:.1f}x plain)")
    print(
        f"[bench chat] redraw whole answer        median {whole:8.1f} ms  ({whole / blocks:.1f}x the block view)"
    )
    per_redraw = blocks / len(DELTAS)
    print(
        f"[bench chat] block view: {per_redraw:.2f} ms per redraw (the chat redraws at most 12 times a second)"
    )
