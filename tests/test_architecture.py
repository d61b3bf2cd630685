"""The package layout keeps its promises: one-way data flow, no import circles, tests apart from production.

Every import is read from the source with `ast`, including the ones inside functions (a lazy import is
still a dependency), and relative imports are resolved against the importing module's package.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sla_core"
MAX_TOP_LEVEL_MODULES = 12  # the core; the other worlds live in named sub-packages


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """Every module `path` imports (absolute names), at any depth of the file."""
    name = _module_name(path) if path.is_relative_to(PACKAGE) else path.stem
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from pkg import sub` imports the submodule `pkg.sub` when there is one
            found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in _modules())
    return found


@cache
def _graph() -> dict[str, set[str]]:
    """sla_core module -> the sla_core modules it imports (edges to the importer's own ancestors skipped)."""
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        deps = {d for d in _imports(path) if d in mods and d != name and not name.startswith(d + ".")}
        graph[name] = deps
    return graph


def _closure(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        mod = todo.pop()
        if mod not in seen:
            seen.add(mod)
            todo.extend(_graph().get(mod, ()))
    return seen


def test_the_top_level_holds_the_core_only():
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, f"{len(top)} top-level modules: {top}"
    worlds = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert {"graders", "calibration", "cli", "research", "results", "teacher", "testing"} <= worlds


def test_there_are_no_import_circles():
    graph = _graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(mod: str) -> list[str] | None:
        state[mod] = 1
        path.append(mod)
        for dep in sorted(graph[mod]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        path.pop()
        state[mod] = 2
        return None

    for mod in sorted(graph):
        if mod not in state:
            cycle = visit(mod)
            assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_pipeline_never_reaches_the_ui():
    reached = _closure("sla_core.assess")
    assert not {m for m in reached if m.startswith("sla_core.teacher")}, "the pipeline imports the teacher package"
    imported = set().union(*(_imports(_modules()[m]) for m in reached))
    assert not {m for m in imported if m.split(".")[0] == "gradio"}, "the pipeline imports gradio"


def test_only_the_app_and_the_teacher_package_import_gradio():
    offenders = [name for name, path in _modules().items()
                 if not name.startswith("sla_core.teacher") and any(m.split(".")[0] == "gradio" for m in _imports(path))]
    assert offenders == []


def test_production_code_never_imports_the_test_fixtures():
    """The package and the app; bench/ and scripts/ are developer tools and may use the fixtures."""
    paths = [p for p in sorted(PACKAGE.rglob("*.py")) if not p.is_relative_to(PACKAGE / "testing")] + [ROOT / "app.py"]
    offenders = [str(p.relative_to(ROOT)) for p in paths
                 if any(m == "sla_core.testing" or m.startswith("sla_core.testing.") for m in _imports(p))]
    assert offenders == []


def test_each_constant_is_defined_once():
    """`SAMPLE_RATE` and friends: one definition, imported everywhere else."""
    defined: dict[str, list[str]] = {}
    for name, path in _modules().items():
        if name.startswith("sla_core.testing"):
            continue
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                if isinstance(t, ast.Name) and t.id in ("SAMPLE_RATE", "DEFAULT_MAX_SECONDS", "PARTS", "GRID", "LABELS"):
                    defined.setdefault(t.id, []).append(name)
    assert {k: v for k, v in defined.items() if len(v) > 1} == {}
