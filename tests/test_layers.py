"""The package's import graph (read with ``ast``, every ``import`` statement, also those inside
functions): no module imports itself back through others, and no package imports one of a higher
layer. The layers are those of the README's Layout section, lowest first."""

from __future__ import annotations

import ast
from pathlib import Path

from support import REPO

PACKAGE = REPO / "src" / "rekollect"

LAYERS = (
    {"errors", "startup", "notices", "tallies", "addresses", "cores", "spaces", "config"},
    {"storage", "index", "vision", "wire"},
    {"core", "security"},
    {"video", "clustering", "liveness", "streams"},
    {"operations", "console", "backup", "gauges", "health", "tools"},
    {"server", "install"},
    {"cli", "__main__"},
)
"""Top-level modules and packages of ``rekollect``, by layer: each may import from its own layer
(without a cycle) and the ones below, never from one above."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each module of the package, and the modules of the package it imports."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                within = package[: len(package) - node.level + 1] if node.level else []
                base = ".".join([*within, *([node.module] if node.module else [])])
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            found |= {target for target in targets if target in modules and target != name}
        graph[name] = found
    return graph


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else module
    for number, names in enumerate(LAYERS):
        if top in names:
            return number
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS (and to the README's Layout)")


def test_no_package_imports_one_of_a_higher_layer():
    upward = [
        f"{module} -> {target}"
        for module, targets in imports().items()
        if module != "rekollect"
        for target in targets
        if target != "rekollect" and layer(target) > layer(module)
    ]
    assert upward == []


def test_the_import_graph_has_no_cycle():
    graph = imports()
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if target.count(".") < module.count(".") and module.startswith(f"{target}."):
                continue  # a package's __init__ importing one of its own modules is no cycle
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
