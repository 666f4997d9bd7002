"""The verdict per answer (right, partly, wrong) from the metrics, and the factoid questions."""

from __future__ import annotations

import pytest

from edubot_cli.assessment.questions import Question
from edubot_cli.assessment.verdict import is_factoid, says_not_covered, verdict
from edubot_cli.evaluation.run import score

COACH_Q = "When does the coach leave for the field trip, and what does it cost?"
COACH = "The coach leaves the school gate at 8:45 and the trip costs 12 pounds."
LEADERS_Q = "Who are the group leaders on the trip?"
LEADERS = "The group leaders are Mr Patel, Ms Hughes and the centre's guide, Jo Carter."
SUMS_Q = "Sam has 2.50 euros. Maria gives Sam 1.25 euros. How much does Sam have now?"
SUMS = "Sam has 2.50 + 1.25 = 3.75 euros."
RESP_Q = "Do plants carry out cellular respiration?"
RESP = "Yes. Cellular respiration happens in the mitochondria of both plants and animals, so plants both store and release energy."


def question(text: str, reference: str) -> Question:
    return Question("k/leaf", "k/leaf/qna.yaml", 1, "knowledge", "x", "x", text, reference)


def judged(text: str, reference: str, answer: str) -> str | None:
    return score(question(text, reference), answer, None).verdict


@pytest.mark.parametrize(
    ("reference", "asked", "answer", "expected"),
    [
        # every number present (8:45 is two numbers) and most content words: right
        (COACH, COACH_Q, "It leaves the school gate at 8:45, and the trip costs 12 pounds.", "right"),
        # one number changed: not every number is there
        (COACH, COACH_Q, "It leaves the school gate at 8:30, and the trip costs 12 pounds.", "partly"),
        # the numbers alone answer it: numbers are words of the recall too (half of the new ones here)
        (COACH, COACH_Q, "8:45, 12.", "right"),
        (COACH, COACH_Q, "At 8:45.", "partly"),
        # every name
        (LEADERS, LEADERS_Q, "Mr Patel, Ms Hughes and Jo Carter, the centre's guide.", "right"),
        # a name missing
        (LEADERS, LEADERS_Q, "Mr Patel, Ms Hughes and the centre's guide.", "partly"),
        # none of the names, no content word
        (LEADERS, LEADERS_Q, "The teachers of the school.", "wrong"),
        # the question's own numbers need not be repeated: the result is the answer
        (SUMS, SUMS_Q, "Sam has 3.75 euros now.", "right"),
        (SUMS, SUMS_Q, "Sam has 4 euros.", "wrong"),
        # "not covered" answers are wrong whatever they repeat
        (COACH, COACH_Q, "The passages do not cover when the coach leaves at 8:45.", "wrong"),
        (LEADERS, LEADERS_Q, "I don't know who Mr Patel, Ms Hughes and Jo Carter are.", "wrong"),
        (COACH, COACH_Q, "", "wrong"),
        # a yes/no question answered the other way round, whatever words it repeats
        (RESP, RESP_Q, "No, plants do not carry out cellular respiration in their mitochondria.", "wrong"),
        (RESP, RESP_Q, "Yes: in the mitochondria, where plants and animals release stored energy.", "right"),
        (RESP, RESP_Q, "Not only animals: plants store and release energy in mitochondria.", "right"),
        # no number and no name in the reference: recall decides (0.5 right, 0.25 partly)
        ("Roots take up water and minerals.", "What do roots take up from the soil?", "Water and minerals.", "right"),
        ("Roots take up water and minerals.", "What do roots take up from the soil?", "Minerals [1].", "right"),
        ("Roots take up water, minerals, sugar and salt.", "What do roots take up?", "Water.", "partly"),
        ("Roots take up water, minerals, sugar, salt and air.", "What do roots take up?", "Water.", "wrong"),
    ],
)  # fmt: skip
def test_verdicts(reference: str, asked: str, answer: str, expected: str) -> None:
    assert judged(asked, reference, answer) == expected


def test_the_thresholds_are_inclusive() -> None:
    assert verdict("x", content_recall=0.5, numbers=None, names=None, f1=0.0) == "right"
    assert verdict("x", content_recall=0.4999, numbers=None, names=None, f1=0.0) == "partly"
    assert verdict("x", content_recall=0.25, numbers=None, names=None, f1=0.0) == "partly"
    assert verdict("x", content_recall=0.2499, numbers=None, names=None, f1=0.0) == "wrong"
    assert verdict("x", content_recall=0.9, numbers=0.5, names=None, f1=0.0) == "partly"
    assert verdict("x", content_recall=0.0, numbers=0.5, names=None, f1=0.0) == "partly"
    assert verdict("x", content_recall=0.0, numbers=None, names=0.5, f1=0.0) == "partly"
    assert verdict("x", content_recall=0.9, numbers=1.0, names=1.0, f1=0.0) == "right"
    # a reference without content words: token F1 stands in for the recall
    assert verdict("x", content_recall=None, numbers=None, names=None, f1=0.5) == "right"
    assert verdict("x", content_recall=None, numbers=None, names=None, f1=0.1) == "wrong"


@pytest.mark.parametrize(
    "answer",
    [
        "The passages do not cover this question.",
        "The passages don't cover it.",
        "The passage does not mention the time.",
        "This is not covered in the passages.",
        "That isn't mentioned.",
        "There is no information about the coach.",
        "I do not know.",
        "I'm sorry, but I cannot answer that from the passages.",
        "The notes doesn’t say.",
    ],
)
def test_not_covered_answers(answer: str) -> None:
    assert says_not_covered(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "Roots take up water and minerals [1].",
        "Children must not step into the pond.",
        "Stay where you are if you do not know the way.",
        "The coach leaves at 8:45; do not be late.",
    ],
)
def test_answers_that_do_not_say_so(answer: str) -> None:
    assert not says_not_covered(answer)


@pytest.mark.parametrize(
    ("text", "factoid"),
    [
        ("How many children are in each group on the trip?", True),
        ("How much does the field trip cost?", True),
        ("When does the coach leave for the field trip?", True),
        ("Who carries the first aid kit?", True),
        ("Which gas do plants take in?", True),
        ("At what time does the coach leave?", True),
        ("In which month are the seeds sown?", True),
        ("How long can a pond animal stay in the tray?", True),
        ("Sam has 2.50 euros.\n\nMaria gives Sam 1.25 euros. How much does Sam have now?", True),
        ("Why must nobody step into the pond, even in wellies?", False),
        ("What is thrown into the air when a volcano erupts?", False),
        ("What must every child bring on the field trip?", False),
        ("Explain how the water cycle works.", False),
        ("Whoever finds a frog, what should they do?", False),
        ("", False),
    ],
)
def test_factoid_questions(text: str, factoid: bool) -> None:
    assert is_factoid(text) is factoid


def test_a_name_the_question_gives_is_no_evidence() -> None:
    asked = "Where is most of the Earth's fresh water held?"
    reference = "Most of the Earth's fresh water is frozen in glaciers and ice caps."
    assert judged(asked, reference, "The Earth's fresh water is held in the oceans.") == "wrong"
    assert judged(asked, reference, "In glaciers and ice caps.") == "right"
