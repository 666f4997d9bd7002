"""The checkpoints package's own layering: ``stored`` needs ``torch_support`` but not ``load`` (the whole package's
cycles are checked in tests/test_layout.py with the same graph)."""

from __future__ import annotations

from tests.support.imports import cycles, import_graph

PACKAGE = "edubot_cli.checkpoints"


def test_checkpoints_imports_form_no_cycle_and_stored_does_not_load() -> None:
    graph = {name: deps for name, deps in import_graph().items() if name.startswith(PACKAGE)}
    assert cycles(graph) == []
    assert f"{PACKAGE}.torch_support" in graph[f"{PACKAGE}.stored"]
    assert f"{PACKAGE}.load" not in graph[f"{PACKAGE}.stored"]
