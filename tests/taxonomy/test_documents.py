"""The fixtures' base documents are valid: every other test mutates them, so this must hold first."""

from __future__ import annotations

from .conftest import Check, knowledge_text, skill_text


def test_base_knowledge_is_clean(check: Check) -> None:
    assert check(knowledge_text(), strict=True) == []


def test_base_skill_is_clean(check: Check) -> None:
    assert check(skill_text(), "compositional_skills/lang/questions", strict=True) == []
