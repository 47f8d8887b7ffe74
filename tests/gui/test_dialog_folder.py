"""Where file dialogs start: the last folder used, else Pictures when it
exists, else home; never a folder that is not there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import QFileDialog

from studio.ui.dialog_folder import remember, start_folder


def test_the_last_folder_then_pictures_then_home(qtbot, tmp_path, monkeypatch):
    pictures = tmp_path / "Pictures"
    monkeypatch.setattr(QStandardPaths, "writableLocation", staticmethod(lambda where: str(pictures)))
    assert start_folder() == Path.home()  # no Pictures folder: not proposed, not created
    assert not pictures.exists()
    pictures.mkdir()
    assert start_folder() == pictures
    (tmp_path / "work").mkdir()
    remember(tmp_path / "work" / "painting.png")
    assert start_folder() == tmp_path / "work"
    (tmp_path / "work").rmdir()
    assert start_folder() == pictures


def test_an_export_dialog_opens_where_the_last_dialog_was(qtbot, window, tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, caption, start, *a, **k: (asked.append(start), ("", ""))[1]))
    remember(tmp_path / "elsewhere.png")
    qtbot.mouseClick(window.panel.grid.buttons[0], Qt.LeftButton)
    window.exports.frame_action.trigger()
    assert Path(asked[0]).parent == tmp_path
    assert np.all([not p.name.startswith(".") for p in tmp_path.iterdir()])  # nothing written
