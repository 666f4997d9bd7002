"""The package's import graph (``tests.support.imports``: module-level, function-level and ``TYPE_CHECKING``
imports alike): no cycle, and no import that runs upward from the library modules into the command layer."""

from __future__ import annotations

from tests.support.imports import cycles, import_graph

COMMAND_LAYER = ("edubot_cli.main", "edubot_cli.__main__", "edubot_cli.commands")


def test_no_import_cycle() -> None:
    graph = import_graph()
    assert cycles(graph) == []
    assert len(graph) > 100  # the whole package was read
    # relative imports are resolved, at every level, and function-level imports count
    assert {"edubot_cli.server.engine.engine_call", "edubot_cli.server.paths"} <= graph[
        "edubot_cli.server.engine.proxy"
    ]
    assert "edubot_cli.procgroup" in graph["edubot_cli.doctor"]
    # imports under TYPE_CHECKING count too
    assert "edubot_cli.config" in graph["edubot_cli.engines.lifecycle"]


def test_the_cycle_finder_names_every_module_of_a_cycle_and_only_those() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e", "d"}, "f": {"g"}, "g": {"f"}}
    assert cycles(graph) == [["a", "b", "c"], ["f", "g"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_library_modules_do_not_import_the_command_layer() -> None:
    upward = {
        (name, dep)
        for name, deps in import_graph().items()
        if not name.startswith(COMMAND_LAYER)
        for dep in deps
        if dep.startswith(COMMAND_LAYER)
    }
    assert upward == set()


SERVER_LAYERS = ("edge", "api", "engine")


def test_the_server_layers_depend_one_way() -> None:
    """``server/api`` (routes, handlers) may use the engine client and the edge's policies (the page's CSP); the
    edge guards and the engine client use neither each other nor the API, only the server's shared modules
    (errors, paths, request ids, stopping, metrics)."""
    allowed = {"edge": set(), "engine": set(), "api": {"engine", "edge"}}
    crossing = set()
    for name, deps in import_graph().items():
        layer = next((x for x in SERVER_LAYERS if name.startswith(f"edubot_cli.server.{x}.")), None)
        if layer is None:
            continue
        for dep in deps:
            other = next((x for x in SERVER_LAYERS if dep.startswith(f"edubot_cli.server.{x}.")), None)
            if other not in (None, layer) and other not in allowed[layer]:
                crossing.add((name, dep))
    assert crossing == set()


def test_assessment_sits_below_the_parts_that_ask() -> None:
    """``assessment`` (questions, metrics, verdicts, the judge) is shared by ``eval`` and the chat: it imports
    neither, nor the server or the command layer."""
    above = ("edubot_cli.chat", "edubot_cli.evaluation", "edubot_cli.server", *COMMAND_LAYER)
    upward = {
        (name, dep)
        for name, deps in import_graph().items()
        if name.startswith("edubot_cli.assessment")
        for dep in deps
        if dep.startswith(above)
    }
    assert upward == set()
    assert "edubot_cli.assessment.metrics" in import_graph()["edubot_cli.evaluation.run"]


def test_the_classroom_sits_below_the_server_and_the_commands() -> None:
    """``classroom`` (the store, codes, migrations, the recorder) is used by the server and by `edubot class`: it
    imports neither, nor anything above config and errors."""
    allowed = ("edubot_cli.classroom", "edubot_cli.config", "edubot_cli.errors")
    outside = {
        (name, dep)
        for name, deps in import_graph().items()
        if name.startswith("edubot_cli.classroom")
        for dep in deps
        if not dep.startswith(allowed)
    }
    assert outside == set()
    assert "edubot_cli.classroom.store" in import_graph()["edubot_cli.commands.classroom"]


def test_safety_sits_below_the_server_and_the_commands() -> None:
    """``safety`` (moderation, the scope, the alert hook) is used by the server: it imports neither the server,
    the classroom, the chat client, the evaluation nor the command layer; only what is below it (config, errors,
    the HTTP client helpers, grounding and the taxonomy model)."""
    allowed = (
        "edubot_cli.safety",
        "edubot_cli.errors",
        "edubot_cli.openai_http",
        "edubot_cli.urls",
        "edubot_cli.grounding",
        "edubot_cli.taxonomy",
    )
    outside = {
        (name, dep)
        for name, deps in import_graph().items()
        if name.startswith("edubot_cli.safety")
        for dep in deps
        if not dep.startswith(allowed)
    }
    assert outside == set()
    assert "edubot_cli.safety.moderation" in import_graph()["edubot_cli.server.api.moderated"]
