"""The keyframes of the walk as a strip of small images, in path order.

Click a keyframe to jump the walk to it; right-click (or Delete) removes it.
A picture keyframe shows what the model draws from its latent; hovering it
shows the picture itself, and its tooltip how close the two are. Image files
dropped on the strip are offered to the panel (when it can encode them).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem

from studio.core.imageio import IMAGE_SUFFIXES
from studio.core.walk import Keyframe, LatentKey, keyframe_label
from studio.ui.qimage import pixmap_from_array
from studio.ui.thumbnail_grid import blank_icon

KEY_PX = 40


class KeyframeStrip(QListWidget):
    jumpRequested = Signal(int)  # keyframe index
    removeRequested = Signal(int)  # keyframe index
    filesDropped = Signal(list)  # image file paths (str) dropped on the strip

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
        self._drawn: list[QIcon] = []  # per row: what the model draws
        self._originals: list[QIcon | None] = []  # per row: the picture itself, for a picture keyframe
        self._hovered = -1
        self.setMouseTracking(True)
        self.setDragDropMode(QAbstractItemView.DropOnly)
        self.setAcceptDrops(False)  # the panel allows drops when its model can encode pictures
        self.itemClicked.connect(lambda item: self.jumpRequested.emit(self.row(item)))

    def set_keyframes(self, keys: list[Keyframe], images: dict) -> None:
        """Show `keys` (seeds and pictures) in order, with their images where
        known (uint8 HxWx3 by keyframe)."""
        current = self.currentRow()
        self.clear()
        self._drawn, self._originals, self._hovered = [], [], -1
        for index, key in enumerate(keys):
            image = images.get(key)
            icon = QIcon(pixmap_from_array(image, KEY_PX)) if image is not None else self._blank
            if isinstance(key, LatentKey):
                label = keyframe_label(key, 7)
                # A picture's keyframe says how close the drawing is; a kept frame is only its name.
                what = f"the picture {key.name}, drawn back at {key.psnr:.1f} dB PSNR" if key.psnr is not None \
                    else key.name
                tip = (f"Keyframe {index + 1}: {what}\n"
                       f"{'Hover: the picture itself   ' if key.original is not None else ''}"
                       "Click: go to it   Right-click: remove it")
                original = QIcon(pixmap_from_array(key.original, KEY_PX)) if key.original is not None else None
            else:
                label, tip, original = str(key), f"Keyframe {index + 1}: seed {key}\nClick: go to it   " \
                                                 "Right-click: remove it", None
            item = QListWidgetItem(icon, f"{index + 1} · {label}")
            item.setToolTip(tip)
            item.setTextAlignment(Qt.AlignHCenter)
            self.addItem(item)
            self._drawn.append(icon)
            self._originals.append(original)
        if 0 <= current < self.count():
            self.setCurrentRow(current)

    def _show_hovered(self, row: int) -> None:
        """The picture itself under the pointer, the model's drawing elsewhere."""
        if row == self._hovered:
            return
        if 0 <= self._hovered < self.count():
            self.item(self._hovered).setIcon(self._drawn[self._hovered])
        self._hovered = row
        if 0 <= row < self.count() and self._originals[row] is not None:
            self.item(row).setIcon(self._originals[row])

    def mouseMoveEvent(self, event) -> None:
        item = self.itemAt(event.position().toPoint())
        self._show_hovered(self.row(item) if item is not None else -1)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        self._show_hovered(-1)
        super().leaveEvent(event)

    def _image_paths(self, event) -> list[str]:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [url.toLocalFile() for url in urls if url.isLocalFile()]
        return [p for p in paths if p.lower().endswith(tuple(IMAGE_SUFFIXES))]

    def dragEnterEvent(self, event) -> None:
        if self._image_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        paths = self._image_paths(event)
        if paths:
            event.acceptProposedAction()
            self.filesDropped.emit(paths)
        else:
            event.ignore()

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
