"""The layer rules of shared/ARCHITECTURE.md as tests (in the spirit of
napari's import-linter contracts): a wrong import fails CI, not a review.

Every import statement of every module counts, the lazy ones inside
functions included, read from the source (nothing is imported to check)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STUDIO = Path(__file__).resolve().parents[1] / "studio"
QT, TORCH, ORT = "PySide6", "torch", "onnxruntime"


def imported_names(path: Path) -> set[str]:
    """Absolute module names one file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(STUDIO.parent).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            # "from studio.train import loop" imports the module studio.train.loop
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(STUDIO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in STUDIO.rglob("*.py")}
IMPORTS = {name: imported_names(path) for name, path in MODULES.items()}


def layer_modules(layer: str) -> list[str]:
    return sorted(m for m in MODULES if m == f"studio.{layer}" or m.startswith(f"studio.{layer}."))


def reaches(module: str, forbidden: str) -> list[str]:
    """The chain of our modules through which `module` imports `forbidden`
    (a top-level package such as torch), or [] when it does not."""
    seen, stack = {module}, [(module, [module])]
    while stack:
        current, chain = stack.pop()
        for name in IMPORTS.get(current, ()):
            if name.split(".")[0] == forbidden:
                return chain + [name]
            if name in MODULES and name not in seen:
                seen.add(name)
                stack.append((name, chain + [name]))
    return []


def offending(layer: str, packages: tuple[str, ...]) -> list[str]:
    """Direct imports by `layer`'s modules of any of `packages` (prefixes)."""
    return [f"{m} imports {name}" for m in layer_modules(layer) for name in sorted(IMPORTS[m])
            if any(name == p or name.startswith(p + ".") for p in packages)]


def test_the_scan_sees_every_layer_and_its_imports():
    for layer in ("core", "engine", "train", "ui"):
        assert len(layer_modules(layer)) >= 5, layer
    assert "torch" in IMPORTS["studio.train.nets"] and "studio.core.atomic" in IMPORTS["studio.train.checkpoint"]
    assert "studio.train.loop" in IMPORTS["studio.cli"]  # a lazy import inside a function counts


def test_core_imports_nothing_of_ours_above_it_and_no_qt_torch_or_onnxruntime():
    assert offending("core", ("studio.engine", "studio.train", "studio.ui", "studio.cli", QT, TORCH, ORT)) == []


def test_engine_imports_no_qt_no_torch_and_nothing_above_it():
    assert offending("engine", ("studio.train", "studio.ui", "studio.cli", QT, TORCH)) == []


def test_train_imports_no_qt_and_no_ui_or_engine():
    assert offending("train", ("studio.ui", "studio.engine", "studio.cli", QT)) == []


@pytest.mark.parametrize("module", layer_modules("ui"))
def test_no_ui_module_reaches_torch_through_any_import(module):
    # The trainer's torch-free modules (presets, the protocol) may be read by
    # the app; anything that pulls torch in may not.
    assert reaches(module, TORCH) == []
