"""``AnswerFilter``: a model's answer released sentence by sentence; a sentence that fails is never shown, not
even in part, whatever the pieces the engine streams it in."""

from __future__ import annotations

from edubot_cli.safety.moderation import REPLACEMENT, AnswerFilter, check_answer


def stream(answer: str, pieces: list[str]) -> tuple[list[str], str]:
    """Feed ``pieces`` one by one; what was released after each, and the rest at the end."""
    answer_filter = AnswerFilter()
    released = [answer_filter.feed(piece) for piece in pieces]
    return released, answer_filter.finish()


def test_a_flagged_sentence_is_never_released_fed_character_by_character() -> None:
    answer = "Plants make food from light. You should kill yourself. Leaves are green."
    answer_filter = AnswerFilter()
    shown = ""
    for char in answer:
        shown += answer_filter.feed(char)
        assert "kill" not in shown and "You should" not in shown
    shown += answer_filter.finish()
    assert shown == f"Plants make food from light. {REPLACEMENT} "
    assert answer_filter.stopped  # a high flag stops the engine: the rest would not be shown anyway
    assert [f.rule for f in answer_filter.flags] == ["harassment.insult", "self_harm.encourage"]


def test_every_way_of_cutting_the_stream_gives_the_same_answer() -> None:
    answer = "Sure! This is fucking great. Water boils at 100 degrees. Ice melts at 0 degrees."
    expected = f"Sure! {REPLACEMENT} Water boils at 100 degrees. Ice melts at 0 degrees."
    for size in range(1, len(answer) + 1):
        pieces = [answer[i : i + size] for i in range(0, len(answer), size)]
        released, tail = stream(answer, pieces)
        assert "".join(released) + tail == expected, size
        assert all("fuck" not in piece for piece in released)


def test_the_current_sentence_is_held_back_until_it_ends() -> None:
    answer_filter = AnswerFilter()
    assert answer_filter.feed("Photosynthesis happens") == ""
    assert answer_filter.feed(" in leaves. It") == "Photosynthesis happens in leaves. "
    assert answer_filter.feed(" needs light") == ""
    assert answer_filter.finish() == "It needs light"
    assert (answer_filter.flags, answer_filter.replaced, answer_filter.stopped) == ([], 0, False)


def test_a_run_of_failing_sentences_is_replaced_once_and_two_stop_the_answer() -> None:
    answer_filter = AnswerFilter()
    out = answer_filter.run("Hi. You are so stupid. You are an idiot. More text.")
    assert out == f"Hi. {REPLACEMENT} "
    assert (answer_filter.replaced, answer_filter.stopped) == (2, True)
    assert answer_filter.feed("Anything else.") == ""


def test_what_answers_may_say() -> None:
    fine = [
        "Millions of people died in the war.",
        "Romeo kills himself with poison.",
        "If you are thinking about self-harm, talk to a trusted adult today.",
        "Damn, that is a good question.",
        "Call the school office on 01632 960123.",
        "Humans reproduce sexually: a sperm cell fertilises an egg cell.",
    ]
    assert [check_answer(s).flags for s in fine] == [()] * len(fine)
    assert [
        check_answer(s).labels for s in ("Take 20 pills.", "Here is a sexy story.", "You are so stupid.")
    ] == [
        ["self_harm:high"],
        ["sexual:medium"],
        ["harassment:medium"],
    ]
