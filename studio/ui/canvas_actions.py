"""The Edit, Select, Image and Layer menus: undo/redo, paste, selection
operations, crop, resize, flip and rotate, and placing the walk's frame on
the canvas.

Each action is one command on the open document, so each is one undo step.
A generated frame lands where the artist is working: fitted inside the
selection's box (its aspect kept, centred) with the selection as its alpha
when something is selected, else fitted inside the whole canvas; as a new
layer that keeps the frame's recipe (Ctrl+Enter), or filling the active
layer's pixels inside the selection (Ctrl+Shift+Enter; covering the box).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QInputDialog, QSpinBox

from studio.core import mask as mask_ops
from studio.core.clipboard_edits import copied_region, cut_command
from studio.core.commands import (AddLayer, Macro, PixelEdit, ResizeCanvas, ScaleImage, SetLayerProps, SetMask,
                                  TransformImage)
from studio.core.document import Document, DocumentError, check_size
from studio.core.placement import contain_layer, cover_rect
from studio.core.rect import slices
from studio.ui.messages import show_error
from studio.ui.qimage import array_from_qimage, qimage_from_array

MASK_OP_MAX_PX = 500


class SizeDialog(QDialog):
    """Width and height in px (Resize Canvas, Scale Image)."""

    def __init__(self, title: str, width: int, height: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.width_spin, self.height_spin = QSpinBox(), QSpinBox()
        for spin, value in ((self.width_spin, width), (self.height_spin, height)):
            spin.setRange(1, 32768)
            spin.setSuffix(" px")
            spin.setValue(value)
        form = QFormLayout(self)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def size(self) -> tuple[int, int]:
        return self.width_spin.value(), self.height_spin.value()


class CanvasActions(QObject):
    message = Signal(str)
    placed = Signal(int)  # id of the layer a generated frame landed on

    def __init__(self, window, document: Callable[[], Document | None], frame: Callable[[], tuple | None]):
        """document(): the open document. frame(): (image uint8 HxWx3, recipe dict) of
        the walk's current frame, or None."""
        super().__init__(window)
        self.window, self._document, self._frame = window, document, frame
        a = self._action
        self.undo_action = a("&Undo", QKeySequence.Undo, self.undo)
        self.redo_action = a("&Redo", "Ctrl+Shift+Z", self.redo)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.cut_action = a("Cu&t", QKeySequence.Cut, lambda: self.copy(cut=True))
        self.copy_action = a("&Copy", QKeySequence.Copy, self.copy)
        self.paste_action = a("&Paste as Layer", QKeySequence.Paste, self.paste)
        self._copied: tuple[np.ndarray, tuple[int, int]] | None = None  # our last copy and where it came from
        self.select_all_action = a("Select &All", "Ctrl+A", lambda: self._set_mask(lambda m: np.full_like(m, 255),
                                                                                 "Select All"))
        self.deselect_action = a("&Deselect", "Ctrl+Shift+A", lambda: self._set_mask(np.zeros_like, "Deselect"))
        self.invert_action = a("&Invert Selection", "Ctrl+I", lambda: self._set_mask(mask_ops.invert,
                                                                                   "Invert Selection"))
        self.grow_action = a("&Grow Selection…", None, lambda: self._mask_by_px("Grow Selection", mask_ops.grow))
        self.shrink_action = a("&Shrink Selection…", None, lambda: self._mask_by_px("Shrink Selection",
                                                                                     mask_ops.shrink))
        self.feather_action = a("&Feather Selection…", None, lambda: self._mask_by_px("Feather Selection",
                                                                                       mask_ops.feather))
        self.crop_action = a("&Crop to Selection", None, self.crop_to_selection)
        self.resize_action = a("Resize &Canvas…", None, self.resize_canvas)
        self.scale_action = a("&Scale Image…", None, self.scale_image)
        self.transform_actions = [a(text, None, lambda kind=kind, text=text: self._apply(TransformImage(kind), text))
                                  for kind, (text, _) in TransformImage.TRANSFORMS.items()]
        self.place_action = a("&Place Generated as Layer", "Ctrl+Return", self.place_as_layer)
        self.replace_action = a("&Replace Selection with Generated", "Ctrl+Shift+Return", self.replace_in_selection)

    def _action(self, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(action)  # keys work wherever the focus is
        return action

    def add_to(self, menus: dict) -> None:
        edit, select, image, layer = menus["edit"], menus["select"], menus["image"], menus["layer"]
        for action in (self.undo_action, self.redo_action, None, self.cut_action, self.copy_action,
                       self.paste_action):
            edit.addSeparator() if action is None else edit.addAction(action)
        for action in (self.select_all_action, self.deselect_action, self.invert_action, None, self.grow_action,
                       self.shrink_action, self.feather_action):
            select.addSeparator() if action is None else select.addAction(action)
        for action in (self.crop_action, self.resize_action, self.scale_action, None, *self.transform_actions):
            image.addSeparator() if action is None else image.addAction(action)
        for action in (self.place_action, self.replace_action):
            layer.addAction(action)

    def update_labels(self) -> None:
        """Undo/Redo say what they would undo; actions without a document grey out."""
        doc = self._document()
        self.undo_action.setText(f"&Undo {doc.undo_text}" if doc is not None and doc.can_undo else "&Undo")
        self.redo_action.setText(f"&Redo {doc.redo_text}" if doc is not None and doc.can_redo else "&Redo")
        self.undo_action.setEnabled(doc is not None and doc.can_undo)
        self.redo_action.setEnabled(doc is not None and doc.can_redo)
        for action in (self.select_all_action, self.deselect_action, self.invert_action, self.grow_action,
                       self.shrink_action, self.feather_action, self.crop_action, self.resize_action,
                       self.scale_action, self.replace_action, self.cut_action, self.copy_action,
                       *self.transform_actions):
            action.setEnabled(doc is not None)

    # -- edits -------------------------------------------------------------------------------

    def _apply(self, command, title: str) -> bool:
        doc = self._document()
        if doc is None:
            return False
        try:
            doc.apply(command)
        except DocumentError as exc:
            show_error(self.window, title, str(exc))
            return False
        return True

    def undo(self) -> None:
        doc = self._document()
        if doc is not None and doc.undo():
            self.message.emit(f"Undid {doc.redo_text}")

    def redo(self) -> None:
        doc = self._document()
        if doc is not None and doc.redo():
            self.message.emit(f"Redid {doc.undo_text}")

    def copy(self, cut: bool = False) -> None:
        """The active layer inside the selection (or all of it) to the system
        clipboard; a cut also clears it there, as one undo step."""
        doc = self._document()
        if doc is None:
            return
        title = "Cut" if cut else "Copy"
        try:
            pixels, rect = copied_region(doc)
        except DocumentError as exc:
            show_error(self.window, title, str(exc))
            return
        QGuiApplication.clipboard().setImage(qimage_from_array(pixels))
        self._copied = (pixels, (rect[0], rect[1]))
        if cut and not self._apply(cut_command(doc, rect), title):
            return
        self.message.emit(f"{'Cut' if cut else 'Copied'} {pixels.shape[1]} × {pixels.shape[0]} px")

    def paste(self) -> None:
        """The clipboard's picture as a new layer: where it was copied from
        when it is our own copy, else at the selection, else centred."""
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.message.emit("The clipboard holds no image")
            return
        pixels = array_from_qimage(image)
        ours = self._copied is not None and np.array_equal(self._copied[0], pixels)
        self.window.files.add_image_layer(pixels, "Pasted", self._copied[1] if ours else None)

    def _set_mask(self, make: Callable[[np.ndarray], np.ndarray], text: str) -> None:
        doc = self._document()
        if doc is not None:
            self._apply(SetMask(make(doc.mask), text), text)

    def _mask_by_px(self, text: str, op: Callable[[np.ndarray, float], np.ndarray]) -> None:
        doc = self._document()
        if doc is None:
            return
        if not doc.mask.any():
            self.message.emit(f"{text}: nothing is selected")
            return
        px, ok = QInputDialog.getInt(self.window, text, "Pixels:", 8, 1, MASK_OP_MAX_PX)
        if ok:
            self._set_mask(lambda m: op(m, px), text)

    def crop_to_selection(self) -> None:
        doc = self._document()
        if doc is None:
            return
        box = mask_ops.bbox(doc.mask)
        if box is None:
            self.message.emit("Crop to Selection: nothing is selected")
            return
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        # ResizeCanvas anchors by fraction of the space removed on each side.
        ax = x0 / (doc.width - w) if doc.width != w else 0.5
        ay = y0 / (doc.height - h) if doc.height != h else 0.5
        self._apply(ResizeCanvas(w, h, ax, ay, text="Crop"), "Crop")

    def resize_canvas(self) -> None:
        self._resize("Resize Canvas", lambda w, h: ResizeCanvas(w, h, 0.5, 0.5))

    def scale_image(self) -> None:
        self._resize("Scale Image", lambda w, h: ScaleImage(w, h))

    def _resize(self, title: str, command) -> None:
        doc = self._document()
        if doc is None:
            return
        dialog = SizeDialog(title, doc.width, doc.height, self.window)
        if dialog.exec() != QDialog.Accepted:
            return
        try:
            width, height = check_size(*dialog.size())
        except DocumentError as exc:
            show_error(self.window, title, str(exc))
            return
        self._apply(command(width, height), title)

    # -- generated frames --------------------------------------------------------------------

    def target_rect(self, doc: Document):
        """Where a generated frame lands: the selection's box, else the canvas."""
        return mask_ops.bbox(doc.mask) or doc.rect

    def place_as_layer(self) -> None:
        frame = self._frame()
        if frame is None:
            self.message.emit("Nothing generated yet: pick a sample in the Latent panel")
            return
        image, recipe = frame
        self.place(image, recipe, f"Generated ({recipe['model']['name']})", "Place Generated")

    def place(self, image: np.ndarray, recipe: dict, name: str, text: str) -> None:
        """Put `image` (uint8 HxWx3 or HxWx4) on the canvas as a new layer
        `name` carrying `recipe`, where a generated frame lands (module
        docstring), as the undo step `text`; with no document open it
        becomes the document."""
        doc = self._document()
        if doc is None:  # an empty workspace: the frame becomes the document
            self.window.files.adopt(Document.from_image(image, name), None, "Untitled")
            doc = self._document()
            doc.layers[0].recipe = recipe
            self.placed.emit(doc.layers[0].id)
            return
        pixels = contain_layer(image, doc.width, doc.height, self.target_rect(doc))
        if doc.mask.any():  # the selection is the new layer's alpha: it lands only inside
            pixels[..., 3] = (pixels[..., 3].astype(np.uint16) * doc.mask // 255).astype(np.uint8)
        layer = doc.new_layer(name, pixels, recipe=recipe)
        if self._apply(AddLayer(layer, text=text), text):
            self.placed.emit(layer.id)

    def replace_in_selection(self) -> None:
        frame, doc = self._frame(), self._document()
        if frame is None or doc is None:
            self.message.emit("Replace needs a document and a generated frame")
            return
        box = mask_ops.bbox(doc.mask)
        layer = doc.active
        if box is None or layer is None:
            self.message.emit("Replace Selection: select a region of a layer first")
            return
        image, recipe = frame
        region = slices(box)
        fill = cover_rect(image, doc.width, doc.height, box)[region]
        before = layer.pixels[region].copy()
        after = mask_ops.apply_within(before, fill, doc.mask[region])
        edit = Macro([PixelEdit(layer.id, box, before, after), SetLayerProps(layer.id, recipe=recipe)],
                     "Replace with Generated")
        if self._apply(edit, "Replace Selection"):
            self.placed.emit(layer.id)
