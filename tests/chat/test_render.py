"""Rendering answers: finished markdown blocks, plain text, the status line."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from edubot_cli.chat.render import AnswerView, WaitingNotice, split_blocks, status_text, waiting_text
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
    assert status_text(AnswerStats(0, 0.0, 0.004, 0.004)) == "quoted from your notes · 0.00 s"
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


def screen(raw: str) -> list[str]:
    """What a terminal shows after ``raw``: text, CR, LF, cursor up and erase line (what Rich's live display uses)."""
    import re

    lines, row, col = [""], 0, 0
    for token in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)", raw):
        if token == "\n":
            row, col = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        elif token == "\r":
            col = 0
        elif token.startswith("\x1b["):
            if token[-1] == "A":
                row = max(0, row - int(token[2:-1] or 1))
            elif token == "\x1b[2K":
                lines[row] = ""
        elif token:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    text = [line.rstrip() for line in lines]
    while text and not text[-1]:
        text.pop()
    return text


def terminal(width: int = 60) -> Console:
    return Console(file=io.StringIO(), width=width, height=20, force_terminal=True, color_system=None)


def test_waiting_text() -> None:
    assert waiting_text(0) == "waiting for a free slot"
    assert waiting_text(1) == "waiting, 1 ahead"
    assert waiting_text(12) == "waiting, 12 ahead"


def test_waiting_shows_in_the_live_display_and_is_gone_with_the_first_token() -> None:
    out = terminal()
    view = AnswerView(out, plain=False)
    view.start()
    view.waiting(2)
    assert screen(out.file.getvalue()) == ["waiting, 2 ahead"]  # type: ignore[attr-defined]
    view.waiting(0)
    assert screen(out.file.getvalue()) == ["waiting for a free slot"]  # type: ignore[attr-defined]
    view.add("Para one.\n\n")
    view.add("Para")
    view.waiting(5)  # too late: the answer has begun
    view.add(" two.")
    view.finish(AnswerStats(3))
    assert "waiting, 5 ahead" not in out.file.getvalue()  # type: ignore[attr-defined]
    assert screen(out.file.getvalue()) == ["Para one.", "", "Para two.", "3 tokens"]  # type: ignore[attr-defined]


def test_waiting_then_stopped_leaves_nothing_behind() -> None:
    out = terminal()
    view = AnswerView(out, plain=False)
    view.start()
    view.waiting(1)
    view.finish(None)  # Ctrl-C before the first token
    assert "waiting, 1 ahead" in out.file.getvalue()  # type: ignore[attr-defined]
    assert screen(out.file.getvalue()) == []  # type: ignore[attr-defined]


def test_waiting_is_never_part_of_a_non_terminal_answer() -> None:
    out = console()
    view = AnswerView(out, plain=False)
    view.start()
    view.waiting(3)
    view.add("Done.")
    view.finish(AnswerStats(1))
    assert out.file.getvalue() == "Done.\n1 token\n"  # type: ignore[attr-defined]


def test_plain_view_sends_waiting_to_its_notice_console_one_line_per_change() -> None:
    out, notices = console(), console()
    view = AnswerView(out, plain=True, status=False, notices=notices)
    view.start()
    for ahead in (2, 2, 1, 0):
        view.waiting(ahead)
    view.add("The answer.")
    view.waiting(0)
    view.finish(AnswerStats(1))
    assert out.file.getvalue() == "The answer.\n"  # type: ignore[attr-defined]
    assert notices.file.getvalue() == "waiting, 2 ahead\nwaiting, 1 ahead\nwaiting for a free slot\n"  # type: ignore[attr-defined]


def test_plain_view_without_a_notice_console_shows_no_waiting() -> None:
    out = console()
    view = AnswerView(out, plain=True, status=False)
    view.start()
    view.waiting(1)
    view.add("x")
    view.finish(None)
    assert out.file.getvalue() == "x\n"  # type: ignore[attr-defined]


def test_notice_on_a_terminal_is_redrawn_in_place_and_erased() -> None:
    err = terminal()
    notice = WaitingNotice(err)
    notice.show(3)
    notice.show(2)
    assert screen(err.file.getvalue()) == ["waiting, 2 ahead"]  # type: ignore[attr-defined]
    notice.clear()
    assert screen(err.file.getvalue()) == []  # type: ignore[attr-defined]
    notice.clear()  # twice is harmless


def test_a_waiting_markdown_view_with_a_notice_console_keeps_stdout_clean() -> None:
    out, err = terminal(), terminal()
    view = AnswerView(out, plain=False, status=False, notices=err)
    view.start()
    view.waiting(0)
    assert out.file.getvalue() == ""  # type: ignore[attr-defined]  # the live display has not started yet
    assert screen(err.file.getvalue()) == ["waiting for a free slot"]  # type: ignore[attr-defined]
    view.add("**Bold** answer")
    assert screen(err.file.getvalue()) == []  # type: ignore[attr-defined]
    view.finish(None)
    assert screen(out.file.getvalue()) == ["Bold answer"]  # type: ignore[attr-defined]
