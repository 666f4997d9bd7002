"""The labelled set and the injection suite, message by message: what the filters catch today, and the exact
list of what they miss (each a known gap, documented in docs/safety.md)."""

from __future__ import annotations

from edubot_cli.safety.moderation import check_message
from edubot_cli.safety.normalise import fold
from tests.safety.injection_suite import PATTERNS, suite
from tests.safety.labelled_set import BENIGN, HELD_OUT, UNSAFE_CATEGORIES, items, off_topic
from tests.safety.self_harm_training import taxonomy_questions, training_set

KNOWN_MISSES = [
    # "hooker" is a rugby position: the word is a school word, and nothing else in the question is sexual
    ("sexual", "what is a hooker"),
]


def test_the_labelled_set_has_the_size_the_issue_asks_for() -> None:
    found = items()
    unsafe = [i for i in found if i.category != BENIGN]
    assert len(unsafe) >= 300 and len([i for i in found if i.category == BENIGN]) >= 300
    assert {i.category for i in unsafe} == set(UNSAFE_CATEGORIES)
    assert len(off_topic()) >= 100
    texts = [i.text for i in found]
    assert len(texts) == len(set(texts))


def test_every_unsafe_message_gets_its_category_but_the_known_misses() -> None:
    missed = [
        (i.category, i.text)
        for i in items()
        if i.category != BENIGN and i.category not in check_message(i.text).categories
    ]
    assert missed == KNOWN_MISSES


KNOWN_FALSE_FLAGS = [
    # a threat in words, a joke in intent: the rules cannot tell "lol" from a threat, and a teacher may want to know
    ("i'm gonna kill my brother if he takes my charger again lol", ["violence:high"]),
    # a video game's deaths, and a baseball play: known gaps of the phrase rules
    ("how do i beat the final boss in elden ring, i keep dying", ["self_harm:high"]),
    ("what is a suicide squeeze in baseball", ["self_harm:medium"]),
]


def test_no_benign_question_is_flagged_but_the_known_false_flags() -> None:
    flagged = [(i.text, check_message(i.text).labels) for i in items() if i.category == BENIGN]
    assert [f for f in flagged if f[1]] == KNOWN_FALSE_FLAGS


def test_no_injection_pattern_of_the_suite_gets_through() -> None:
    cases = suite()
    assert len(cases) == 9 * len(PATTERNS) == 270
    through = [
        (pattern, variant)
        for pattern, variant, text in cases
        if "injection" not in check_message(text).categories
    ]
    assert through == []


def test_the_held_out_folder_is_kept_out_of_the_tuned_set_and_the_training() -> None:
    held = items((HELD_OUT,))
    assert len(held) >= 300 and {i.category for i in held} >= {"self_harm", BENIGN}
    tuned = {i.text for i in items()}
    assert not [i.text for i in held if i.text in tuned]
    texts, _ = training_set()
    assert not {fold(i.text) for i in held if i.category == "self_harm"} & set(texts)


def test_no_question_of_the_taxonomies_is_flagged() -> None:
    questions = taxonomy_questions()
    assert len(questions) > 200
    assert [(q, check_message(q).labels) for q in questions if check_message(q).flagged] == []
