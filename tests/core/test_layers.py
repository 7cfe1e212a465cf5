"""The layers of core/, read from the source with ``ast``: no import cycle, and routing below the read models.

Routing (with the compiled table it reads) may import only the aggregates' value
objects, ``core.errors`` and itself; the read models may import routing, never the
reverse; nothing in core imports the simulator or the adapters. Imports under
``if TYPE_CHECKING:`` are not run, so they are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run: those under ``if TYPE_CHECKING:`` are skipped."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The modules an import loads: ``from a.b import c`` loads ``a.b``, and ``a.b.c`` when that is a module.

    A module of core is named in full; anything else by its top-level package.
    """
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        names = {base} | {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules}
    return {name if name in modules else name.split(".")[0] for name in names}


def import_graph() -> dict[str, set[str]]:
    """Module of core → the modules it imports (of core, or the top-level package name of anything else)."""
    paths = {_module_name(path): path for path in CORE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        edges: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            edges |= _targets(node, module, path.name == "__init__.py", set(paths))
        edges.discard(module)
        graph[module] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)) is not None:
            return cycle
    return None


GRAPH = import_graph()


def test_the_walk_sees_the_modules_and_their_imports() -> None:
    assert "core.routing.decide" in GRAPH and "core.projections.routing" in GRAPH
    assert "core.routing" in GRAPH["core.projections.routing"]
    assert "msgspec" in GRAPH["core.routing.table"]


def test_no_import_cycle_in_core() -> None:
    assert find_cycle(GRAPH) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


ROUTING_MAY_IMPORT = ("core.routing", "core.aggregates", "core.errors")
"""Within core, all that routing may import; outside core it imports libraries only."""
NEVER_FROM_CORE = ("simulator", "adapters")


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m == "core.routing" or m.startswith("core.routing.")))
def test_routing_depends_on_nothing_above_it(module: str) -> None:
    above = sorted(target for target in GRAPH[module]
                   if (target == "core" or target.startswith("core.")) and not target.startswith(ROUTING_MAY_IMPORT)
                   or target in NEVER_FROM_CORE)
    assert above == [], f"{module} imports {above}"


def test_read_models_import_no_application_service_or_query() -> None:
    for module in (m for m in GRAPH if m.startswith("core.projections")):
        service = sorted(t for t in GRAPH[module] if t in ("core.service", "core.api", "core.queries", "core.commands"))
        assert service == [], f"{module} imports {service}"


def test_nothing_in_core_imports_the_simulator_or_the_adapters() -> None:
    offenders = {module: sorted(GRAPH[module] & set(NEVER_FROM_CORE)) for module in GRAPH if GRAPH[module] & set(NEVER_FROM_CORE)}
    assert offenders == {}
