"""The import rules, read from the source: no import cycles in `spatial` (lazy imports inside functions
count), every loader module importable on its own, no module using another's private names, and tests that
import neither `conftest.py`, another test module nor the benchmarks."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spatial.settings import PROJECT_ROOT

PACKAGES = ("spatial", "app", "bench", "tests", "scripts")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files(*packages: str) -> dict[str, Path]:
    return {module_name(p): p for package in packages for p in sorted((PROJECT_ROOT / package).rglob("*.py"))}


MODULES = project_files(*PACKAGES)


def imported(source: str, module: str) -> Iterator[tuple[int, str, str | None, str | None]]:
    """(line, module, name, as-name) for every import in the source of `module`, at any depth: `import a.b`
    gives ("a.b", None), `from a import b` gives ("a", "b"); relative imports are resolved."""
    is_package = MODULES.get(module, Path()).name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None, alias.asname
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            for alias in node.names:
                yield node.lineno, base, alias.name, alias.asname


def targets(module: str, name: str | None) -> list[str]:
    """The project modules an import statement depends on (a submodule named in `from a import b` is `a.b`)."""
    if name is not None and f"{module}.{name}" in MODULES:
        return [f"{module}.{name}"]
    return [module] if module in MODULES else []


def import_graph(package: str) -> dict[str, set[str]]:
    graph = {m: set() for m in MODULES if m.split(".")[0] == package}
    for m in graph:
        for _, module, name, _ in imported(MODULES[m].read_text(encoding="utf-8"), m):
            graph[m].update(t for t in targets(module, name) if t in graph and t != m)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_lazy_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_spatial_has_no_import_cycles() -> None:
    graph = import_graph("spatial")
    assert graph["spatial.io.loader"] >= {"spatial.io.stage", "spatial.io.apply"}  # the graph sees imports
    assert "spatial.io.frames" in graph["spatial.synthetic"]  # … lazy ones (inside a function) too
    assert cycles(graph) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("spatial.io")))
def test_each_loader_module_imports_on_its_own(module: str) -> None:
    """In a fresh interpreter, so no module imported earlier by another hides a missing or circular import."""
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert result.returncode == 0, result.stderr


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str, own: str) -> Iterator[str]:
    """Private names of other project modules the source of module `own` uses: `from m import _x`,
    `import m._x` and `m._x` on a name bound to a project module."""
    modules: dict[str, str] = {}  # local name -> the project module it is bound to
    for line, module, name, asname in imported(source, own):
        for target in targets(module, name):
            if target != own and any(private(part) for part in target.split(".")):
                yield f"line {line}: imports the private module {target}"
        if name is not None and private(name) and module in MODULES and module != own:
            yield f"line {line}: from {module} import {name}"
        if name is None:
            modules[asname or module.split(".")[0]] = module if asname else module.split(".")[0]
        elif f"{module}.{name}" in MODULES:
            modules[asname or name] = f"{module}.{name}"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and private(node.attr):
            target = modules.get(ast.unparse(node.value))
            dotted = ast.unparse(node.value)
            if target is None and dotted in MODULES and dotted.split(".")[0] in modules:
                target = dotted  # spatial.io.copy._fixed after `import spatial.io.copy`
            if target is not None and target in MODULES and target != own:
                yield f"line {node.lineno}: {dotted}.{node.attr}"


def test_private_use_is_found() -> None:
    source = ("from spatial.io import copy as pgcopy\nfrom spatial.io.copy import _fixed\n"
              "import spatial.io.copy\npgcopy._prefixed(None)\nspatial.io.copy._fixed(None)\n"
              "from spatial.io.encodings import _codec\n")
    uses = list(private_uses(source, "spatial.io.loader"))
    assert any("import _fixed" in u for u in uses), uses
    assert any("pgcopy._prefixed" in u for u in uses), uses
    assert any("spatial.io.copy._fixed" in u for u in uses), uses
    assert any("import _codec" in u for u in uses), uses
    assert list(private_uses("def f(x):\n    return x._cache\n", "spatial.io.loader")) == []


def test_no_module_uses_another_modules_private_names() -> None:
    found = {m: uses for m, path in MODULES.items()
             if (uses := list(private_uses(path.read_text(encoding="utf-8"), m)))}
    assert found == {}


def test_tests_import_no_conftest_test_module_or_benchmark() -> None:
    found = []
    for m, path in project_files("tests").items():
        for line, module, name, _ in imported(path.read_text(encoding="utf-8"), m):
            for target in targets(module, name) or [module]:
                last = target.rsplit(".", 1)[-1]
                if last == "conftest" or (last.startswith("test_") and target != m) or target.split(".")[0] == "bench":
                    found.append(f"{m} line {line}: {target}")
    assert found == []
