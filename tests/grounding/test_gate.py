"""The answer gate: faithful or flagged, no leaks, no loops, whole sentences; and the quote it falls back on."""

from __future__ import annotations

import pytest

from edubot_cli.grounding.gate import LENGTH_NOTE, NOT_FOUND, Gate
from edubot_cli.grounding.quote import Quote, best_quote, wanted_facts

TRIP = (
    1,
    "The coach leaves the Elm Road gate at 8:05. It reaches Vindolanda at 10:30. The fort was rebuilt at least "
    "nine times, each new fort on top of the old one. The trip costs £18, paid on ParentPay by 6 March.",
)
LIBRARY = (
    2,
    "The Gaunt Library is on the first floor of Block A. Pupils may borrow up to four books at a time. "
    "On Friday the library closes at 3:30.",
)
WHY = "Why was the fort rebuilt so often?"


def streamed(gate: Gate, answer: str, finish: str | None = "stop", step: int = 3) -> str:
    """``answer`` fed to ``gate`` a few characters at a time, as an engine streams it, then finished."""
    shown = "".join(gate.feed(answer[i : i + step]) for i in range(0, len(answer), step))
    return shown + gate.finish(finish)


def test_an_answer_whose_facts_the_notes_hold_is_checked_and_cited() -> None:
    gate = Gate(WHY, [TRIP])
    assert streamed(
        gate, "The fort was rebuilt at least nine times. Each fort was built on the old one."
    ) == ("The fort was rebuilt at least nine times [1]. Each fort was built on the old one [1].")
    assert (gate.faithfulness, gate.stopped, gate.unsupported) == ("checked", False, [])


def test_a_changed_number_stops_the_engine_and_the_material_is_quoted() -> None:
    gate = Gate(WHY, [TRIP])
    assert streamed(gate, "The fort was rebuilt 12 times. It was wet.") == (
        "From your class notes: “The fort was rebuilt at least nine times, each new fort on top of the old "
        "one.” [1]"
    )
    assert gate.faithfulness == "quoted" and gate.stopped
    assert [f.text for f in gate.unsupported] == ["12"]


def test_a_missing_name_after_a_checked_sentence_is_repaired() -> None:
    gate = Gate(WHY, [TRIP])
    answer = "The fort was rebuilt nine times [1]. The guide, Robin Birley, said so."
    assert streamed(gate, answer) == (
        "The fort was rebuilt nine times [1]. \n\nFrom your class notes: “The fort was rebuilt at least nine "
        "times, each new fort on top of the old one.” [1]"
    )
    assert gate.faithfulness == "repaired"
    assert [f.text for f in gate.unsupported] == ["Robin", "Birley"]


def test_the_right_passage_with_the_wrong_fact_fails() -> None:
    # 10:30 is in the notes, but the sentence the answer paraphrases (sharing the most words) says 8:05
    gate = Gate("Tell me about the coach from the Elm Road gate.", [TRIP])
    assert streamed(gate, "The coach leaves the Elm Road gate at 10:30.").startswith("From your class notes:")
    assert [f.text for f in gate.unsupported] == ["10:30"]


def test_off_and_ungrounded_answers_are_unchecked_and_flow_at_once() -> None:
    for gate in (Gate(WHY, [TRIP], mode="model"), Gate(check=False), Gate(WHY, [])):
        assert gate.feed("It was rebuilt 12") == "It was rebuilt 12"
        assert gate.finish("stop") == ""
        assert gate.faithfulness == "unchecked"


def test_words_that_draw_on_nothing_wait_and_give_way_to_the_quote() -> None:
    gate = Gate(WHY, [TRIP])
    assert gate.feed("Sure! ") == ""
    assert streamed(gate, "I do not know.") == (
        "From your class notes: “The fort was rebuilt at least nine times, each new fort on top of the old "
        "one.” [1]"
    )
    gate = Gate(WHY, [TRIP])
    assert streamed(gate, "Great question! The fort was rebuilt on the old one.") == (
        "Great question! The fort was rebuilt on the old one [1]."
    )


@pytest.mark.parametrize(
    "leak",
    [
        "Notes:\n[1] The coach",
        "The passage you requested is: the fort.",
        "Question: why?",
        "[1] Vindolanda trip: The coach leaves.",
        "See knowledge/northbrook/year8_vindolanda_trip for more.",
    ],
)
def test_scaffolding_is_cut_with_all_that_follows(leak: str) -> None:
    gate = Gate(WHY, [TRIP])
    answer = f"The fort was rebuilt nine times. {leak} More text."
    assert streamed(gate, answer) == "The fort was rebuilt nine times [1]. "
    assert gate.stopped and gate.faithfulness == "checked"


def test_markers_beyond_the_sources_are_removed() -> None:
    gate = Gate(WHY, [TRIP])
    assert streamed(gate, "The fort was rebuilt nine times [7].") == "The fort was rebuilt nine times [1]."


def test_a_repeated_sentence_stops_the_engine() -> None:
    gate = Gate(WHY, [TRIP])
    answer = "The fort was rebuilt nine times. The fort was rebuilt nine times. The fort"
    assert streamed(gate, answer, finish=None) == "The fort was rebuilt nine times [1]. "
    assert gate.stopped
    ungrounded = Gate(check=False)
    assert ungrounded.feed("Hi there. Hi there. ") == "Hi there. Hi there. "
    assert ungrounded.stopped


def test_a_looping_sentence_without_an_end_is_a_runaway() -> None:
    gate = Gate(WHY, [TRIP])
    assert streamed(gate, "The fort was rebuilt " + "every year, " * 30) == (
        "From your class notes: “The fort was rebuilt at least nine times, each new fort on top of the old "
        "one.” [1]"
    )
    assert gate.stopped


def test_an_answer_cut_by_the_length_limit_ends_at_a_sentence_and_says_so() -> None:
    gate = Gate(WHY, [TRIP])
    assert streamed(gate, "The fort was rebuilt nine times. Each new fort was", finish="length") == (
        "The fort was rebuilt nine times [1]. " + LENGTH_NOTE
    )
    assert gate.truncated
    ungrounded = Gate(check=False)
    assert (
        ungrounded.run("Roots drink water. They also", "length")
        == "Roots drink water. They also" + LENGTH_NOTE
    )


def test_a_failed_answer_with_no_sentence_to_quote_says_so() -> None:
    gate = Gate("Who painted the hall?", [LIBRARY])
    assert streamed(gate, "The hall was painted by Picasso.") == NOT_FOUND
    assert gate.faithfulness == "repaired"


def test_questions_a_sentence_answers_are_answered_from_the_material() -> None:
    for mode in ("quote", "check"):
        gate = Gate("How much does the trip cost?", [TRIP, LIBRARY], mode=mode)
        assert (
            gate.direct() == "From your class notes: “The trip costs £18, paid on ParentPay by 6 March.” [1]"
        )
        assert gate.faithfulness == "quoted"
    assert Gate("How much does the trip cost?", [TRIP], mode="model").direct() is None
    assert Gate(WHY, [TRIP], mode="check").direct() is None  # not a factoid question
    assert Gate(WHY, [TRIP]).direct() == (  # quote mode: any question a sentence answers
        "From your class notes: “The fort was rebuilt at least nine times, each new fort on top of the old "
        "one.” [1]"
    )
    assert Gate("Who painted the hall?", [LIBRARY]).direct() is None  # no sentence to quote


def test_a_wrong_fact_of_the_kind_asked_fails_even_when_the_notes_hold_it() -> None:
    gate = Gate("At what time does the library close on Friday?", [LIBRARY, TRIP])
    assert streamed(gate, "The library closes at 10:30 on Friday.") == (
        "From your class notes: “On Friday the library closes at 3:30.” [2]"
    )


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("How much is an adult ticket?", ("money",)),
        ("At what time does the coach leave?", ("time",)),
        ("When is Sports Day?", ("date", "time")),
        ("In which year did she become head?", ("date",)),
        ("How many books can I borrow?", ("count",)),
        ("Who is the piano soloist?", ("name",)),
        ("Which room does the club meet in?", ("place",)),
        ("Why do leaves look green?", ()),
    ],
)
def test_the_kind_of_fact_a_question_asks_for(question: str, kinds: tuple[str, ...]) -> None:
    assert wanted_facts(question) == kinds


def test_the_quote_prefers_rare_shared_words_and_the_kind_asked_for() -> None:
    concert = (
        1,
        "The Spring Concert is on Thursday 19 March at 7:00 pm in the Sports Hall. Adult tickets cost £6 and "
        "pupils pay £3. The Spring Concert ends by 9:00.",
    )
    assert best_quote("How much is an adult ticket for the Spring Concert?", [concert]) == Quote(
        1, "Adult tickets cost £6 and pupils pay £3."
    )
    assert best_quote("What is the capital of Peru?", [concert]) is None
    wrapped = (2, "The trip costs £18 per pupil, paid\non ParentPay. The coach leaves at 8:05.")
    assert best_quote("How much does the trip cost?", [wrapped]) == Quote(
        2, "The trip costs £18 per pupil, paid on ParentPay."
    )
    assert best_quote("anything", []) is None
