"""Where Latent Studio keeps the user's files (platformdirs, overridable).

STUDIO_USER_DIR moves the whole user data folder, so tests and portable
installs never touch the real one; STUDIO_CACHE_DIR moves the cache alone.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "latent-studio"


def user_data_dir() -> Path:
    override = os.environ.get("STUDIO_USER_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_root() -> Path:
    """Where work worth keeping but safe to lose is cached (the trainer's
    preprocessed images, a generator's latent directions)."""
    if os.environ.get("STUDIO_CACHE_DIR"):
        return Path(os.environ["STUDIO_CACHE_DIR"])
    if os.environ.get("STUDIO_USER_DIR"):
        return Path(os.environ["STUDIO_USER_DIR"]) / "cache"
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def user_models_dir() -> Path:
    return user_data_dir() / "models"


def package_data(name: str) -> Path:
    """A folder shipped inside the studio package: in a checkout studio/NAME links
    to the top-level folder, in a wheel it is a copy (pyproject.toml's package-data)."""
    return Path(str(resources.files("studio") / name)).resolve()


def assets_dir() -> Path:
    """Icons and screenshots."""
    return package_data("assets")


def shipped_models_dir() -> Path:
    """The models we trained and ship (models/README.md gives their recipes)."""
    return package_data("models")
