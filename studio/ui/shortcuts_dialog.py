"""Help > Keyboard Shortcuts: every shortcut the window has, read from its
actions when the dialog opens (so the list cannot drift from the app), and
the canvas's held keys and gestures, which are not actions."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

# Held keys and mouse gestures of the canvas (canvas_view.py, canvas_keys.py, the tools).
GESTURES = (
    ("Hold Tab", "See the image without the last generated layer or before the last fill"),
    ("Hold Space + drag", "Pan the canvas"),
    ("Middle-drag", "Pan the canvas"),
    ("Ctrl+wheel", "Zoom around the cursor"),
    ("Wheel, Shift+wheel", "Scroll up and down, sideways"),
    ("Ctrl+click", "Pick a colour (brush)"),
    ("Esc", "Cancel the stroke or selection being drawn, or hide the frame preview"),
)


def shortcut_rows(window: QWidget) -> list[tuple[str, str, str]]:
    """(keys, action, what it does) of every action of `window` with a
    shortcut, by menu text without its & marker, sorted by action."""
    rows = {}
    for action in window.findChildren(QAction):
        keys = ", ".join(s.toString(QKeySequence.NativeText) for s in action.shortcuts())
        name = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")
        if keys and name:
            rows[(name, keys)] = (keys, name, action.toolTip() if action.toolTip() != action.text() else "")
    return sorted(rows.values(), key=lambda row: row[1].lower())


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(560, 620)
        rows = shortcut_rows(window) + [(keys, what, "") for keys, what in GESTURES]
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        for row, (keys, name, tip) in enumerate(rows):
            for column, text in enumerate((keys, name)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)  # what the action's own tooltip says it does
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
