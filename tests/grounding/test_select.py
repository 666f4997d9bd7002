"""Only the passages that matter: the relative score cut and the window around the matching sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from edubot_cli.grounding.index import TaxonomyIndex
from edubot_cli.grounding.select import RELATIVE_CUT, relevant, window
from edubot_cli.grounding.sources import Passage, Source


def scored(*scores: float) -> list[Passage]:
    return [
        Passage(Source(n, f"f{n}.yaml", 1, "seed_examples[0].context", f"T{n}", "s", score), f"text {n}")
        for n, score in enumerate(scores, start=1)
    ]


def test_passages_far_below_the_best_are_cut() -> None:
    # "Why do leaves look green?": the photosynthesis passage (9.6) and three field-trip rules matched on "green"
    found = relevant(scored(9.6, 5.1, 4.1, 2.0))
    assert [p.source.n for p in found] == [1]
    assert RELATIVE_CUT == 0.6


def test_passages_near_the_best_stay_in_rank_order() -> None:
    assert [p.source.n for p in relevant(scored(8.0, 7.9, 4.8, 4.7))] == [1, 2, 3]
    assert [p.source.n for p in relevant(scored(8.0, 7.9, 4.8, 4.7), cut=0.9)] == [1, 2]


def test_no_passages_and_unscored_passages() -> None:
    assert relevant([]) == []
    assert [p.source.n for p in relevant(scored(0.0, 0.0))] == [1]


TRIP = (
    "The coach leaves the Elm Road gate at 8:05 and reaches Vindolanda at 10:30. "
    "Pupils bring a packed lunch, a waterproof coat and sturdy shoes. "
    "The guide explained that the fort was rebuilt at least nine times. "
    "Each new fort was built on top of the old one. "
    "The coach leaves Vindolanda at 2:45 and is back at school by 5:10."
)


def test_a_short_text_is_kept_whole() -> None:
    assert window("  Roots take up water.  ", "roots", limit=100) == "Roots take up water."


def test_the_window_holds_the_best_sentence_and_grows_to_the_better_neighbour() -> None:
    got = window(TRIP, "How many times was the fort rebuilt?", limit=150)
    assert got == (
        "The guide explained that the fort was rebuilt at least nine times. "
        "Each new fort was built on top of the old one."
    )


def test_the_window_never_cuts_a_sentence() -> None:
    assert window(TRIP, "What should pupils bring?", limit=20) == (
        "Pupils bring a packed lunch, a waterproof coat and sturdy shoes."
    )


def test_with_no_matching_word_the_window_starts_at_the_top() -> None:
    assert window(TRIP, "xylophone", limit=90) == (
        "The coach leaves the Elm Road gate at 8:05 and reaches Vindolanda at 10:30."
    )


def test_a_window_smaller_than_two_sentences_is_the_best_one() -> None:
    assert (
        window(TRIP, "rebuilt fort", limit=70)
        == "The guide explained that the fort was rebuilt at least nine times."
    )


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("taxonomy", ["taxonomy", "tests/benchmarks/taxonomies/northbrook"])
def test_the_cut_keeps_every_held_out_questions_own_passage(taxonomy: str, tmp_path: Path) -> None:
    """The calibration of RELATIVE_CUT: on the taxonomies' own held-out questions, the passage a question comes
    from scores at least 0.69 of the best (so 0.6 keeps it with a margin), while most other passages fall
    under the cut."""
    kept_others = others = 0
    with TaxonomyIndex(ROOT / taxonomy, tmp_path / "index.sqlite3", holdout=1) as index:
        index.refresh()
        for held in index.held_out():
            found = index.retrieve(held.question, 4)
            kept = relevant(found)
            own = [(p.source.file, p.source.yaml_path) == (held.file, held.context_path) for p in found]
            assert any(own[: len(kept)]), held.question
            others += own.count(False)
            kept_others += sum(1 for p, mine in zip(found, own, strict=True) if not mine and p in kept)
    assert kept_others < others / 3
