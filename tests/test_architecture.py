"""The package's architecture, checked: one-way layers with no cycles (import-linter
contracts in pyproject.toml), no private name imported from another module, and no
import hidden inside a function except the lazy ones that serve start-up time, each
marked ``# lazy: <why>``."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "eventstudy"
MARK = "# lazy:"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _function_imports(path: Path) -> list[tuple[int, int, str]]:
    """``(first line, last line, source)`` of every import inside a function or
    method body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and inside:
                found.append((child.lineno, child.end_lineno or child.lineno,
                              ast.unparse(child)))
            visit(child, inside or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def test_import_contracts_hold() -> None:
    """Layers (cli > workflows > reporting | study > results > analysis > inference >
    execution > estimation > alignment > inputs > config > options > io > errors)
    and no cycle between sibling modules."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent
                                              / "lint-imports")
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_no_private_name_is_imported_from_another_module() -> None:
    bad = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("eventstudy")):
                bad += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name}"
                        for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert bad == []


def test_function_level_imports_are_marked_lazy() -> None:
    """An import inside a function is allowed only for start-up time (a heavy or
    optional dependency, or the CLI's commands), and says so on its line."""
    bad = []
    for path in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for first, last, src in _function_imports(path):
            if not any(MARK in line for line in lines[first - 1:last]):
                bad.append(f"{path.relative_to(ROOT)}:{first} {src}")
    assert bad == [], "\n".join(bad)


def test_no_catch_all_modules() -> None:
    names = {p.stem for p in _modules()}
    assert not names & {"utils", "util", "helpers", "misc", "common"}


def _imported(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts as ``a`` and
    ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("top", ["eventstudy.cli", "eventstudy.workflows"])
def test_lower_layers_do_not_import_the_top(top: str) -> None:
    """A belt to the contract's braces: nothing imports the CLI, and only the CLI
    (and the package's lazy public API, and the robustness and findings layers above
    them) imports the workflows."""
    above = ("eventstudy/robustness/", "eventstudy/findings.py")  # layers above
    users = [p.relative_to(ROOT).as_posix() for p in _modules()
             if top in _imported(p) and p.name not in ("cli.py", "__init__.py")
             and not (top == "eventstudy.workflows"
                      and p.relative_to(ROOT).as_posix().startswith(above))]
    assert users == []


def test_tests_mirror_the_layout() -> None:
    """Every folder of tests/ (but data/) is named after a module or package of the
    package, so a test lives beside the layer it checks."""
    tests = ROOT / "tests"
    folders = sorted(
        p.relative_to(tests).as_posix() for p in tests.rglob("*")
        if p.is_dir() and not any(part == "data" or part.startswith((".", "__"))
                                  for part in p.relative_to(tests).parts))
    assert folders, "tests/ has no layer folders"
    missing = [f for f in folders
               if not ((PACKAGE / f).is_dir() or (PACKAGE / f"{f}.py").is_file())]
    assert missing == []
