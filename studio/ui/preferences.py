"""The app's saved preferences (QSettings: the platform's usual place)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from studio.engine.runtime import DEVICES

DEVICE_KEY = "inference/device"


def _settings() -> QSettings:
    return QSettings("latent-studio", "Latent Studio")


def saved_device() -> str:
    """The device chosen in the app (auto, cpu or cuda); auto when unset or unreadable."""
    value = str(_settings().value(DEVICE_KEY, "auto")).lower()
    return value if value in DEVICES else "auto"


def save_device(device: str) -> None:
    _settings().setValue(DEVICE_KEY, device)
