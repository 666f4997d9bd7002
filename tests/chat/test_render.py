"""Rendering answers: finished markdown blocks, plain text, the status line."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from edubot_cli.chat.render import AnswerView, split_blocks, status_text
from edubot_cli.chat.session import AnswerStats


@pytest.mark.parametrize(
    ("text", "blocks", "rest"),
    [
        ("Hello wor", [], "Hello wor"),
        ("Para one.\n\nPara", ["Para one."], "Para"),
        ("Para one.\n\n", [], "Para one.\n\n"),  # the next block has not begun: it might be indented
        ("# T\n\nA\n\nB", ["# T", "A"], "B"),
        ("```py\nx = 1\n\ny = 2\n```\n\nDone", ["```py\nx = 1\n\ny = 2\n```"], "Done"),
        ("```py\nx = 1\n\ny", [], "```py\nx = 1\n\ny"),  # inside an open fence nothing is final
        ("- a\n\n  more of a\n\nNext", ["- a\n\n  more of a"], "Next"),
        ("A\n\n\n\nB", ["A"], "B"),
        ("~~~~\n```\n\n~~~~\n\nZ", ["~~~~\n```\n\n~~~~"], "Z"),
    ],
)
def test_split_blocks(text: str, blocks: list[str], rest: str) -> None:
    found, offset = split_blocks(text)
    assert found == blocks
    assert text[offset:] == rest


def test_status_text() -> None:
    assert (
        status_text(AnswerStats(42, 35.14, 0.214, 1.4))
        == "42 tokens · 35.1 tokens/s · first token 0.21 s · 1.40 s"
    )
    assert status_text(AnswerStats(1, None, None, 0.5), stopped=True) == "1 token · 0.50 s · stopped"
    assert status_text(AnswerStats(9), truncated=True) == "9 tokens · cut at the token limit (/max)"
    assert status_text(AnswerStats(), stopped=True, truncated=True) == "stopped"


def console(width: int = 60) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)


ANSWER = [
    "# Fractions\n\n",
    "A **fraction** is",
    " part of a whole.\n\n",
    "```python\n",
    "print(1/2)\n",
    "```\n\n",
]
ANSWER += ["- half\n", "- quarter"]


def test_markdown_view_prints_each_block_once_without_trailing_spaces() -> None:
    out = console()
    view = AnswerView(out, plain=False)
    view.start()
    for delta in ANSWER:
        view.add(delta)
    view.finish(AnswerStats(8, 20.0, 0.1, 0.5))
    assert out.file.getvalue() == (  # type: ignore[attr-defined]
        "Fractions\n"
        "\n"
        "A fraction is part of a whole.\n"
        "\n"
        "print(1/2)\n"
        "\n"
        " • half\n"
        " • quarter\n"
        "8 tokens · 20.0 tokens/s · first token 0.10 s · 0.50 s\n"
    )


def test_plain_view_prints_the_raw_text_and_can_skip_the_status_line() -> None:
    out = console()
    view = AnswerView(out, plain=True, status=False)
    view.start()
    for delta in ANSWER:
        view.add(delta)
    view.finish(AnswerStats(8, 20.0, 0.1, 0.5))
    assert out.file.getvalue() == "".join(ANSWER) + "\n"  # type: ignore[attr-defined]


def test_stopped_answer_is_marked() -> None:
    out = console()
    view = AnswerView(out, plain=True)
    view.start()
    view.add("Half an ans")
    view.finish(AnswerStats(3, None, 0.1, 0.2), stopped=True)
    assert out.file.getvalue() == "Half an ans\n3 tokens · first token 0.10 s · 0.20 s · stopped\n"  # type: ignore[attr-defined]


def test_ctrl_c_is_held_back_while_the_live_view_starts_or_stops() -> None:
    import os
    import signal

    from edubot_cli.chat.render import deferred_interrupt

    reached_the_end = False
    with pytest.raises(KeyboardInterrupt), deferred_interrupt():
        os.kill(os.getpid(), signal.SIGINT)
        reached_the_end = True
    assert reached_the_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
