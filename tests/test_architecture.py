"""The shape of the code, read from the source with ``ast`` (nothing is imported):

- no import cycle among the project's modules (an import inside a function counts: it hides the
  dependency from the reader, not from the cycle);
- the layers: ``components`` imports nothing of ``servestack``, ``policies`` or ``plandoc``;
  ``plandoc`` (the plan document) imports only ``components``; ``policies`` (the policy pack)
  only ``components`` and ``plandoc``;
- the layers inside ``components``: ``core`` (pure decisions and tables) imports only itself;
  ``render`` (Kubernetes objects as dicts) only ``core``, and the stack model only for type names
  (under ``TYPE_CHECKING``); ``config`` (the pydantic stack model) only ``core``; the Pulumi
  components on top may import them all; ``plandoc`` only ``core`` and ``render``, so reading a plan
  loads neither Pulumi nor pydantic (checked by importing it in a fresh interpreter);
- no source file over 400 lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

from harness import REPO

PACKAGES = ("components", "servestack", "policies", "plandoc")
"""The project's importable packages (``plandoc`` may not exist yet: then it has no modules)."""

ALLOWED = {
    "components": set(),
    "plandoc": {"components"},
    "policies": {"components", "plandoc"},
}
"""Layer -> the other project packages it may import."""

SOURCE_DIRS = (*PACKAGES, "tools", "bench")
MAX_LINES = 400


@cache
def modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's ``__init__``)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def type_checking_nodes(tree: ast.AST) -> set[ast.AST]:
    """The import statements under ``if TYPE_CHECKING:`` (names for annotations, never loaded)."""
    found: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            found.update(child for statement in node.body for child in ast.walk(statement))
    return found


@cache
def imported_names(module: str, at_run_time: bool = False) -> frozenset[str]:
    """Every project name ``module`` imports, anywhere in the file, as written (relative imports
    resolved): ``from a.b import c`` gives ``a.b.c``. ``at_run_time``: only the imports that load
    (not those under ``if TYPE_CHECKING:``)."""
    path, is_package = modules()[module]
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    tree = ast.parse(path.read_text(), str(path))
    type_only = type_checking_nodes(tree) if at_run_time else set()
    for node in ast.walk(tree):
        if node in type_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return frozenset(name for name in names if name.split(".")[0] in PACKAGES)


def imported_modules(module: str) -> set[str]:
    """The project modules ``module`` depends on: each imported name's longest module prefix."""
    found = set()
    for name in imported_names(module):
        while name and name not in modules():
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_finds_a_cycle_and_only_the_modules_on_it():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles_among_the_projects_modules():
    graph = {module: imported_modules(module) for module in modules()}
    assert len(graph) > 50
    found = cycles(graph)
    assert found == [], "\n".join("an import cycle through " + ", ".join(cycle) for cycle in found)


def layer_violations(layer: str) -> list[str]:
    allowed = {layer, *ALLOWED[layer]}
    return sorted(f"{module} imports {name}" for module in modules() if module.split(".")[0] == layer
                  for name in imported_names(module) if name.split(".")[0] not in allowed)


def test_components_import_nothing_of_servestack_policies_or_plandoc():
    violations = layer_violations("components")
    assert violations == [], "\n".join(violations)


def test_the_plan_document_imports_only_components():
    violations = layer_violations("plandoc")
    assert violations == [], "\n".join(violations)


def test_the_policy_pack_imports_only_components_and_the_plan_document():
    violations = layer_violations("policies")
    assert violations == [], "\n".join(violations)


INNER_LAYERS = {
    "components.core": (set(), set()),
    "components.render": ({"components.core"}, {"components.config"}),
    "components.config": ({"components.core"}, set()),
    "plandoc": ({"components.core", "components.render"}, set()),
}
"""Inner layer -> (what it may import, what it may name only for annotations). The Pulumi components
(``components/*.py``) sit on top and may import every layer of ``components``."""


def inner_layer_of(name: str) -> str | None:
    return next((layer for layer in INNER_LAYERS if name == layer or name.startswith(layer + ".")), None)


def inner_layer_violations() -> list[str]:
    found = []
    for module in modules():
        layer = inner_layer_of(module)
        if layer is None:
            continue
        allowed, type_only = INNER_LAYERS[layer]
        run_time = imported_names(module, at_run_time=True)
        for name in imported_names(module):
            if name.split(".")[0] != "components" or inner_layer_of(name) == layer:
                continue
            if any(name == a or name.startswith(a + ".") for a in allowed):
                continue
            if name not in run_time and any(name.startswith(a + ".") for a in type_only):
                continue
            found.append(f"{module} imports {name}")
    return sorted(found)


def test_the_layers_inside_components_and_plandoc_import_only_those_below_them():
    assert {module.rpartition(".")[0] for module in modules()} >= {"components.core", "components.render"}
    violations = inner_layer_violations()
    assert violations == [], "\n".join(violations)


def test_the_inner_layer_rule_catches_a_render_module_that_loads_the_stack_model(monkeypatch):
    real = imported_names.__wrapped__

    def planted(module: str, at_run_time: bool = False) -> frozenset[str]:
        names = real(module, at_run_time)
        if module == "components.render.inference_service":
            names |= {"components.config.endpoints.EndpointConfig"}
        return names

    monkeypatch.setattr(sys.modules[__name__], "imported_names", planted)
    assert "components.render.inference_service imports components.config.endpoints.EndpointConfig" in \
        inner_layer_violations()


def test_reading_a_plan_loads_neither_pulumi_nor_pydantic():
    probe = ("import importlib, pkgutil, sys, plandoc\n"
             "for m in pkgutil.iter_modules(plandoc.__path__): importlib.import_module('plandoc.' + m.name)\n"
             "print(sorted({n.split('.')[0] for n in sys.modules} & {'pulumi', 'pulumi_aws', 'pulumi_kubernetes', "
             "'pydantic'}))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_no_source_file_is_over_400_lines():
    sources = [REPO / "__main__.py", *(path for top in SOURCE_DIRS for path in sorted((REPO / top).rglob("*.py")))]
    assert len(sources) > 50
    too_long = {path.relative_to(REPO).as_posix(): lines for path in sources
                if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert too_long == {}, "over 400 lines: " + ", ".join(f"{path} ({lines})" for path, lines in too_long.items())
