"""The app's saved preferences (QSettings: the platform's usual place).

Each preference has a typed getter (saved_*) that falls back to its default
when the stored value is missing or unreadable (hand-edited ini files, a
value from a newer version), and a setter (save_*). `load_preferences` /
`save_preferences` read and write them all at once for the Preferences dialog.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from PySide6.QtCore import QSettings

from studio.core.paths import user_models_dir
from studio.engine.devices import DEVICES
from studio.engine.runtime import DeviceError
from studio.ui.theme import THEMES as LOOKS

DEVICE_KEY = "inference/device"
THREADS_KEY = "inference/threads"
AUTOSAVE_KEY = "document/autosave_s"
USER_MODELS_KEY = "models/user_folder"
THEME_KEY = "ui/theme"

THEMES = tuple(LOOKS)  # theme names, ("dark", "light"): the first is the default
DEFAULT_AUTOSAVE_S = 60
MAX_AUTOSAVE_S = 24 * 3600
MAX_THREADS = 256


def settings() -> QSettings:
    """The app's QSettings (organisation latent-studio, application Latent Studio)."""
    return QSettings("latent-studio", "Latent Studio")


def _int(key: str, default: int, low: int, high: int) -> int:
    try:
        value = int(str(settings().value(key, default)))
    except ValueError:
        return default
    return value if low <= value <= high else default


def saved_flag(key: str, default: bool) -> bool:
    """A yes/no choice a panel keeps under `key` (a checkbox); `default` when
    unset or unreadable. Panels store it with settings().setValue(key, bool)."""
    value = settings().value(key, None)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    # ini files give back "true"/"false" strings, other back ends real bools
    return {"true": True, "1": True, "false": False, "0": False}.get(text, default)


def saved_choice(key: str, choices, default: str) -> str:
    """One of `choices` a panel keeps under `key` (a combo box's data);
    `default` when unset or not one of them any more."""
    value = settings().value(key, None)
    return str(value) if value is not None and str(value) in choices else default


def _check_device(device: str) -> str:
    if device not in DEVICES:
        raise DeviceError(f"unknown device '{device}' (choose auto, cpu or cuda)")
    return device


def _check_threads(threads: int) -> int:
    if not 0 <= int(threads) <= MAX_THREADS:
        raise ValueError(f"threads must be 0 (automatic) to {MAX_THREADS}, got {threads}")
    return int(threads)


def _check_autosave(seconds: int) -> int:
    if not 0 <= int(seconds) <= MAX_AUTOSAVE_S:
        raise ValueError(f"autosave interval must be 0 (off) to {MAX_AUTOSAVE_S} s, got {seconds}")
    return int(seconds)


def _check_folder(folder: str | Path) -> Path:
    path = Path(str(folder).strip()).expanduser()
    if not str(folder).strip() or not path.is_absolute():
        raise ValueError(f"the model folder must be a full path, got '{folder}'")
    return path


def _check_theme(theme: str) -> str:
    if theme not in THEMES:
        raise ValueError(f"unknown theme '{theme}' (choose {', '.join(THEMES)})")
    return theme


def saved_device() -> str:
    """The device chosen in the app (auto, cpu or cuda); auto when unset or unreadable."""
    value = str(settings().value(DEVICE_KEY, "auto")).lower()
    return value if value in DEVICES else "auto"


def save_device(device: str) -> None:
    """Store auto, cpu or cuda; DeviceError (a ValueError) for anything else."""
    settings().setValue(DEVICE_KEY, _check_device(device))


def saved_threads() -> int:
    """Inference threads; 0 = automatic (engine.runtime.default_threads)."""
    return _int(THREADS_KEY, 0, 0, MAX_THREADS)


def save_threads(threads: int) -> None:
    settings().setValue(THREADS_KEY, _check_threads(threads))


def saved_autosave_interval() -> int:
    """Seconds between autosaves of an open document; 0 = off. Default 60."""
    return _int(AUTOSAVE_KEY, DEFAULT_AUTOSAVE_S, 0, MAX_AUTOSAVE_S)


def save_autosave_interval(seconds: int) -> None:
    settings().setValue(AUTOSAVE_KEY, _check_autosave(seconds))


def saved_user_models_dir() -> Path:
    """The folder the user's own models live in; studio.core.paths.user_models_dir() unless changed."""
    value = settings().value(USER_MODELS_KEY, "")
    return Path(str(value)).expanduser() if value else user_models_dir()


def save_user_models_dir(folder: str | Path) -> None:
    folder = _check_folder(folder)
    # The default is not stored, so it keeps following STUDIO_USER_DIR and the platform's data folder.
    if folder == user_models_dir():
        settings().remove(USER_MODELS_KEY)
    else:
        settings().setValue(USER_MODELS_KEY, str(folder))


def saved_theme() -> str:
    """One of THEMES; dark by default."""
    value = str(settings().value(THEME_KEY, THEMES[0])).lower()
    return value if value in THEMES else THEMES[0]


def save_theme(theme: str) -> None:
    settings().setValue(THEME_KEY, _check_theme(theme))


@dataclass(frozen=True)
class Preferences:
    """All preferences at once. device: auto|cpu|cuda; threads: 0 = auto;
    autosave_s: seconds, 0 = off; user_models: folder; theme: one of THEMES."""

    device: str = "auto"
    threads: int = 0
    autosave_s: int = DEFAULT_AUTOSAVE_S
    user_models: Path = field(default_factory=user_models_dir)
    theme: str = THEMES[0]


def load_preferences() -> Preferences:
    return Preferences(device=saved_device(), threads=saved_threads(), autosave_s=saved_autosave_interval(),
                       user_models=saved_user_models_dir(), theme=saved_theme())


_CHECKS = {"device": _check_device, "threads": _check_threads, "autosave_s": _check_autosave,
           "user_models": _check_folder, "theme": _check_theme}
_SETTERS = {"device": save_device, "threads": save_threads, "autosave_s": save_autosave_interval,
            "user_models": save_user_models_dir, "theme": save_theme}


def save_preferences(prefs: Preferences) -> set[str]:
    """Store `prefs`; returns the names of the Preferences fields whose value
    changed (e.g. {"device", "threads"}), so the app re-applies only those.
    ValueError (one line) for an out-of-range value; nothing is stored then."""
    for name, check in _CHECKS.items():  # all checked before anything is written
        check(getattr(prefs, name))
    before = load_preferences()
    changed = {f.name for f in fields(Preferences) if getattr(prefs, f.name) != getattr(before, f.name)}
    for name in changed:
        _SETTERS[name](getattr(prefs, name))
    return changed
