"""The layer rules of DESIGN §2: core is headless, the napari adapters are Qt-free."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import napari_elephant

PKG = Path(napari_elephant.__file__).parent
GUI = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui")
QT = ("qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "napari.qt", "napari._qt")


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def offenders(folder: str, banned: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((PKG / folder).rglob("*.py")):
        for name in imported_names(path):
            if any(name == b or name.startswith(b + ".") for b in banned):
                found.append(f"{path.relative_to(PKG)} imports {name}")
    return found


def test_core_source_never_imports_gui_packages():
    assert offenders("core", (*GUI, "napari_elephant._napari", "napari_elephant._qt")) == []


def test_napari_adapters_never_import_qt():
    assert offenders("_napari", (*QT, "napari_elephant._qt")) == []


def test_importing_all_of_core_loads_no_gui_module():
    """Transitive check: a fresh interpreter imports every core module."""
    modules = [m.name for m in pkgutil.walk_packages([str(PKG / "core")], "napari_elephant.core.")]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(k for k in sys.modules if k.split('.')[0] in {GUI!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core pulled in: {out.stdout.strip()}"
    assert len(modules) >= 5


def module_imports(path: Path) -> set[str]:
    """The package's own modules a file imports (TYPE_CHECKING ones too), by dotted name."""
    found = set()
    for name in imported_names(path):
        if name.startswith("napari_elephant."):
            found.add(name)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):  # from package import module
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("napari_elephant")
        ):
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def import_cycles(folder: str) -> list[list[str]]:
    """Groups of modules under a folder that import each other in a loop.

    Package faces (``__init__``) only hand names on and are left out, as the
    structure tools do; an import through one does not tie two modules.
    """
    import networkx as nx

    def dotted(path: Path) -> str:
        return "napari_elephant." + ".".join(path.relative_to(PKG).with_suffix("").parts)

    files = [p for p in sorted((PKG / folder).rglob("*.py")) if p.name != "__init__.py"]
    known = {dotted(p): p for p in files}
    g = nx.DiGraph()
    for name, path in known.items():
        g.add_edges_from((name, other) for other in module_imports(path) if other in known)
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    return sorted(cycles)


def test_the_package_imports_one_way():
    """No loop of imports anywhere: core's graph (store ← actions ← history/edits ←
    graph), and _napari (the session creates its layer sync; the sync does not import
    the session back)."""
    assert import_cycles(".") == []
    assert "napari_elephant.core.graph.actions" not in module_imports(PKG / "core/graph/store.py")
