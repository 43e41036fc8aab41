"""The house rules, checked on the source: imports run one way, no cycles, no module too big."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "gradflow"

#: Layers bottom-up; a module may import only from its own layer's package or a lower layer.
#: Leaf services (layer 0) are shared by all; ``io`` is file plumbing below the kernels.
LAYERS = {
    "errors": 0, "validation": 0, "resources": 0, "activations": 0, "_threads": 0,
    "progress": 0, "_signals": 0,
    "io": 1,
    "kernels": 2,
    "cells": 3,
    "analysis": 4,
    "training": 5, "sweep": 5,
    "plot": 6, "claims": 6, "torch": 6,
    "report": 7,
    "cli": 8, "__main__": 9,
}
MAX_LINES = 400


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(name, path):
    """Every gradflow module ``name`` imports (at module level or inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "gradflow")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "gradflow":
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                out.add(candidate if (PACKAGE.parent / (candidate.replace(".", "/") + ".py"))
                        .exists() or (PACKAGE.parent / candidate.replace(".", "/")).is_dir()
                        else target)
    out.discard(name)
    return out


def _top(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


GRAPH = {name: _imports(name, path) for name, path in _modules()}


def test_every_module_has_a_layer():
    unplaced = sorted({_top(m) for m in GRAPH if _top(m) and _top(m) not in LAYERS})
    assert unplaced == [], f"modules outside the layering: {unplaced}"


def test_imports_never_run_upwards():
    upward = []
    for name, targets in GRAPH.items():
        if not _top(name):  # the package's lazy export table
            continue
        own = LAYERS[_top(name)]
        for target in targets:
            top = _top(target)
            if not top or top == _top(name):
                continue
            if LAYERS.get(top, 99) > own or (LAYERS.get(top) == own and own != 0):
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_no_import_cycles():
    modules = {m for m in GRAPH if _top(m)}

    def resolve(target):
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target

    edges = {m: {resolve(t) for t in GRAPH[m]} - {"", m} for m in modules}
    # a package's __init__ re-exports its modules; an edge into the package is an edge into
    # the modules it names, so cycles through __init__ are real cycles too
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(edges[m]):
            if t not in modules:
                continue
            if state.get(t) == 1 and not m.startswith(t + "."):
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(modules):
        if m not in state:
            visit(m)
    assert cycles == []


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_no_module_over_400_lines(name):
    path = dict(_modules())[name]
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_import_graph_is_printable(capsys):
    """The layer graph in words (``pytest -s`` shows it): which layer imports which."""
    edges = {}
    for name, targets in GRAPH.items():
        for target in targets:
            a, b = _top(name), _top(target)
            if a and b and a != b:
                edges.setdefault(a, set()).add(b)
    for a in sorted(edges, key=lambda k: (LAYERS[k], k)):
        print(f"{a} -> {', '.join(sorted(edges[a], key=lambda k: (LAYERS[k], k)))}")
    assert set(edges) <= set(LAYERS)
