"""No import cycles in src/ganforge: the module graph, built from every `import` and `from ... import`
(at module level and inside functions, where cycles hide), must be acyclic."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is_package) for every .py file of the package at `root`."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if package else parts)] = (path, package)
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports, anywhere in its body. Relative imports
    are resolved; `from pkg import name` points at `pkg.name` when that is a module, else at `pkg`;
    a module also depends on the packages above what it imports, whose __init__ runs first."""
    mods = modules(root)
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, (path, package) in mods.items():
        here = name if package else name.rpartition(".")[0]  # the package relative imports start from
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            graph[name].update(t for t in targets if t in mods and t != name)
        # importing a.b.c runs the packages a.b (its __init__) first: an edge to each, except the root
        # package (which imports nothing at module level) and the importer's own enclosing packages
        own = {name.rsplit(".", k)[0] for k in range(1, name.count(".") + 1)}
        for target in list(graph[name]):
            parts = target.split(".")
            graph[name].update(
                p
                for p in (".".join(parts[:k]) for k in range(2, len(parts)))
                if p in mods and p not in own and p != name
            )
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles, seen_cycles = [], set()
    for comp in components:
        for start in sorted(comp):  # a shortest cycle through each module of the component
            cycle = _shortest_cycle(graph, comp, start)
            key = frozenset(zip(cycle, cycle[1:]))
            if key not in seen_cycles:
                seen_cycles.add(key)
                cycles.append(cycle)
    return cycles


def _shortest_cycle(graph: dict[str, set[str]], comp: set[str], start: str) -> list[str]:
    """Breadth-first from `start` back to it, inside one strongly connected component."""
    paths, frontier = {start: [start]}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & comp):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is in a strongly connected component but on no cycle")


def test_no_import_cycle_in_ganforge():
    graph = import_graph(SRC / "ganforge")
    assert len(graph) > 30 and "ganforge.api" in graph  # the walk found the package
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_a_cycle_hidden_inside_a_function_is_found(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")  # -> pkg.sub.b (a module)
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import thing\n")  # relative, in a function
    (pkg / "c.py").write_text("import os\nfrom pkg import a\n")  # -> pkg.a, closing the loop
    (pkg / "d.py").write_text("from pkg import sub\nfrom . import c\n")  # pkg.sub (a package), pkg.c
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub.b", "pkg.sub"}  # pkg.sub's __init__ runs first
    assert graph["pkg.sub.b"] == {"pkg.c"} and graph["pkg.c"] == {"pkg.a"}
    assert graph["pkg.d"] == {"pkg.sub", "pkg.c"}
    assert find_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]
    (pkg / "c.py").write_text("import os\n")
    assert find_cycles(import_graph(pkg)) == []


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for w in graph[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    return seen


def test_lower_layers_do_not_reach_up():
    graph = import_graph(SRC / "ganforge")
    assert graph["ganforge.io"] <= {"ganforge.errors"}  # io imports nothing of ours but errors
    for name in graph:
        if name.startswith(("ganforge.inference", "ganforge.metrics")) and name != "ganforge.metrics.cli":
            assert "ganforge.api" not in reachable(graph, name), f"{name} reaches ganforge.api"
            assert "ganforge.cli" not in reachable(graph, name), f"{name} reaches ganforge.cli"


def test_a_cycle_through_a_package_init_is_found(tmp_path):
    """x.low imports y.top; y/__init__ imports y.mid, which imports x.other: importing x.low first runs
    y/__init__, y.mid, then x.other -- x/__init__ is fine, but a cycle back into x.low would break."""
    pkg = tmp_path / "pkg"
    for sub in ("x", "y"):
        (pkg / sub).mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "x" / "__init__.py").write_text("from pkg.x import low\n")
    (pkg / "x" / "low.py").write_text("from pkg.y.top import T\n")
    (pkg / "y" / "__init__.py").write_text("from pkg.y import mid\n")
    (pkg / "y" / "top.py").write_text("T = 1\n")
    (pkg / "y" / "mid.py").write_text("from pkg.x.low import T\n")
    cycles = find_cycles(import_graph(pkg))
    assert cycles and any("pkg.y" in c and "pkg.x.low" in c for c in cycles)
