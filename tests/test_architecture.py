"""The shape of the code: no import cycles, domains import only the domains below them, thin views.

docs/architecture.md explains the layers; these tests keep the tree honest about them.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "registry"
# Bottom to top. A domain may import the domains before it; top-level modules (registry/*.py) are
# shared plumbing (clock, errors, pdf, …) or the wiring that collects every domain (cli, schedule).
LAYERS = ("audit", "orgs", "accounts", "jobs", "tasks", "assets", "rules", "snapshots", "notices", "disposals",
          "planning",
          "transfer", "demo", "home")
# The one upward edge: every page and API method declares its roles with accounts.access.roles_required.
ROLE_GATE = "registry.accounts.access"
WEB_ROOMS = ("views", "api", "admin_views", "progress_views")


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


MODULES = _modules()


def _module_imports(name: str, path: Path) -> set[str]:
    """Return the registry modules `name` imports at module level (what runs when it is imported)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        for n in (node.body if isinstance(node, ast.If) else [node]):
            if isinstance(n, ast.Import):
                found.update(a.name for a in n.names)
            elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
                found.add(n.module)
                found.update(f"{n.module}.{a.name}" for a in n.names if f"{n.module}.{a.name}" in MODULES)
    deps = set()
    for target in found:
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target and target.startswith("registry") and target != name:
            deps.add(target)
    return deps


GRAPH = {name: _module_imports(name, path) for name, path in MODULES.items()}


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and MODULES[module].name == "__init__.py") else None


def test_no_import_cycle_between_files():
    state: dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for dep in sorted(GRAPH[node]):
            if state.get(dep) == 1:
                cycles.append(trail[trail.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, trail + [dep])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_every_domain_is_placed_in_a_layer():
    domains = {_domain(m) for m in MODULES} - {None}
    assert domains <= set(LAYERS), f"add {sorted(domains - set(LAYERS))} to LAYERS (and docs/architecture.md)"


def test_no_domain_imports_a_domain_above_it():
    upward = []
    for module, deps in GRAPH.items():
        below = _domain(module)
        for dep in deps:
            above = _domain(dep)
            if below is None or above is None or below == above:
                continue
            if LAYERS.index(above) > LAYERS.index(below):
                if dep == ROLE_GATE and module.rsplit(".", 1)[1] in WEB_ROOMS:
                    continue
                upward.append(f"{module} -> {dep}")
    assert upward == []


@pytest.mark.parametrize("path", sorted(p for p in ROOT.rglob("*.py")
                                        if p.stem in WEB_ROOMS), ids=lambda p: str(p.relative_to(ROOT)))
def test_views_and_api_never_touch_the_session(path):
    assert not re.findall(r"db\.session", path.read_text(encoding="utf-8"))
