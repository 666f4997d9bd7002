"""The package's import graph: no cycle (module-level and function-level imports alike) and no import that runs
upward from the library modules into the command layer."""

from __future__ import annotations

import ast
from pathlib import Path

import edubot_cli

ROOT = Path(edubot_cli.__file__).parent
COMMAND_LAYER = ("edubot_cli.main", "edubot_cli.__main__", "edubot_cli.commands")


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:`` (never run)."""
    return {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }


def import_graph() -> dict[str, set[str]]:
    """Module -> the edubot_cli modules it imports, wherever in the file (``if TYPE_CHECKING`` blocks left out);
    ``from package import name`` counts as an import of the submodule when ``name`` is one."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    deps.add(sub if sub in known else module)
            elif isinstance(node, ast.Import):
                deps |= {alias.name for alias in node.names}
        graph[name] = {d for d in deps if d in known and d != name}
    return graph


def test_no_import_cycle() -> None:
    graph = import_graph()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in path, "import cycle: " + " -> ".join([*path[path.index(name) :], name])
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert len(graph) > 100  # the whole package was read
    # relative imports are resolved, at every level, and function-level imports count
    assert {"edubot_cli.server.engine_call", "edubot_cli.server.paths"} <= graph["edubot_cli.server.proxy"]
    assert "edubot_cli.procgroup" in graph["edubot_cli.doctor"]


def test_library_modules_do_not_import_the_command_layer() -> None:
    upward = {
        (name, dep)
        for name, deps in import_graph().items()
        if not name.startswith(COMMAND_LAYER)
        for dep in deps
        if dep.startswith(COMMAND_LAYER)
    }
    assert upward == set()
