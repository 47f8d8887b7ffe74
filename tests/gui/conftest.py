"""A real main window on the tiny ONNX generator, driven by qtbot."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from main_window_factory import open_window
from PySide6.QtWidgets import QMessageBox

from studio.engine.generator import Generator
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime


@pytest.fixture(autouse=True)
def settings_folder(tmp_path):
    """Preferences go to a folder of the test's own, never the user's."""
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(tmp_path / "settings"))
    return tmp_path / "settings"


@pytest.fixture(autouse=True)
def message_boxes(monkeypatch) -> list[tuple[str, str]]:
    """Every warning box the app raises, as (title, text), instead of a modal
    dialog that would block the test. A test that expects one takes it out of
    the list; any left over fail the test."""
    shown: list[tuple[str, str]] = []

    def capture(parent, title, text, *args, **kwargs):
        shown.append((title, text))
        return QMessageBox.Ok

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(capture))
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(capture))
    yield shown
    assert not shown, f"unexpected message boxes: {shown}"


@pytest.fixture(autouse=True)
def questions(monkeypatch) -> dict:
    """Save / Discard / Cancel questions the app asks: recorded in "asked" as
    (title, text) and answered with "answer" (Discard unless a test sets it)."""
    record = {"asked": [], "answer": QMessageBox.Discard}

    def ask(parent, title, text, *args, **kwargs):
        record["asked"].append((title, text))
        return record["answer"]

    monkeypatch.setattr(QMessageBox, "question", staticmethod(ask))
    return record


@pytest.fixture
def window(qtbot, tiny_generator_dir):
    """The main window on the tiny generator."""
    win = open_window(qtbot, tiny_generator_dir)
    yield win
    win.close()


@pytest.fixture
def reference(tiny_generator_dir) -> Generator:
    """The same model through its own Runtime: renders to compare the window against."""
    return Generator(Registry([tiny_generator_dir]).get("tiny"), Runtime("cpu"))


@pytest.fixture
def wait_frame(qtbot):
    """wait_frame(win): wait until the newest frame request is rendered and shown;
    returns the canvas image (uint8 HxWx3)."""
    def wait(win) -> np.ndarray:
        def shown() -> bool:
            last = win.panel.last_frame
            return win.worker.is_idle() and last is not None and win.worker.is_current("frame", last.serial)

        qtbot.waitUntil(shown, timeout=10_000)
        return win.canvas.image()

    return wait
