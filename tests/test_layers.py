"""The package's layers import downwards only (docs/architecture.md).

Imports are read from the source with :mod:`ast` (module-level and function-local alike, so a
cycle hidden in a function counts), not by importing, so the test is fast and sees every
module whatever extras are installed. Nodes are the subpackages (``md``, ``io``, ...) and the
top-level modules (``parameters``, ``units``, ...) of ``mantid_mdinsim``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mantid_mdinsim"
ROOT = "mantid_mdinsim"

#: One package per step of the pipeline; another step may use only its public surface.
STEPS = ("train", "md", "sqw", "instrument", "harmonic", "predict")
#: What a step offers the others: the package (its __init__) and its parameter definitions.
PUBLIC_MODULES = ("", "parameters")
#: The layer of each node, bottom first; a node imports only from its own layer or below.
#: Nodes not listed (new top-level modules) count as the bottom layer.
LAYERS = {**{step: 1 for step in ("train", "md", "sqw", "instrument", "harmonic")},
          "predict": 2, "mantid": 3, "cli": 3, "__main__": 3}


def _module_name(path: Path, package: Path = PACKAGE) -> list[str]:
    parts = [ROOT, *path.relative_to(package).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path, root: Path = PACKAGE) -> list[tuple[str, int]]:
    """Absolute names of the ``mantid_mdinsim`` modules that ``path`` imports, with lines."""
    parts = _module_name(path, root)
    package = parts if path.name == "__init__.py" else parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                if module == ROOT and alias.name == "__version__":
                    # The root sets __version__ before it imports anything: reading it is no
                    # dependency on what the root re-exports.
                    continue
                # ``from . import outputs`` names a module; ``from .x import f`` a function.
                candidate = f"{module}.{alias.name}"
                relative = Path(*candidate.split(".")[1:])
                is_module = ((root / relative).with_suffix(".py").is_file()
                             or (root / relative / "__init__.py").is_file())
                found.append((candidate if is_module else module, node.lineno))
    return [(name, line) for name, line in found if name.split(".")[0] == ROOT]


def _node(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def _edges(root: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """(importing node, imported node) -> ["file:line", ...] for imports between nodes."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        source = _node(".".join(_module_name(path, root)))
        for module, line in _imports(path, root):
            target = _node(module)
            if target != source:
                edges[(source, target)].append(f"{path.relative_to(root.parent)}:{line}")
    return edges


def _cycles(edges) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if node not in index:
            visit(node)
    return components


def test_the_import_reader_sees_relative_and_function_local_imports(tmp_path):
    """A made-up package with the md <-> harmonic cycle the project once had, hidden in a
    function: the reader must find it (else the tests below would pass vacuously)."""
    package = tmp_path / ROOT
    (package / "md").mkdir(parents=True)
    (package / "harmonic").mkdir()
    for folder in (package, package / "md", package / "harmonic"):
        (folder / "__init__.py").write_text("")
    (package / "units.py").write_text("")
    (package / "md" / "core.py").write_text(
        "from ..units import X\nfrom . import other\n\n"
        "def f():\n    from ..harmonic.phonons import g\n")
    (package / "md" / "other.py").write_text("")
    (package / "harmonic" / "phonons.py").write_text("from ..md import core\n")
    assert sorted(_imports(package / "md" / "core.py", package)) == [
        ("mantid_mdinsim.harmonic.phonons", 5), ("mantid_mdinsim.md.other", 2),
        ("mantid_mdinsim.units", 1)]
    assert _cycles(_edges(package)) == [["harmonic", "md"]]


def test_no_import_cycle_between_subpackages():
    edges = _edges()
    cycles = _cycles(edges)
    detail = [f"{a} -> {b}: {', '.join(where)}" for (a, b), where in sorted(edges.items())
              if any(a in c and b in c for c in cycles)]
    assert not cycles, "import cycles " + str(cycles) + ":\n" + "\n".join(detail)


def test_a_step_uses_only_the_public_surface_of_another():
    offending = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _node(".".join(_module_name(path)))
        if source not in STEPS:
            continue
        for module, line in _imports(path):
            parts = module.split(".")
            target = _node(module)
            if target in STEPS and target != source and ".".join(parts[2:3]) not in PUBLIC_MODULES:
                offending.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert not offending, "\n".join(offending)


def test_layers_import_downwards_only():
    upward = [f"{a} (layer {LAYERS.get(a, 0)}) -> {b} (layer {LAYERS.get(b, 0)}): {where[0]}"
              for (a, b), where in sorted(_edges().items())
              if LAYERS.get(b, 0) > LAYERS.get(a, 0)]
    assert not upward, "\n".join(upward)


#: The only imports of one step package by another (predict, the chain, uses them all): a
#: step that runs another as part of its own job. What steps merely share (structure and model
#: files, the overlapping-atoms check, step names, the temperature parameter) lives below them
#: (atomistic/, steps.py, sample.py ...), so a new edge here is a question to answer first.
STEP_RUNS_STEP = {
    ("harmonic", "instrument"): "mdinsim harmonic --instrument applies the instrument step",
    ("train", "md"): "active learning samples new structures with the MD step",
}


def test_steps_import_each_other_only_where_one_runs_the_other():
    steps = set(STEPS) - {"predict"}
    between = {(a, b): where for (a, b), where in _edges().items() if a in steps and b in steps}
    unexpected = [f"{a} -> {b}: {', '.join(where)}" for (a, b), where in sorted(between.items())
                  if (a, b) not in STEP_RUNS_STEP]
    assert not unexpected, "\n".join(unexpected)
    assert set(between) == set(STEP_RUNS_STEP), "an allowed edge is gone: remove it above"
