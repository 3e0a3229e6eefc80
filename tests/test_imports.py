"""No import cycle among tailtune's modules (module-level imports; lazy imports in functions are
the sanctioned way to break one).

Run alone: ``python tests/test_imports.py`` prints the cycles and exits 1 when there are any.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "tailtune"


def module_names(src: Path = SRC, package: str = PACKAGE) -> dict[str, Path]:
    """``{dotted module name: file}`` for every module of the package."""
    out = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _top_level_imports(tree: ast.Module):
    """Import statements executed when the module is imported: not those inside functions or
    classes, nor under ``if TYPE_CHECKING:``."""
    stack = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if "TYPE_CHECKING" not in test:
                stack[:0] = node.body
            stack[:0] = node.orelse
        elif isinstance(node, ast.Try):
            stack[:0] = [*node.body, *node.orelse, *node.finalbody]
            for handler in node.handlers:
                stack[:0] = handler.body
        elif isinstance(node, (ast.With,)):
            stack[:0] = node.body


def import_graph(src: Path = SRC, package: str = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports at module level.

    ``from a.b import c`` points at ``a.b.c`` when that is a module, else at ``a.b``.
    """
    modules = module_names(src, package)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _top_level_imports(tree):
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
                    graph[name].add(target)
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


def describe(cycle: list[str], graph: dict[str, set[str]]) -> str:
    """The component's modules with the imports that tie them together."""
    members = set(cycle)
    edges = [f"{a} -> {b}" for a in cycle for b in sorted(graph[a] & members)]
    return "; ".join(edges)


def test_finds_a_planted_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from .. import c\n")
    (pkg / "c.py").write_text("import pkg.a\ndef f():\n    from pkg import d\n")
    (pkg / "d.py").write_text("from pkg import c\n")  # only a lazy import back: no cycle
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.c"}
    assert find_cycles(graph) == [["pkg.a", "pkg.c", "pkg.sub.b"]]


def test_no_import_cycle_in_tailtune():
    graph = import_graph()
    assert "tailtune.cli.train" in graph, "the module walk found no CLI package"
    cycles = find_cycles(graph)
    assert not cycles, "import cycles: " + " | ".join(describe(c, graph) for c in cycles)


if __name__ == "__main__":
    g = import_graph()
    found = find_cycles(g)
    for c in found:
        print("cycle:", describe(c, g))
    print(f"{len(g)} modules, {sum(map(len, g.values()))} imports, {len(found)} cycle(s)")
    sys.exit(1 if found else 0)
