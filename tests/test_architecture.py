"""The layout rules of docs/ARCHITECTURE.md: packages by layer, imports only downward, no
module past 500 lines, nothing at the package root."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "flock"
MAX_LINES = 500

#: Each package's layer (0: top). A package imports only packages of a higher number.
LAYERS: dict[str, int] = {
    "cli": 0,
    "defence": 1,
    "local": 2,
    "flower": 2,
    "dashboard": 2,
    "roles": 3,
    "spec": 3,
    "attacks": 4,
    "storeservice": 4,
    "learning": 5,
    "aggregation": 5,
    "store": 5,
    "contracts": 5,
    "protocol": 6,
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _package(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names imported from it, line) of every flock import, lazy ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
    return [(m, names, line) for m, names, line in found if m.split(".")[0] == "flock"]


def test_the_package_root_holds_no_modules_of_its_own() -> None:
    root_modules = {p.name for p in PACKAGE.glob("*.py")}
    assert root_modules <= {"__init__.py", "__main__.py"}


def test_every_package_has_a_place_in_the_layers() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(LAYERS), "place a new package in LAYERS and docs/ARCHITECTURE.md"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_down_the_layers_only(path: Path) -> None:
    own = _package(path)
    for module, names, line in _imports(path):
        parts = module.split(".")
        if len(parts) < 2:
            continue  # `from flock import ...`: the root package itself
        target = parts[1]
        if own is None or target == own:
            continue
        assert LAYERS[target] > LAYERS[own], (
            f"{path.relative_to(ROOT)}:{line} imports {module}: {own} (layer {LAYERS[own]}) "
            f"may only import packages below it, not {target} (layer {LAYERS[target]})"
        )
        private = [n for n in names if n.startswith("_")] + [p for p in parts if p[0] == "_"]
        assert not private, f"{path.relative_to(ROOT)}:{line} imports private {private}"


@pytest.mark.parametrize(
    "path",
    [*_modules(), *sorted((ROOT / "benchmarks").glob("*.py"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_is_longer_than_500_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by job"


def test_the_tests_mirror_the_packages() -> None:
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and any(p.glob("test_*"))}
    assert folders <= set(LAYERS), f"test folders without a package: {folders - set(LAYERS)}"
    basenames = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert len(basenames) == len(set(basenames)), "test module basenames must be unique"
