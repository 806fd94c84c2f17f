"""The code's layout holds: no import cycles in dlcore (imports inside functions count), and the runtime package a
bundle ships imports nothing from the rest of dlcore."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dlcore"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The dlcore modules ``path`` imports, anywhere in it (a package's ``from dlcore.x import name`` counts the
    module ``dlcore.x.name`` when that is a module)."""
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found - {module_name(path)}


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in PACKAGE.rglob("*.py")}


def test_dlcore_has_no_import_cycle():
    edges, state, cycles = graph(), {}, []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for other in sorted(edges.get(module, ())):
            if other in ("dlcore", "dlcore.runtime"):  # a package's __init__ only names its modules
                continue
            if state.get(other) == "open":
                cycles.append(trail[trail.index(other):] + [other])
            elif other not in state:
                visit(other, [*trail, other])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_the_runtime_imports_nothing_outside_itself():
    outside = {module_name(path): sorted(name for name in imports_of(path)
                                         if not name.startswith("dlcore.runtime") and name != "dlcore")
               for path in (PACKAGE / "runtime").rglob("*.py")}
    assert not {module: names for module, names in outside.items() if names}
    assert len(outside) >= 10  # the package is there, with its modules
