"""Where the file dialogs start: the last folder the artist went to in any
of them (kept across sessions), else their Pictures folder when it exists,
else their home. A folder that has since gone is skipped, and nothing here
creates one: a dialog never proposes a place that is not there."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

KEY = "dialogs/last_folder"


def start_folder() -> Path:
    last = str(QSettings().value(KEY, "") or "")
    pictures = QStandardPaths.writableLocation(QStandardPaths.PicturesLocation)
    for candidate in (last, pictures):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path.home()


def remember(chosen: str | os.PathLike) -> None:
    """A file or folder the artist chose: its folder is where dialogs start next."""
    path = Path(chosen)
    QSettings().setValue(KEY, str(path if path.is_dir() else path.parent))
