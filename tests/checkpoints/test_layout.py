"""The checkpoints package's own imports form no cycle, at module or function level."""

from __future__ import annotations

import ast
from pathlib import Path

import edubot_cli.checkpoints

PACKAGE = Path(edubot_cli.checkpoints.__file__).parent


def imports() -> dict[str, set[str]]:
    """Module name -> the sibling modules it imports (``from .x import ...`` anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module} if node.module else {a.name for a in node.names}
        graph[path.stem] = found
    return graph


def test_import_graph_is_acyclic() -> None:
    graph = imports()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in path, "import cycle: " + " -> ".join([*path[path.index(name) :], name])
        if name in done:
            return
        for dep in sorted(graph.get(name, ())):
            visit(dep, [*path, name])
        done.add(name)

    for name in graph:
        visit(name, [])
    assert "torch_support" in graph["stored"] and "load" not in graph["stored"]
