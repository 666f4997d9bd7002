"""The checkable facts of a sentence, and whether the passages hold them; the words and sentences beneath."""

from __future__ import annotations

import pytest

from edubot_cli.grounding.facts import Support, claims
from edubot_cli.grounding.words import content_stems, sentences, stem


def facts(sentence: str) -> list[tuple[str, str, list[str]]]:
    return [(f.kind, f.text, sorted(f.forms)) for f in claims(sentence)]


def test_numbers_in_digits_amounts_times_and_words() -> None:
    assert facts("It costs £18.50, leaves at 8.45am and was rebuilt twenty-five times [1].") == [
        ("number", "18.50", ["18.5", "18:50"]),  # two decimals under 60 may be a time
        ("number", "8.45am", ["8.45", "8:45"]),
        ("number", "twenty-five", ["25"]),
    ]
    assert facts("Back by 3pm, 2,500 pupils, the 12th visit.") == [
        ("number", "3pm", ["15", "15:00", "3", "3:00"]),
        ("number", "2,500", ["2500"]),
        ("number", "12th", ["12"]),
    ]


def test_one_and_first_are_not_claims() -> None:
    assert facts("One of the rules is first to stay with your buddy.") == []


def test_names_but_not_sentence_openings_or_titles() -> None:
    assert facts("Claudia Severa wrote to Sulpicia on Thursday. Mr Patel leads PE. Sure, it is.") == [
        ("name", "Claudia", ["claudia"]),
        ("name", "Severa", ["severa"]),
        ("name", "Sulpicia", ["sulpicia"]),
        ("name", "Thursday", ["thursday"]),
        ("name", "Patel", ["patel"]),
        ("name", "PE", ["pe"]),
    ]
    assert facts("- Helmets on.\n[1] Gloves too.") == []


NOTES = "The fort was rebuilt at least nine times. The trip costs £18; the coach leaves at 8:45. Dr Helen Marsh guided us."


@pytest.mark.parametrize(
    ("sentence", "missing"),
    [
        ("The fort was rebuilt 9 times.", []),  # found as a word
        ("The fort was rebuilt 12 times.", ["12"]),  # changed
        ("It costs £12.", ["12"]),
        ("The coach leaves at 8.45 am.", []),
        ("Claudia Severa invited the class.", ["Claudia", "Severa"]),  # a name missing
        ("Dr Helen Marsh's tour was fun.", []),  # a possessive
        ("The trip costs £18 [1].", []),  # a marker is not a number
    ],
)
def test_support_finds_missing_and_changed_facts(sentence: str, missing: list[str]) -> None:
    assert [f.text for f in Support.of([NOTES]).unsupported(sentence)] == missing


def test_stems_and_sentences() -> None:
    assert {stem(w) for w in ["close", "closes", "closed"]} == {"clos"}
    assert stem("berries") == "berry" and stem("Sam's") == "sam"
    assert content_stems("How many tickets can one get?") == {"ticket"}
    assert sentences(
        "Mr. Patel paid £8.50. Then we left!\n\nNext line,\nwrapped\n- an item\nQ: Why?\nA: So."
    ) == [
        "Mr. Patel paid £8.50.",
        "Then we left!",
        "Next line,\nwrapped",
        "- an item",
        "Q: Why?",
        "A: So.",
    ]
