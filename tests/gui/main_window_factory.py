"""The real main window for qtbot tests, on a models folder of the test's own."""

from __future__ import annotations

from studio.engine.runtime import Runtime
from studio.ui.main_window import MainWindow


def open_window(qtbot, models) -> MainWindow:
    """The main window on the models folder `models`, shown, with its first
    generator's thumbnails rendered."""
    win = MainWindow(Runtime("cpu"), [models])
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitUntil(lambda: win.panel.entry is not None and win.panel.grid.ready(), timeout=10_000)
    return win
