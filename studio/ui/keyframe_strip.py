"""The keyframes of the walk as a strip of small images, in path order.

Click a keyframe to jump the walk to it; right-click (or Delete) removes it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem

from studio.ui.qimage import pixmap_from_array
from studio.ui.thumbnail_grid import blank_icon

KEY_PX = 40


class KeyframeStrip(QListWidget):
    jumpRequested = Signal(int)  # keyframe index
    removeRequested = Signal(int)  # keyframe index

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("keyframes")
        self.setViewMode(QListView.IconMode)
        self.setFlow(QListView.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Static)
        self.setIconSize(QSize(KEY_PX, KEY_PX))
        self.setGridSize(QSize(KEY_PX + 14, KEY_PX + 24))
        self.setSpacing(2)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setFixedHeight(KEY_PX + 24 + 8)
        self.setToolTip("Keyframes of the walk\nClick: go to it   Right-click or Delete: remove it")
        self._blank = blank_icon(KEY_PX)
        self.itemClicked.connect(lambda item: self.jumpRequested.emit(self.row(item)))

    def set_keyframes(self, seeds: list[int], images: dict[int, np.ndarray]) -> None:
        """Show keyframe `seeds` in order, with their images where known (uint8 HxWx3 by seed)."""
        current = self.currentRow()
        self.clear()
        for index, seed in enumerate(seeds):
            image = images.get(seed)
            icon = QIcon(pixmap_from_array(image, KEY_PX)) if image is not None else self._blank
            item = QListWidgetItem(icon, f"{index + 1} · {seed}")
            item.setToolTip(f"Keyframe {index + 1}: seed {seed}\nClick: go to it   Right-click: remove it")
            item.setTextAlignment(Qt.AlignHCenter)
            self.addItem(item)
        if 0 <= current < self.count():
            self.setCurrentRow(current)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.RightButton:
            item = self.itemAt(event.position().toPoint())
            if item is not None:
                self.removeRequested.emit(self.row(item))
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Delete, Qt.Key_Backspace) and self.currentRow() >= 0:
            self.removeRequested.emit(self.currentRow())
            event.accept()
            return
        super().keyPressEvent(event)
