"""Start-up: display check, no torch in the GUI process, window chrome, opening a file."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from studio.ui import app

ROOT = Path(__file__).resolve().parents[2]


def test_gui_never_imports_torch():
    code = ("import sys, studio.ui.app, studio.ui.main_window, studio.ui.export_actions; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="only X11/Wayland need a display server")
def test_no_display_is_one_line_and_exit_2(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert app.display_problem() == app.NO_DISPLAY
    assert app.run() == 2
    err = capsys.readouterr().err
    assert err == f"error: {app.NO_DISPLAY}\n"
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app.display_problem() is None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("DISPLAY", ":99")
    assert app.display_problem() is None


def test_status_bar_shows_device_and_render_time(qtbot, window, wait_frame):
    assert window.device_label.text() == "Device: CPU"
    qtbot.mouseClick(window.panel.grid.buttons[0], Qt.LeftButton)
    wait_frame(window)
    assert window.render_label.text().endswith(" ms")
    assert window.windowTitle().startswith("tiny")


def test_shortcuts_are_the_painting_tool_ones(window):
    shortcuts = {a.text().replace("&", ""): a.shortcut() for a in window.findChildren(type(window.open_action))}
    assert shortcuts["Fit to Window"] == QKeySequence("Ctrl+0")
    assert shortcuts["Actual Size (100%)"] == QKeySequence("Ctrl+1")
    assert shortcuts["Export Frame…"] == QKeySequence("Ctrl+E")
    assert shortcuts["Export Animation…"] == QKeySequence("Ctrl+Alt+E")
    # Krita's: export, save, undo, redo.
    assert shortcuts["Export…"] == QKeySequence("Ctrl+Shift+E")
    assert shortcuts["Save"] == QKeySequence("Ctrl+S")
    assert shortcuts["Undo"] == QKeySequence("Ctrl+Z")
    assert QKeySequence("Ctrl+Shift+Z") in window.actions_.redo_action.shortcuts()
    assert window.panel.play_action.shortcut() == QKeySequence("P")
    assert window.panel.reroll_action.shortcut() == QKeySequence("R")


def test_open_file_shows_it_on_the_canvas(qtbot, window, tmp_path, message_boxes):
    pixels = np.zeros((5, 7, 4), np.uint8)
    pixels[..., 0] = 200
    pixels[..., 3] = 128
    Image.fromarray(pixels, "RGBA").save(tmp_path / "pic.png")
    window.open_file(tmp_path / "pic.png")
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=10_000)
    np.testing.assert_array_equal(window.canvas.image(), pixels)

    (tmp_path / "bad.png").write_bytes(b"not a png")
    window.open_file(tmp_path / "bad.png")
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    title, text = message_boxes.pop()
    assert title == "Open Image" and "bad.png" in text and "\n" not in text


def test_unknown_device_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app.run(device="tpu") == 2
    assert capsys.readouterr().err.startswith("error: unknown device 'tpu'")


@pytest.fixture
def collected_again():
    """run() freezes what exists at start-up; the rest of the test process
    gets it back into the garbage collector's care."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_run_opens_the_window_and_returns_0_on_close(monkeypatch, tmp_path, qapp, collected_again):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.ui.main_window import MainWindow

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    Image.fromarray(np.full((6, 6, 3), 90, np.uint8)).save(tmp_path / "start.png")
    seen = {}

    def look_and_close():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["windows"] = len(windows)
        seen["image"] = windows[0].canvas.image() if windows else None
        seen["frozen"] = gc.get_freeze_count()
        QApplication.closeAllWindows()

    QTimer.singleShot(1500, look_and_close)
    assert app.run(str(tmp_path / "start.png"), "cpu") == 0
    assert seen["windows"] == 1
    # The window's own objects are out of the collector's walks (a full one held the GIL for 30 ms).
    assert seen["frozen"] > 10_000
    assert seen["image"] is not None and seen["image"].shape == (6, 6, 4)


def test_run_opens_a_project_given_on_the_command_line(monkeypatch, tmp_path, qapp, collected_again):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.core.commands import AddLayer
    from studio.core.document import Document
    from studio.core.project import save_project
    from studio.ui.main_window import MainWindow

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    doc = Document.from_image(np.full((9, 12, 4), (10, 20, 30, 255), np.uint8), "paper")
    doc.apply(AddLayer(doc.new_layer("ink")))
    save_project(doc, tmp_path / "work.studio")
    seen = {}

    def look_and_close():
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        opened = window.files.document
        seen["layers"] = [layer.name for layer in opened.layers] if opened else None
        seen["title"] = window.windowTitle()
        QApplication.closeAllWindows()

    QTimer.singleShot(1500, look_and_close)
    assert app.run(str(tmp_path / "work.studio"), "cpu") == 0
    assert seen["layers"] == ["paper", "ink"] and seen["title"].startswith("work.studio")
