"""No import cycle among tailtune's modules, counting the imports inside functions too.

An import inside a function only moves the cycle to the first call: the modules still depend on
each other, and which one finishes importing first depends on the order of calls. So every
``import`` of a tailtune module is an edge of the graph, wherever it stands; only imports under
``if TYPE_CHECKING:`` (never executed) are left out, and counted apart.

Run alone: ``python tests/test_imports.py`` prints how many module-level and function-level
imports it saw and every cycle (each edge marked with where its import stands), and exits 1 when
there is one.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "tailtune"
MODULE, FUNCTION, TYPING = "module-level", "function-level", "type-checking"


@dataclass(frozen=True)
class Edge:
    """One import of a package module by another: where it stands and on which line."""

    source: str
    target: str
    kind: str  # MODULE (runs on import), FUNCTION (runs when a function does) or TYPING
    line: int


def module_names(src: Path = SRC, package: str = PACKAGE) -> dict[str, Path]:
    """``{dotted module name: file}`` for every module of the package."""
    out = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(tree: ast.Module):
    """``(import node, kind)`` for every import statement of a module.

    Class bodies run on import (module-level); function bodies run when called
    (function-level); ``if TYPE_CHECKING:`` bodies never run (type-checking).
    """
    stack: list[tuple[ast.AST, str]] = [(node, MODULE) for node in tree.body]
    while stack:
        node, kind = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, kind
            continue
        inner = kind
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and kind == MODULE:
            inner = FUNCTION
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend((child, TYPING) for child in node.body)
            stack.extend((child, kind) for child in node.orelse)
            continue
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def import_edges(src: Path = SRC, package: str = PACKAGE) -> list[Edge]:
    """Every import of one package module by another, module- and function-level alike.

    ``from a.b import c`` points at ``a.b.c`` when that is a module, else at ``a.b``.
    """
    modules = module_names(src, package)
    edges = []
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, kind in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                # `import a.b.c` of a name that is not a module: its nearest module
                while target and target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name:
                    edges.append(Edge(name, target, kind, node.lineno))
    return sorted(edges, key=lambda e: (e.source, e.target, e.line))


def import_graph(edges: list[Edge], kinds=(MODULE, FUNCTION)) -> dict[str, set[str]]:
    """Module -> the modules it imports through edges of the given kinds."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set())
        graph.setdefault(e.target, set())
        if e.kind in kinds:
            graph[e.source].add(e.target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def describe(cycle: list[str], edges: list[Edge]) -> str:
    """The component's modules with the imports that tie them together, each with its line and
    whether it stands at module level or in a function."""
    members = set(cycle)
    ties = [e for e in edges if e.source in members and e.target in members and e.kind != TYPING]
    return "; ".join(f"{e.source} -> {e.target} ({e.kind}, line {e.line})" for e in ties)


def summary(edges: list[Edge], cycles: list[list[str]], n_modules: int) -> str:
    """One line: modules, imports by kind, cycles."""
    kinds = Counter(e.kind for e in edges)
    typing_only = f", {kinds[TYPING]} {TYPING}" if kinds[TYPING] else ""
    return (
        f"{n_modules} modules, {kinds[MODULE]} {MODULE} and {kinds[FUNCTION]} {FUNCTION} "
        f"imports{typing_only}, {len(cycles)} cycle(s)"
    )


def _planted(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from .. import c\n")
    (pkg / "c.py").write_text("import pkg.a\ndef f():\n    from pkg import d\n")
    (pkg / "d.py").write_text("class D:\n    from pkg import c\n")  # a class body runs on import
    (pkg / "e.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
    )
    (pkg / "f.py").write_text("def g():\n    import pkg.e\n")
    return tmp_path


def test_finds_cycles_through_module_and_function_level_imports(tmp_path):
    edges = import_edges(_planted(tmp_path), "pkg")
    kinds = {(e.source, e.target): e.kind for e in edges}
    assert kinds == {
        ("pkg.a", "pkg.sub.b"): MODULE, ("pkg.sub.b", "pkg.c"): MODULE,
        ("pkg.c", "pkg.a"): MODULE, ("pkg.c", "pkg.d"): FUNCTION, ("pkg.d", "pkg.c"): MODULE,
        ("pkg.e", "pkg.a"): TYPING, ("pkg.f", "pkg.e"): FUNCTION,
    }  # fmt: skip
    # module-level imports alone: a -> b -> c -> a; c -> d is in a function
    assert find_cycles(import_graph(edges, kinds=(MODULE,))) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
    # counting function-level imports, d joins the cycle; the TYPE_CHECKING import never runs
    cycles = find_cycles(import_graph(edges))
    assert cycles == [["pkg.a", "pkg.c", "pkg.d", "pkg.sub.b"]]
    assert "pkg.c -> pkg.d (function-level, line 3)" in describe(cycles[0], edges)
    assert summary(edges, cycles, 7) == (
        "7 modules, 4 module-level and 2 function-level imports, 1 type-checking, 1 cycle(s)"
    )


def test_no_import_cycle_in_tailtune():
    edges = import_edges()
    graph = import_graph(edges)
    assert "tailtune.cli.train" in graph, "the module walk found no CLI package"
    kinds = Counter(e.kind for e in edges)
    assert kinds[MODULE] > 300 and kinds[FUNCTION] > 100, kinds  # both kinds were seen
    cycles = find_cycles(graph)
    assert not cycles, "import cycles: " + " | ".join(describe(c, edges) for c in cycles)


if __name__ == "__main__":
    found_edges = import_edges()
    found = find_cycles(import_graph(found_edges))
    for c in found:
        print("cycle:", describe(c, found_edges))
    print(summary(found_edges, found, len(module_names())))
    sys.exit(1 if found else 0)
