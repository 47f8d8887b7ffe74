"""The style panel's pickers: the built-in styles as thumbnails with their
blend, and a slot holding a picture used as a style.

Built-in styles: click a thumbnail to use that style alone, Ctrl+click to add
it to (or take it out of) the blend; each style of the blend is a row with a
weight slider and a remove button. The blend always holds at least one style.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem,
                               QSizePolicy, QSlider, QToolButton, QVBoxLayout, QWidget)

from studio.core.recipe import decode_latent, encode_latent
from studio.ui.qimage import pixmap_from_array
from studio.ui.thumbnail_grid import blank_icon

STYLE_COUNT = 26  # cells shown before the network has told its own count
THUMB_PX = 60  # shown size of a built-in style's thumbnail
ROW_THUMB_PX = 22
SLOT_THUMB_PX = 52
SLOT_THUMB_LIMIT_PX = 256  # the largest kept thumbnail a project may bring back (they are 96 px)
MAX_VECTOR = 4096  # numbers in a kept style vector (ours have 100)
DEFAULT_WEIGHT = 50  # slider value of a style added to a blend: all equal until moved
VISIBLE_ROWS = 3  # thumbnail rows in view; the rest scroll


class StyleGrid(QListWidget):
    """The built-in styles as a wrapping grid of thumbnails (extended selection:
    click picks one, Ctrl+click toggles one)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("styles")
        self.setViewMode(QListView.IconMode)
        self.setFlow(QListView.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.setGridSize(QSize(THUMB_PX + 8, THUMB_PX + 8))
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOn)  # 26 styles never fit: a steady width
        self.setFixedHeight(VISIBLE_ROWS * (THUMB_PX + 8) + 6)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMinimumWidth(3 * (THUMB_PX + 8) + 24)
        self.setToolTip("Click: use this style   Ctrl+click: add it to the blend (or take it out)")
        # A frame, not Fusion's thin underline, says which styles are in the blend.
        self.setStyleSheet("QListWidget#styles::item { border: 2px solid transparent; border-radius: 4px; }"
                           "QListWidget#styles::item:hover { border-color: palette(mid); }"
                           "QListWidget#styles::item:selected { border-color: palette(highlight);"
                           " background: transparent; }")

    def resizeEvent(self, event) -> None:
        # Cells share the width out evenly, so a wider dock shows more columns, never a ragged gap.
        width = self.viewport().width() - 4  # the icon view wraps a cell that touches the edge
        columns = max(1, width // (THUMB_PX + 8))
        cell = width // columns
        if self.gridSize().width() != cell:
            self.setGridSize(QSize(cell, THUMB_PX + 8))
        super().resizeEvent(event)


class BuiltinPicker(QWidget):
    """The 26 built-in styles and the blend made of them."""

    changed = Signal()  # the blend or a weight changed

    def __init__(self, parent=None):
        super().__init__(parent)
        self.names: list[str] = []  # the styles' names, from the network, once known
        self.thumbnails: list[np.ndarray] = []
        self.weights: dict[int, int] = {}  # style index -> slider weight 1..100, in the order added
        self._syncing = False
        self._blank = blank_icon(THUMB_PX)

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(4)
        self.grid = StyleGrid()
        self.grid.itemSelectionChanged.connect(self._selection_changed)
        root.addWidget(self.grid)
        self.status = QLabel("Rendering thumbnails…")
        self.status.setObjectName("hint")
        root.addWidget(self.status)
        self.rows_box = QWidget()
        self.rows = QVBoxLayout(self.rows_box)
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.rows.setSpacing(2)
        root.addWidget(self.rows_box)
        self.set_count(STYLE_COUNT)
        self.pick(0)

    # -- cells -----------------------------------------------------------------------------

    def set_count(self, count: int) -> None:
        """`count` cells (style 0..count-1); the blend keeps the styles that remain."""
        self._syncing = True
        self.grid.clear()
        for i in range(count):
            item = QListWidgetItem(self._blank, "")
            item.setToolTip(self._tip(i))
            item.setData(Qt.UserRole, i)
            item.setSizeHint(QSize(THUMB_PX + 8, THUMB_PX + 8))
            self.grid.addItem(item)
        self._syncing = False
        kept = {i: w for i, w in self.weights.items() if i < count} or {0: DEFAULT_WEIGHT}
        self.weights = {}
        self._set_blend(kept)

    def _tip(self, index: int) -> str:
        return f"{self.name(index)}\nClick: use it   Ctrl+click: add it to the blend"

    def name(self, index: int) -> str:
        """Style `index`'s name (the network's, once its thumbnails came; "Style N" before)."""
        return self.names[index] if index < len(self.names) else f"Style {index}"

    def set_thumbnails(self, images: list[np.ndarray], names: list[str] | None = None) -> None:
        """Show the rendered thumbnails (uint8 HxWx3, one per style) and the styles' names."""
        self.names = list(names or [])
        if len(images) != self.grid.count():
            self.set_count(len(images))
        self.thumbnails = list(images)
        for i in range(self.grid.count()):  # the names, without touching the blend (no preview is asked for)
            self.grid.item(i).setToolTip(self._tip(i))
        for i, image in enumerate(images):
            self.grid.item(i).setIcon(QIcon(pixmap_from_array(image, THUMB_PX)))
        self.status.setText("Click a style; Ctrl+click to blend several")
        self._rebuild_rows()

    def ready(self) -> bool:
        """True when every cell shows its thumbnail."""
        return bool(self.thumbnails) and len(self.thumbnails) == self.grid.count()

    # -- the blend -------------------------------------------------------------------------

    def pick(self, index: int) -> None:
        """Use style `index` alone."""
        self._set_blend({index: DEFAULT_WEIGHT})

    def toggle(self, index: int) -> None:
        """Add style `index` to the blend, or take it out (never the last one)."""
        blend = dict(self.weights)
        if index in blend:
            if len(blend) > 1:
                del blend[index]
        else:
            blend[index] = DEFAULT_WEIGHT
        self._set_blend(blend)

    def set_weight(self, index: int, weight: int) -> None:
        """Weight 1..100 of a style in the blend (relative to the others)."""
        if index in self.weights:
            self._row_sliders[index].setValue(int(weight))

    def set_blend(self, blend: dict[int, int]) -> None:
        """Use the styles of `blend` (index -> weight 1..100) together; what is
        out of range is left out, and nothing left picks style 0."""
        kept = {int(i): min(max(int(w), 1), 100) for i, w in blend.items() if 0 <= int(i) < self.grid.count()}
        self._set_blend(kept or {0: DEFAULT_WEIGHT})

    def blend(self) -> tuple[tuple[int, float], ...]:
        """(index, weight) pairs in the order the styles were added."""
        return tuple((i, float(w)) for i, w in self.weights.items())

    def _set_blend(self, blend: dict[int, int]) -> None:
        if blend == self.weights:
            return
        self.weights = dict(blend)
        self._syncing = True
        selection = self.grid.selectionModel()
        selection.clearSelection()
        for i in self.weights:
            if 0 <= i < self.grid.count():
                selection.select(self.grid.model().index(i, 0), QItemSelectionModel.Select)
        last = next(reversed(self.weights))
        if 0 <= last < self.grid.count():
            selection.setCurrentIndex(self.grid.model().index(last, 0), QItemSelectionModel.NoUpdate)
        self._syncing = False
        self._rebuild_rows()
        self.changed.emit()

    def _selection_changed(self) -> None:
        if self._syncing:
            return
        chosen = sorted(item.data(Qt.UserRole) for item in self.grid.selectedItems())
        if not chosen:  # Ctrl+click on the only style: keep it
            self._reselect()
            return
        # Styles already in the blend keep their weight and place; new ones go last.
        blend = {i: w for i, w in self.weights.items() if i in chosen}
        for i in chosen:
            blend.setdefault(i, DEFAULT_WEIGHT)
        self._set_blend(blend)

    def _reselect(self) -> None:
        current, self.weights = self.weights, {}
        self._set_blend(current)

    def _rebuild_rows(self) -> None:
        while self.rows.count():
            widget = self.rows.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self._row_sliders: dict[int, QSlider] = {}
        self._row_shares: dict[int, QLabel] = {}
        single = len(self.weights) == 1
        for index, weight in self.weights.items():
            row = QWidget()
            layout = QHBoxLayout(row)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.setSpacing(6)
            icon = QLabel()
            if index < len(self.thumbnails):
                icon.setPixmap(pixmap_from_array(self.thumbnails[index], ROW_THUMB_PX))
            icon.setFixedSize(ROW_THUMB_PX, ROW_THUMB_PX)
            layout.addWidget(icon)
            name = QLabel(self.name(index))
            name.setMinimumWidth(52)
            layout.addWidget(name)
            slider = QSlider(Qt.Horizontal)
            slider.setRange(1, 100)
            slider.setValue(weight)
            slider.setToolTip("Weight of this style in the blend (relative to the others)")
            slider.valueChanged.connect(lambda value, i=index: self._weight_moved(i, value))
            layout.addWidget(slider, 1)
            share = QLabel()
            share.setMinimumWidth(36)
            share.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            layout.addWidget(share)
            remove = QToolButton()
            remove.setText("✕")
            remove.setAutoRaise(True)
            remove.setToolTip("Take this style out of the blend")
            remove.clicked.connect(lambda _=False, i=index: self.toggle(i))
            layout.addWidget(remove)
            for widget in (slider, share, remove):  # one style alone has nothing to weigh
                widget.setVisible(not single)
            if single:
                layout.addStretch(1)
            self.rows.addWidget(row)
            self._row_sliders[index], self._row_shares[index] = slider, share
        self._show_shares()

    def _weight_moved(self, index: int, value: int) -> None:
        self.weights[index] = int(value)
        self._show_shares()
        self.changed.emit()

    def _show_shares(self) -> None:
        total = sum(self.weights.values())
        for index, label in self._row_shares.items():
            label.setText(f"{100 * self.weights[index] / total:.0f}%")


@dataclass
class ImageStyle:
    """A picture used as a style: its name, a small copy to show and its
    style vector (float32 [100])."""

    name: str
    thumbnail: np.ndarray
    vector: np.ndarray

    def to_json(self) -> dict:
        """What a project keeps of it (workspace "style"): the vector is the
        style, the PNG thumbnail only what the slot shows."""
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(self.thumbnail)).save(buffer, format="PNG")
        return {"name": self.name, "vector": encode_latent(self.vector),
                "thumbnail": base64.b64encode(buffer.getvalue()).decode("ascii")}

    @classmethod
    def from_json(cls, value: object) -> "ImageStyle | None":
        """The style to_json described, or None for anything that is not one
        (a project file is hostile input: the thumbnail is checked from its
        header before it is decoded)."""
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            return None
        try:
            vector = decode_latent(value.get("vector"))
            data = base64.b64decode(str(value.get("thumbnail", "")), validate=True)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
                if max(im.size) > SLOT_THUMB_LIMIT_PX:
                    return None
                thumbnail = np.array(im.convert("RGBA"), np.uint8)
        except (ValueError, OSError, binascii.Error):
            return None
        # The network checks the length when it runs (engine.style: one error line, not a crash).
        if not 0 < vector.size <= MAX_VECTOR or not np.all(np.isfinite(vector)):
            return None
        return cls(value["name"][:200], thumbnail, vector)


class ImageSlot(QWidget):
    """One picture style (A or B): its thumbnail and name, and buttons to take
    it from a file, the active layer or the clipboard (and to clear it)."""

    fileRequested = Signal()
    layerRequested = Signal()
    pasteRequested = Signal()
    cleared = Signal()

    def __init__(self, title: str, clearable: bool, parent=None):
        super().__init__(parent)
        self.style_: ImageStyle | None = None
        self._title = title
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.thumb = QLabel()
        self.thumb.setFixedSize(SLOT_THUMB_PX, SLOT_THUMB_PX)
        self.thumb.setAlignment(Qt.AlignCenter)
        self.thumb.setObjectName("slot_thumb")
        self.thumb.setStyleSheet("QLabel#slot_thumb { border: 1px dashed palette(mid); border-radius: 3px; }")
        layout.addWidget(self.thumb)
        column = QVBoxLayout()
        column.setSpacing(3)
        self.name = QLabel()
        self.name.setTextFormat(Qt.PlainText)
        self.name.setMinimumWidth(40)
        self.name.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # long file names must not widen the dock
        column.addWidget(self.name)
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        self.file_button = self._button("File…", "Use a picture file as the style", self.fileRequested)
        self.layer_button = self._button("Layer", "Use the active layer as the style", self.layerRequested)
        self.paste_button = self._button("Paste", "Use the picture on the clipboard as the style",
                                         self.pasteRequested)
        for button in (self.file_button, self.layer_button, self.paste_button):
            buttons.addWidget(button)
        if clearable:
            self.clear_button = self._button("✕", f"Forget style {title}", self.cleared)
            self.clear_button.setAutoRaise(True)
            buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        layout.addLayout(column, 1)
        self.set_style(None)

    @staticmethod
    def _button(text: str, tip: str, signal) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _=False: signal.emit())
        return button

    def set_busy(self, what: str) -> None:
        """Say that a picture is being read (its vector computed)."""
        self.name.setText(f"{self._title}: reading {what}…")

    def set_style(self, style: ImageStyle | None) -> None:
        self.style_ = style
        if style is None:
            self.thumb.clear()
            self.thumb.setText(self._title)
            self.name.setText(f"{self._title}: no picture yet")
            self.name.setToolTip("")
        else:
            self.thumb.setPixmap(pixmap_from_array(style.thumbnail, SLOT_THUMB_PX))
            self.name.setText(f"{self._title}: {style.name}")
            self.name.setToolTip(style.name)
        if hasattr(self, "clear_button"):
            self.clear_button.setEnabled(style is not None)
