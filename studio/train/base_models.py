"""Finding the model a run fine-tunes from (--base NAME or FOLDER, or the
installed default base) among the shipped and the user's model folders.
Reads manifests only: no torch, so the Train panel can ask too."""

from __future__ import annotations

import json
from pathlib import Path

from studio.core.paths import shipped_models_dir, user_models_dir
from studio.train.errors import DataError


def find_base(name_or_folder: str) -> tuple[Path, str]:
    """(model folder, model name) for --base: a folder holding a model, or
    the manifest name of a model in the shipped or the user models folder.
    DataError (one line) when there is none."""
    path = Path(name_or_folder)
    if path.is_dir():
        return path, manifest_name(path) or path.name
    for folder in model_folders():
        if manifest_name(folder) == name_or_folder:
            return folder, name_or_folder
    raise DataError(f"base model {name_or_folder!r} not found: give a model folder, or the name of a model in "
                    f"{shipped_models_dir()} or {user_models_dir()}")


def model_folders() -> list[Path]:
    """Every folder in the shipped, then the user models folder, by name."""
    folders: list[Path] = []
    for root in (shipped_models_dir(), user_models_dir()):
        try:
            folders += sorted(f for f in root.iterdir() if f.is_dir())
        except OSError:
            continue
    return folders


def read_manifest(folder: Path) -> dict:
    """The folder's manifest.json as a dict; {} when it has none or it is not
    JSON (nested past what json can parse included: the engine's schema says
    why such a model is unusable; here it is simply not a base)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def manifest_name(folder: Path) -> str | None:
    name = read_manifest(folder).get("name")
    return name if isinstance(name, str) else None
