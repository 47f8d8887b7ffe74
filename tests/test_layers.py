"""The layer rules of shared/ARCHITECTURE.md as tests (in the spirit of
napari's import-linter contracts): a wrong import fails CI, not a review.

Read from the source (nothing is imported to check). The layer rules count
every import statement, the lazy ones inside functions included; "reaches"
(what a GUI module pulls in when it is imported) follows the imports that
run at import time, not those inside functions: the task modules the Train
panel reads import torch only inside the hooks the trainer calls. Imports
under `if TYPE_CHECKING:` never run and count for neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STUDIO = Path(__file__).resolve().parents[1] / "studio"
QT, TORCH, ORT = "PySide6", "torch", "onnxruntime"


def imported_names(path: Path, at_import: bool = False) -> set[str]:
    """Absolute module names one file imports (relative imports resolved);
    at_import: only those that run when the module is imported."""
    package = ".".join(path.relative_to(STUDIO.parent).with_suffix("").parts[:-1])
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if at_import and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            # "from studio.train import cli" imports the module studio.train.cli
            names.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(STUDIO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in STUDIO.rglob("*.py")}
IMPORTS = {name: imported_names(path) for name, path in MODULES.items()}
AT_IMPORT = {name: imported_names(path, at_import=True) for name, path in MODULES.items()}


def layer_modules(layer: str) -> list[str]:
    return sorted(m for m in MODULES if m == f"studio.{layer}" or m.startswith(f"studio.{layer}."))


def reaches(module: str, forbidden: str) -> list[str]:
    """The chain of our modules through which importing `module` imports
    `forbidden` (a top-level package such as torch), or [] when it does not."""
    seen, stack = {module}, [(module, [module])]
    while stack:
        current, chain = stack.pop()
        for name in AT_IMPORT.get(current, ()):
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
    assert "studio.train.cli" in IMPORTS["studio.cli"]  # a lazy import inside a function counts


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


def test_the_task_modules_import_torch_only_inside_their_hooks():
    # The Train panel reads its task facts from them in the GUI process.
    for module in layer_modules("train.tasks"):
        assert reaches(module, TORCH) == [], module
    assert "studio.train.generator_session" in IMPORTS["studio.train.tasks.generate"]  # lazily, in a hook


def test_no_import_cycle_in_the_trainer_lazy_imports_included():
    graph = {m: {n for n in IMPORTS[m] if n in MODULES and n != m} for m in layer_modules("train")}
    state: dict[str, str] = {}

    def cycle_from(module: str, path: list[str]) -> list[str]:
        state[module] = "open"
        for name in sorted(graph.get(module, ())):
            if state.get(name) == "open":
                return path + [module, name]
            if name not in state and (found := cycle_from(name, path + [module])):
                return found
        state[module] = "done"
        return []

    for module in sorted(graph):
        if module not in state:
            assert cycle_from(module, []) == []
