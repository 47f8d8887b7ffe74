"""Start the desktop app: `studio [FILE] [--device auto|cpu|cuda]`.

Importing this module loads Qt and onnxruntime but never torch: the trainer
runs in its own process, so the canvas starts fast and survives it.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

NO_DISPLAY = "no display found; run headless with QT_QPA_PLATFORM=offscreen or under xvfb-run"


def display_problem() -> str | None:
    """None when Qt can open windows here, else one line saying why not.

    Only Linux/BSD need a display server; with neither DISPLAY nor
    WAYLAND_DISPLAY set and no QT_QPA_PLATFORM chosen, Qt would abort with a
    long plugin error, so we say it first, in one line.
    """
    if sys.platform.startswith(("win", "darwin", "cygwin")):
        return None
    if os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY


def create_application(argv: list[str] | None = None):
    """The QApplication (made once per process), in the saved theme (dark unless changed)."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from studio import APP_ID
    from studio.core.paths import assets_dir
    from studio.ui.preferences import saved_theme
    from studio.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName("Latent Studio")
    app.setOrganizationName("latent-studio")
    app.setDesktopFileName(APP_ID)
    icon = assets_dir() / "icons" / "latent-studio.svg"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    apply_theme(app, saved_theme())
    return app


def create_window(device: str | None = None, model_folders: list[Path] | None = None, file: str | None = None):
    """The main window on a Runtime for `device`: auto/cpu/cuda; None means
    STUDIO_DEVICE, else the device saved in the app's preferences.
    Needs a QApplication. Raises DeviceError for an unknown device name."""
    from studio.engine.runtime import Runtime
    from studio.ui.main_window import MainWindow
    from studio.ui.preferences import saved_device, saved_threads

    if device is None and not os.environ.get("STUDIO_DEVICE"):
        device = saved_device()
    threads = None if os.environ.get("STUDIO_THREADS") else (saved_threads() or None)
    window = MainWindow(Runtime(device, threads), model_folders)
    if file:
        window.open_file(file)
    return window


def freeze_startup_objects() -> None:
    """Keep the objects made at start-up (modules, widgets, their wrappers:
    about 64,000) out of every later garbage collection.

    A full collection walks every tracked object while holding the GIL, on
    whichever thread happens to trigger it, a worker's as likely as the
    GUI's: 23-34 ms in the started window (benchmarks/responsiveness.py lists
    them), all that time a stall of the GUI thread. Objects made at start-up
    live as long as the window does, so they are collected once now and
    frozen; a full collection then takes under 1 ms, and what the artist
    makes later is collected as before.
    """
    gc.collect()
    gc.freeze()


def run(file: str | None = None, device: str | None = None) -> int:
    """Open the main window (optionally showing image `file`) and run until it closes.

    Returns the exit status: 0 on a normal close, 2 (after one `error:` line on
    stderr) when there is no display, Qt's xcb plugin lacks a system library,
    or the device name is unknown.
    """
    from studio.ui.system_libraries import xcb_problem

    problem = display_problem() or xcb_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from PySide6.QtCore import QTimer

    from studio.engine.runtime import DeviceError

    app = create_application()
    try:
        window = create_window(device, file=file)
    except DeviceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app.aboutToQuit.connect(window.shutdown)  # quit without a close (e.g. logout) still ends the threads
    window.show()
    freeze_startup_objects()
    if not file:  # opening a file is what the user asked for; a crash's leftovers wait until the next plain start
        QTimer.singleShot(0, window.recover_autosaves)
    return int(app.exec())
