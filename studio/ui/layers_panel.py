"""The Layers panel: the stack top first, as in every painting program, with
visibility and lock per row, and the active layer's opacity and blend mode.

Every change goes through a command, so it is undoable like a stroke.
The panel redraws from the document whenever the document says it changed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QSlider, QToolButton, QVBoxLayout, QWidget)

from studio.core.blending import BLEND_MODES
from studio.core.commands import AddLayer, MoveLayerIndex, RemoveLayer, SetLayerProps
from studio.core.document import Document, DocumentError
from studio.core.layer_edits import duplicate_layer, flatten, merge_down
from studio.ui.messages import show_error
from studio.ui.qimage import pixmap_from_array

THUMB = 40  # px, the row's preview
THUMB_DELAY_MS = 300  # thumbnails follow a stroke a moment later, not on every dab


def _thumbnail(pixels: np.ndarray) -> QIcon:
    h, w = pixels.shape[:2]
    step = max(1, max(h, w) // (THUMB * 2))  # a cheap decimation before the smooth scale
    return QIcon(pixmap_from_array(np.ascontiguousarray(pixels[::step, ::step]), THUMB))


class LayersPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.document: Document | None = None
        self._syncing = False

        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setSelectionMode(QAbstractItemView.SingleSelection)
        self.list.currentRowChanged.connect(self._row_chosen)
        self.list.itemChanged.connect(self._item_edited)

        self.blend_combo = QComboBox()
        self.blend_combo.addItems([mode.capitalize() for mode in BLEND_MODES])
        self.blend_combo.activated.connect(lambda i: self._set_props(blend=BLEND_MODES[i]))
        self.opacity_slider = QSlider(Qt.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_label = QLabel("100%")
        self.opacity_label.setMinimumWidth(36)
        self.opacity_slider.valueChanged.connect(lambda v: self.opacity_label.setText(f"{v}%"))
        # One undo step per drag, not one per pixel of slider travel.
        self.opacity_slider.sliderReleased.connect(self._opacity_chosen)
        self.opacity_slider.valueChanged.connect(lambda _v: None if self.opacity_slider.isSliderDown()
                                                 else self._opacity_chosen())

        self.visible_button = self._button("Show or hide the layer", "Visible", checkable=True,
                                           slot=lambda on: self._set_props(visible=on))
        self.lock_button = self._button("Lock the layer against edits", "Lock", checkable=True,
                                        slot=lambda on: self._set_props(locked=on))
        self.add_button = self._button("New transparent layer (Ctrl+Shift+N)", "New", slot=self.add_layer)
        self.remove_button = self._button("Delete the layer", "Delete", slot=self.remove_layer)
        self.up_button = self._button("Move the layer up", "Up", slot=lambda: self.move_layer(+1))
        self.down_button = self._button("Move the layer down", "Down", slot=lambda: self.move_layer(-1))

        props = QHBoxLayout()
        props.addWidget(QLabel("Blend"))
        props.addWidget(self.blend_combo, 1)
        opacity = QHBoxLayout()
        opacity.addWidget(QLabel("Opacity"))
        opacity.addWidget(self.opacity_slider, 1)
        opacity.addWidget(self.opacity_label)
        flags = QHBoxLayout()
        flags.addWidget(self.visible_button)
        flags.addWidget(self.lock_button)
        flags.addStretch(1)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(props)
        layout.addLayout(opacity)
        layout.addLayout(flags)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(THUMB_DELAY_MS)
        self._thumb_timer.timeout.connect(self.sync)
        self.sync()

    def _button(self, tip: str, text: str, slot, checkable: bool = False) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(checkable)
        (button.toggled if checkable else button.clicked).connect(slot)
        return button

    # -- document ----------------------------------------------------------------------------

    def set_document(self, document: Document | None) -> None:
        if self.document is not None:
            self.document.listeners.remove(self._document_changed)
        self.document = document
        if document is not None:
            document.listeners.append(self._document_changed)
        self.sync()

    def _document_changed(self, rect) -> None:
        if rect is None:  # the layer list or a layer's properties: show it now
            self.sync()
        else:
            self._thumb_timer.start()  # pixels: coalesce a stroke's many touches into one redraw

    def sync(self) -> None:
        """Rebuild the rows and controls from the document."""
        doc = self.document
        self._syncing = True
        try:
            self.list.clear()
            layers = [] if doc is None else list(reversed(doc.layers))  # top first
            for layer in layers:
                item = QListWidgetItem(_thumbnail(layer.pixels), self._row_text(layer))
                item.setData(Qt.UserRole, layer.id)
                item.setFlags(item.flags() | Qt.ItemIsEditable)  # double-click renames
                self.list.addItem(item)
                if doc.active_id == layer.id:
                    self.list.setCurrentItem(item)
            active = doc.active if doc is not None else None
            for widget in (self.blend_combo, self.opacity_slider, self.visible_button, self.lock_button,
                           self.remove_button, self.up_button, self.down_button):
                widget.setEnabled(active is not None)
            self.add_button.setEnabled(doc is not None)
            if active is not None:
                self.blend_combo.setCurrentIndex(BLEND_MODES.index(active.blend))
                if not self.opacity_slider.isSliderDown():
                    self.opacity_slider.setValue(round(active.opacity * 100))
                self.visible_button.setChecked(active.visible)
                self.lock_button.setChecked(active.locked)
        finally:
            self._syncing = False

    @staticmethod
    def _row_text(layer) -> str:
        marks = ("" if layer.visible else " (hidden)") + (" (locked)" if layer.locked else "")
        return layer.name + marks

    def _row_chosen(self, row: int) -> None:
        if self._syncing or self.document is None or row < 0:
            return
        self.document.active_id = self.list.item(row).data(Qt.UserRole)
        self.sync()

    def _item_edited(self, item: QListWidgetItem) -> None:
        if self._syncing or self.document is None:
            return
        layer = self.document.layer(item.data(Qt.UserRole))
        name = item.text().strip()
        if name and name != self._row_text(layer):
            self._apply(SetLayerProps(layer.id, text="Rename Layer", name=name))
        else:
            self.sync()

    # -- edits -------------------------------------------------------------------------------

    def _apply(self, command) -> None:
        try:
            self.document.apply(command)
        except DocumentError as exc:
            show_error(self, "Layers", str(exc))
        self.sync()

    def _set_props(self, **props) -> None:
        doc = self.document
        if self._syncing or doc is None or doc.active is None:
            return
        changed = {k: v for k, v in props.items() if getattr(doc.active, k) != v}
        if changed:
            self._apply(SetLayerProps(doc.active.id, **changed))

    def _opacity_chosen(self) -> None:
        self._set_props(opacity=self.opacity_slider.value() / 100)

    def add_layer(self) -> None:
        doc = self.document
        if doc is None:
            return
        index = doc.index_of(doc.active_id) + 1 if doc.active is not None else len(doc.layers)
        self._apply(AddLayer(doc.new_layer(f"Layer {len(doc.layers) + 1}"), index, "New Layer"))

    def remove_layer(self) -> None:
        doc = self.document
        if doc is None or doc.active is None:
            return
        self._apply(RemoveLayer(doc.active_id, "Delete Layer"))

    def duplicate_layer(self) -> None:
        doc = self.document
        if doc is not None and doc.active is not None:
            self._apply(duplicate_layer(doc, doc.active_id))

    def merge_down(self) -> None:
        doc = self.document
        if doc is None or doc.active is None:
            return
        try:
            command = merge_down(doc, doc.active_id)
        except DocumentError as exc:  # the bottom layer, or a hidden one
            show_error(self, "Merge Down", str(exc))
            return
        self._apply(command)

    def flatten(self) -> None:
        if self.document is not None and self.document.layers:
            self._apply(flatten(self.document))

    def rename_layer(self) -> None:
        """Rename the active layer in its row (as a double-click does)."""
        row = self.list.currentRow()
        if self.document is not None and row >= 0:
            self.list.editItem(self.list.item(row))

    def move_layer(self, step: int) -> None:
        doc = self.document
        if doc is None or doc.active is None:
            return
        index = doc.index_of(doc.active_id) + step
        if 0 <= index < len(doc.layers):
            self._apply(MoveLayerIndex(doc.active_id, index))
