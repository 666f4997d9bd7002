"""The eval metrics on fixed strings: words, token F1, content-word recall, numbers, names, right leaf cited."""

from __future__ import annotations

import pytest

from edubot_cli.assessment.metrics import (
    cited_leaf,
    content_recall,
    content_words,
    names,
    names_found,
    numbers,
    numbers_found,
    strip_citations,
    token_f1,
    words,
)

OXYGEN_Q = "What gas is released as a by-product of photosynthesis?"
OXYGEN_REF = "Oxygen is released as a by-product of photosynthesis."


def test_words_are_folded_split_and_normalised() -> None:
    assert words("The Calvin cycle's STAGES, [1] cost 2.50 and 1,000 berries; café glass stomata!") == [
        "the", "calvin", "cycle", "s", "stage", "cost", "2.5", "and", "1000", "berry", "cafe", "glass", "stomata",
    ]  # fmt: skip
    assert words("Light-dependent reactions [2, 3] in CO2") == ["light", "dependent", "reaction", "in", "co2"]
    assert words("") == []
    assert words("?!… — [1]") == []


def test_citation_markers_are_removed() -> None:
    assert strip_citations("Roots [1] take up water [2, 3][4; 5].") == "Roots take up water."
    assert strip_citations("a list [x] and [ ] stay") == "a list [x] and [ ] stay"


def test_content_words_drop_stop_words() -> None:
    assert content_words("The two stages are the light-dependent reactions and the Calvin cycle.") == {
        "two", "stage", "light", "dependent", "reaction", "calvin", "cycle",
    }  # fmt: skip


def test_token_f1() -> None:
    # 3 shared words; precision 3/3, recall 3/5
    assert token_f1("the Calvin cycle", "The Calvin cycle and light") == pytest.approx(0.75)
    # shared: roots, water (2 of 4 answer words, 2 of 5 reference words): F1 = 2 * 0.5 * 0.4 / 0.9
    assert token_f1("Roots drink water daily", "Roots take up water quickly") == pytest.approx(4 / 9)
    assert token_f1("Roots take up water.", "roots TAKE up, water!") == 1.0
    assert token_f1("Roots [1] take up water.", "Roots take up water") == 1.0
    assert token_f1("water water water", "water") == pytest.approx(0.5)  # precision 1/3, recall 1
    assert token_f1("nothing shared", "Roots take up water") == 0.0


def test_token_f1_of_empty_texts() -> None:
    assert token_f1("", "") == 1.0
    assert token_f1("", "Oxygen.") == 0.0
    assert token_f1("Oxygen.", "") == 0.0
    assert token_f1("?!", "...") == 1.0  # no words on either side


def test_content_recall_leaves_out_the_question_words() -> None:
    assert content_recall("Oxygen.", OXYGEN_REF, OXYGEN_Q) == 1.0
    assert content_recall("Carbon dioxide is released as a by-product.", OXYGEN_REF, OXYGEN_Q) == 0.0
    # without the question every content word counts: oxygen, released, product, photosynthesis
    assert content_recall("Oxygen.", OXYGEN_REF) == 0.25
    assert content_recall("OXYGEN!!! [1]", OXYGEN_REF, OXYGEN_Q) == 1.0


def test_content_recall_edge_cases() -> None:
    assert content_recall("", OXYGEN_REF, OXYGEN_Q) == 0.0
    assert content_recall("anything", "It is that.") is None  # no content word in the reference
    # the question holds every content word of the reference: all of them count
    assert content_recall("roots", "Roots drink.", "Do roots drink?") == 0.5
    assert content_recall("The leaves absorb light", "Leaves absorb the light.") == 1.0  # plural folded


def test_numbers() -> None:
    assert numbers("Sam pays 2.50 euros, 1,000 times at 8:45 in 2024 [1]; CO2 7.0. And 3,4.") == [
        "2.5", "1000", "8", "45", "2024", "7", "3", "4",
    ]  # fmt: skip
    assert numbers("no digits here") == []


def test_numbers_found() -> None:
    assert numbers_found("It costs 2.5 euros", "It costs 2.50 euros in 2024") == 0.5
    assert numbers_found("In 2024 it cost 2.50.", "It costs 2.50 euros in 2024") == 1.0
    assert numbers_found("", "In 2024") == 0.0
    assert numbers_found("only [1] a marker", "Chapter 1") == 0.0
    assert numbers_found("12 apples", "a dozen apples") is None


def test_names() -> None:
    text = (
        'The Calvin cycle uses ATP. Maria said "Hello" to Sam. I think so.\nStep 1: We add. (Paris) is far.'
    )
    assert names(text) == ["Calvin", "ATP", "Hello", "Sam"]
    assert names("ATP and NADPH store energy.") == ["ATP", "NADPH"]
    assert names("") == []


def test_names_found() -> None:
    assert names_found("the calvin cycle", "The Calvin cycle uses ATP.") == 0.5
    assert names_found("Calvin and atp", "The Calvin cycle uses ATP.") == 1.0
    assert names_found("", "The Calvin cycle uses ATP.") == 0.0
    assert names_found("anything", "Roots take up water.") is None


def test_cited_leaf() -> None:
    file = "knowledge/botany/roots/qna.yaml"
    assert cited_leaf(["knowledge/other/qna.yaml", file], file) is True
    assert cited_leaf(["knowledge/botany/roots/notes.md"], file) is False
    assert cited_leaf([], file) is False


def test_numbers_and_names_less_those_of_the_question() -> None:
    from edubot_cli.assessment.metrics import names_found, numbers_found

    question = "Sam has 2.50 euros. Maria gives Sam 1.25 euros. How much does Sam have now?"
    assert numbers_found("3.75", "Sam has 2.50 + 1.25 = 3.75 euros.", question) == 1.0
    assert numbers_found("3.75", "Sam has 2.50 + 1.25 = 3.75 euros.") == 1 / 3
    assert numbers_found("2.50", "Sam has 2.50 euros.", question) is None
    assert names_found("Ann", "Then Ann met Sam Jones.", "Who did Sam Jones meet?") == 1.0
    assert names_found("x", "Then Ann met Sam Jones.", "Did Ann meet Sam Jones?") is None
