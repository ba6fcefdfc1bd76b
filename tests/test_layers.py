"""Imports run downwards: no module imports from a layer above it (docs/architecture.md, "Imports run downwards").

``bench/`` and ``tests/`` stand beside each other on top: each imports the library (``app``,
``training``) and ``harness`` (a real gunicorn, the machine's description), never the other.

Imports only for type checking (under ``if TYPE_CHECKING:``) are not counted: they never run.
"""

import ast
from pathlib import Path

import pytest

from app.settings import ROOT

# module prefix -> prefixes it must never import
FORBIDDEN = {
    "app.settings": ("app", "flask", "training", "bench", "tests", "harness"),
    "app.errors": ("app", "flask", "training", "bench", "tests", "harness"),
    "app.core": ("app.api", "app.server", "app.ingest", "app.cli", "app.errors", "flask", "werkzeug", "training", "bench",
                 "tests", "harness"),
    "app.ingest": ("app.api", "app.server", "app.cli", "flask", "training", "bench", "tests", "harness"),
    "app.api": ("app.server", "app.cli", "flask", "werkzeug", "training", "bench", "tests", "harness"),
    "app.server": ("app.cli", "training", "bench", "tests", "harness"),
    "app": ("training", "bench", "tests", "harness"),
    "training": ("app.server", "app.ingest", "app.cli", "flask", "bench", "tests", "harness"),
    "harness": ("training", "bench", "tests"),
    "bench": ("tests",),
    "tests": ("bench",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions, except for type checking."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for child in node.body for n in ast.walk(child)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def layer_of(module: str) -> str | None:
    """The most specific layer a module belongs to."""
    matches = [layer for layer in FORBIDDEN if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len) if matches else None


MODULES = sorted(p for folder in ("app", "training", "harness", "bench", "tests") for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_from_a_layer_above_it(path):
    module = module_name(path)
    forbidden = FORBIDDEN[layer_of(module)]
    for name in imports(path):
        if name == module or name.startswith(module + "."):
            continue
        # app/errors.py and app/settings.py are below everything: any layer may import them
        if name in ("app.errors", "app.settings") or name.startswith(("app.errors.", "app.settings.")):
            if layer_of(module) not in ("app.settings", "app.errors") and not (layer_of(module) == "app.core" and name.startswith("app.errors")):
                continue
        assert not any(name == f or name.startswith(f + ".") for f in forbidden), f"{module} imports {name}"


@pytest.mark.parametrize("folder,other", [("bench", "tests"), ("tests", "bench")])
def test_bench_and_tests_import_the_library_never_each_other(folder, other):
    crossing = {f"{path.relative_to(ROOT)} imports {name}" for path in (ROOT / folder).rglob("*.py")
                for name in imports(path) if name == other or name.startswith(other + ".")}
    assert not crossing, sorted(crossing)


def test_importing_the_core_does_not_import_flask():
    import subprocess
    import sys

    code = ("import sys, app.core.summarizer, app.core.card, app.api.highlighter, training.examples; "
            "print('flask' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
