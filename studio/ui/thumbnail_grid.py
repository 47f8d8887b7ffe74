"""A grid of sample thumbnails, one per seed; clicking one picks its seed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QToolButton, QWidget

from studio.ui.qimage import pixmap_from_array

THUMB_PX = 64  # 1:1 for the shipped 64 px models


def blank_icon(size: int) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)  # the button's themed background shows through, in any theme
    return QIcon(pixmap)


class ThumbnailGrid(QWidget):
    seedClicked = Signal(int)

    def __init__(self, count: int = 12, columns: int = 4, parent=None):
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.buttons: list[QToolButton] = []
        self.seeds: list[int] = []
        self.shown: dict[int, np.ndarray] = {}  # seed -> uint8 HxWx3 on its button now
        self._blank = blank_icon(THUMB_PX)
        for i in range(count):
            button = QToolButton(self)
            button.setObjectName("thumbnail")
            button.setToolButtonStyle(Qt.ToolButtonIconOnly)  # seeds are in the tooltip: the grid stays compact
            button.setIconSize(QSize(THUMB_PX, THUMB_PX))
            button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            button.setIcon(self._blank)
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, i=i: self._clicked(i))
            layout.addWidget(button, i // columns, i % columns)
            self.buttons.append(button)

    @property
    def count(self) -> int:
        return len(self.buttons)

    def set_cells(self, seeds: list[int], images: dict[int, np.ndarray]) -> None:
        """Label the cells with `seeds` and show the images known for them
        (uint8 HxWx3 by seed); a cell without an image is blank and disabled."""
        self.seeds = list(seeds)[: self.count]
        self.shown = {}
        for i, button in enumerate(self.buttons):
            seed = self.seeds[i] if i < len(self.seeds) else None
            image = images.get(seed) if seed is not None else None
            button.setText("" if seed is None else str(seed))  # for accessibility tools
            button.setToolTip("" if seed is None else f"Seed {seed}\nClick to add it as a keyframe")
            button.setIcon(QIcon(pixmap_from_array(image, THUMB_PX)) if image is not None else self._blank)
            button.setEnabled(image is not None)
            if image is not None:
                self.shown[seed] = image

    def ready(self) -> bool:
        """True when every cell shows its image."""
        return bool(self.seeds) and all(s in self.shown for s in self.seeds)

    def _clicked(self, index: int) -> None:
        if index < len(self.seeds):
            self.seedClicked.emit(self.seeds[index])
