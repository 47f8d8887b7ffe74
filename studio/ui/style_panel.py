"""The Style panel: restyle the canvas with a built-in style, a blend of them,
or any picture, with a live preview and a full-resolution Apply.

Built-in tab: 26 thumbnails rendered here from a picture made in code (click
one, Ctrl+click to blend; weights per row). Picture tab: style A (and B) from
a file, the active layer or the clipboard, an A -> B slider, and an animation
of the A -> B interpolation on the preview proxy.

Below both: strength, preserve colours, the stroke scale (the size the
network paints at: style_target.STROKE_SCALES) and where the result goes (the
whole image as a new layer, the active layer, or the selection with a
feathered edge; the selection when there is one, else the whole image). While
a control moves, the target at the stroke scale is stylized on the style
worker, newest request winning, and floats over the canvas; Apply paints at
the same size (in FULL_TILE px tiles), enlarges to the target's and lands as
ONE undoable command with the recipe on the layer, so the preview shows what
Apply makes. The GUI thread never runs a network, and copies the target's
pixels for the worker a band at a time between events
(ui/style_target_copies.py; an edit meanwhile starts the copy again once
edits pause).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QSlider, QSpinBox, QTabWidget, QVBoxLayout, QWidget)

from studio.core.document import Document, alpha_bounds
from studio.core.imageio import IMAGE_SUFFIXES
from studio.core.placement import fit_within
from studio.core.recipe import encode_latent
from studio.core.rect import is_empty, slices
from studio.engine.style import StyleError, Stylizer
from studio.ui.action_row import add_action_row
from studio.ui.animation_export import ANIMATION_FILTERS, animation_progress, with_suffix
from studio.ui.background_task import BackgroundTask, TaskCancelled, TaskSet
from studio.ui.canvas_view import CanvasView
from studio.ui.dialog_folder import remember, start_folder
from studio.ui.messages import one_line, show_error
from studio.ui.qimage import array_from_qimage
from studio.ui.style_picker import BuiltinPicker, ImageSlot, ImageStyle
from studio.ui.style_target import (DEFAULT_FEATHER, DEFAULT_STROKE_SCALE, FULL_TILE, MODES, STROKE_SCALES,
                                    StyleChoice, StyleTarget, animation_frames, builtin_styles, image_choice,
                                    landing_command, preview, render_full, style_recipe)
from studio.ui.style_target_copies import TargetCopies
from studio.ui.style_worker import StyleResult, StyleWorker, StylizerFactory

ANIMATION_FPS = 24
EDIT_SETTLE_MS = 150  # a preview follows edits (strokes, selections) once they pause this long
SLOT_PREVIEW_PX = 96  # the picture shown in a style slot
THUMBNAILS, PREVIEW, APPLY = "thumbnails", "preview", "apply"


class StylePanel(QWidget):
    message = Signal(str)  # a status line
    applied = Signal(int)  # id of the layer a result landed on (new layer or edited one)
    layerAdded = Signal(int)  # id of a new "Styled (...)" layer (whole-image mode), to compare without it
    _applyProgress = Signal(int, int)  # tiles done, of all; emitted on the worker thread

    def __init__(self, document: Callable[[], Document | None], canvas: CanvasView, stylizers: StylizerFactory,
                 parent=None):
        """document(): the open document or None. canvas: where the preview
        floats. stylizers(): a new Stylizer (called on a worker thread)."""
        super().__init__(parent)
        self._document, self.canvas = document, canvas
        self.worker = StyleWorker(stylizers, self)
        self.worker.done.connect(self._on_done)
        self._applyProgress.connect(self._show_apply_progress)
        self.worker.failed.connect(self._on_failed)
        self.waiting: dict[str, int] = {}  # channel -> serial whose result has not been handled yet
        self.tasks = TaskSet()
        self.last_preview: np.ndarray | None = None  # the image floating over the canvas now
        self.targets = TargetCopies(lambda: (self._document(), self.mode(), self.feather_spin.value()), self)
        self.targets.failed.connect(self._capture_failed)
        self._live = False  # the preview follows the controls (set by any interaction)
        self._watched: Document | None = None
        self._had_selection = False
        self._preview_error = ""
        self._applying = False
        self._cancel_apply = threading.Event()  # one per Apply: set by Cancel, polled between tiles
        self.full_tile = FULL_TILE  # px tiles of a full-size render

        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(EDIT_SETTLE_MS)
        self._settle.timeout.connect(self._after_edit)

        self._thumbnails_asked = False
        self._build()
        self.worker.start()
        self.set_document(document())

    # -- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(10, 4, 10, 8)
        root.setSpacing(6)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.picker = BuiltinPicker()
        self.picker.changed.connect(self._interacted)
        builtin_page = QWidget()
        page = QVBoxLayout(builtin_page)
        page.setContentsMargins(0, 6, 0, 0)
        page.addWidget(self.picker)
        self.tabs.addTab(builtin_page, "Built-in")
        self.tabs.addTab(self._picture_page(), "Picture")
        self.tabs.currentChanged.connect(lambda _i: self._interacted())
        root.addWidget(self.tabs)

        box = QGroupBox("Apply")
        box_layout = QVBoxLayout(box)
        form = QFormLayout()
        box_layout.addLayout(form)
        self.form = form
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)
        self.strength_slider = QSlider(Qt.Horizontal)
        self.strength_slider.setRange(0, 100)
        self.strength_slider.setValue(100)
        self.strength_slider.setToolTip("How much of the style: built-in styles mix the styled pixels with the "
                                        "original; a picture style moves from the image's own style toward it")
        self.strength_label = QLabel("100%")
        self.strength_label.setMinimumWidth(40)
        self.strength_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.strength_slider.valueChanged.connect(self._strength_moved)
        form.addRow("Strength", self._row(self.strength_slider, self.strength_label))
        self.preserve_check = QCheckBox("Preserve colours")
        self.preserve_check.setToolTip("Keep the image's own colours; take only light, shade and brushwork "
                                       "from the style")
        self.preserve_check.toggled.connect(lambda _on: self._interacted())
        form.addRow("", self.preserve_check)
        self.stroke_combo = QComboBox()
        for key, (_px, text) in STROKE_SCALES.items():
            self.stroke_combo.addItem(text, key)
        self.stroke_combo.setCurrentIndex(self.stroke_combo.findData(DEFAULT_STROKE_SCALE))
        self.stroke_combo.setToolTip("The size the style is painted at, then enlarged to the picture: smaller "
                                     "gives bigger brush strokes. The preview paints at the same size, so it "
                                     "shows what Apply makes")
        self.stroke_combo.activated.connect(lambda _i: self._interacted())
        form.addRow("Stroke scale", self.stroke_combo)
        self.mode_combo = QComboBox()
        for mode, text in MODES.items():
            self.mode_combo.addItem(text, mode)
        self.mode_combo.setToolTip("Where the style goes: the whole picture as a new layer on top, the active "
                                   "layer, or the active layer inside the selection (with a soft edge)")
        self.mode_combo.activated.connect(lambda _i: self._mode_changed())
        self.feather_spin = QSpinBox()
        self.feather_spin.setRange(0, 64)
        self.feather_spin.setValue(DEFAULT_FEATHER)
        self.feather_spin.setSuffix(" px")
        self.feather_spin.setToolTip("Soft edge around the selection")
        self.feather_spin.valueChanged.connect(lambda _v: self._interacted())
        form.addRow("Apply to", self.mode_combo)
        self._edge_row = self._row(self.feather_spin)
        self._edge_row.addStretch(1)
        form.addRow("Soft edge", self._edge_row)
        self.preview_check = QCheckBox("Live preview")
        self.preview_check.setChecked(True)
        self.preview_check.setToolTip("Show the style over the canvas while you choose, painted at the stroke "
                                      "scale as Apply paints it")
        self.preview_check.toggled.connect(self._preview_toggled)
        form.addRow("", self.preview_check)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Render at full resolution and put the result on the canvas (one undo step)")
        self.apply_button.clicked.connect(lambda: self.cancel_apply() if self._applying else self.apply())
        self.progress, self.hint = add_action_row(box_layout, self.apply_button)
        root.addWidget(box)
        root.addStretch(1)
        self._update_enabled()

    def _picture_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(8)
        self.slot_a = ImageSlot("A", clearable=False)
        self.slot_b = ImageSlot("B", clearable=True)
        for key, slot in (("a", self.slot_a), ("b", self.slot_b)):
            slot.fileRequested.connect(lambda k=key: self.choose_style_file(k))
            slot.layerRequested.connect(lambda k=key: self.style_from_layer(k))
            slot.pasteRequested.connect(lambda k=key: self.style_from_clipboard(k))
            layout.addWidget(slot)
        self.slot_b.cleared.connect(self._clear_b)
        self.mix_slider = QSlider(Qt.Horizontal)
        self.mix_slider.setRange(0, 100)
        self.mix_slider.setToolTip("Interpolate between the two styles: left A, right B")
        self.mix_label = QLabel("A")
        self.mix_label.setMinimumWidth(40)
        self.mix_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.mix_slider.valueChanged.connect(self._mix_moved)
        a_to_b = self._row(QLabel("A → B"), self.mix_slider, self.mix_label)
        layout.addLayout(a_to_b)
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(2, 600)
        self.frames_spin.setValue(48)
        self.frames_spin.setSuffix(" frames")
        self.frames_spin.setToolTip(f"Frames of the A → B animation ({ANIMATION_FPS} fps)")
        self.loop_check = QCheckBox("Back to A")
        self.loop_check.setToolTip("Go from A to B and back again, for a seamless loop")
        self.animation_button = QPushButton("Export Animation…")
        self.animation_button.setToolTip("Save the A → B interpolation on the preview image as GIF, MP4 or WebP")
        self.animation_button.clicked.connect(lambda: self.export_animation())
        layout.addLayout(self._row(self.frames_spin, self.loop_check))
        layout.addWidget(self.animation_button)
        hint = QLabel("Any picture can be a style: a painting, a photo, a texture.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addStretch(1)
        return page

    @staticmethod
    def _row(*widgets) -> QHBoxLayout:
        """Widgets side by side; a slider takes the spare width."""
        row = QHBoxLayout()
        row.setSpacing(6)
        for widget in widgets:
            row.addWidget(widget, 1 if isinstance(widget, QSlider) else 0)
        return row

    # -- state -------------------------------------------------------------------------------

    def mode(self) -> str:
        return self.mode_combo.currentData()

    def set_mode(self, mode: str) -> None:
        """Where Apply puts the result: "image", "layer" or "selection"."""
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))
        self._mode_changed()

    def settings(self) -> dict:
        """The style controls as a project keeps them (workspace "style"): the
        built-in blend, the picture styles A and B and their mix, the tab in
        front, strength and colour."""
        pictures = {key: slot.style_.to_json() for key, slot in (("a", self.slot_a), ("b", self.slot_b))
                    if slot.style_ is not None}
        return {"blend": [[i, int(w)] for i, w in self.picker.blend()], "strength": self.strength_slider.value(),
                "preserve_colour": self.preserve_check.isChecked(), "pictures": pictures,
                "mix": self.mix_slider.value(), "tab": "picture" if self.tabs.currentIndex() == 1 else "builtin",
                "stroke_scale": str(self.stroke_combo.currentData())}

    def apply_settings(self, settings: dict) -> None:
        """Put the controls back as settings() described them, without
        starting a preview (a reopened project is not the artist styling
        it); a value that is not one is skipped (a project's workspace is a
        convenience, not a contract)."""
        blockers = [QSignalBlocker(w) for w in (self.picker, self.strength_slider, self.preserve_check,
                                                  self.mix_slider, self.tabs)]
        try:
            self.picker.set_blend({int(i): int(w) for i, w in settings.get("blend", [])})
        except (TypeError, ValueError):
            pass
        for key, value in (("strength", settings.get("strength")), ("mix", settings.get("mix"))):
            if isinstance(value, int) and not isinstance(value, bool):
                (self.strength_slider if key == "strength" else self.mix_slider).setValue(value)
        if isinstance(settings.get("preserve_colour"), bool):
            self.preserve_check.setChecked(settings["preserve_colour"])
        pictures = settings.get("pictures") if isinstance(settings.get("pictures"), dict) else {}
        for key, slot in (("a", self.slot_a), ("b", self.slot_b)):
            style = ImageStyle.from_json(pictures.get(key))
            if style is not None:
                slot.set_style(style)
        if settings.get("stroke_scale") in STROKE_SCALES:
            self.stroke_combo.setCurrentIndex(self.stroke_combo.findData(settings["stroke_scale"]))
        if settings.get("tab") in ("builtin", "picture"):
            self.tabs.setCurrentIndex(1 if settings["tab"] == "picture" else 0)
        del blockers
        self.strength_label.setText(f"{self.strength_slider.value()}%")
        self._mix_label()
        self._update_enabled()

    def choice(self) -> StyleChoice | None:
        """The style the controls describe now; None on the Picture tab before A is chosen."""
        options = {"strength": self.strength_slider.value() / 100.0,
                   "preserve_colour": self.preserve_check.isChecked(),
                   "stroke_scale": str(self.stroke_combo.currentData())}
        if self.tabs.currentIndex() == 0:
            blend = self.picker.blend()
            return StyleChoice(weights=blend, names=tuple(self.picker.name(i) for i, _ in blend), **options)
        a, b = self.slot_a.style_, self.slot_b.style_
        if a is None:
            return None
        if b is None:
            return image_choice(a.vector, a.name, **options)
        return image_choice(a.vector, a.name, b.vector, b.name, self.mix_slider.value() / 100.0, **options)

    def busy(self) -> bool:
        """True while a result asked for has not come back (tests wait on this)."""
        return bool(self.waiting) or bool(self.tasks) or self.targets.is_waiting()

    def _update_enabled(self) -> None:
        doc = self._document()
        ready = doc is not None and self.choice() is not None
        self.apply_button.setEnabled(self._applying or ready)
        self.apply_button.setText("Cancel" if self._applying else "Apply")
        self.progress.setVisible(self._applying)
        two = self.slot_a.style_ is not None and self.slot_b.style_ is not None
        self.mix_slider.setEnabled(two)
        self.animation_button.setEnabled(two and doc is not None)
        self.form.setRowVisible(self._edge_row, self.mode() == "selection")
        layer_ok = doc is not None and doc.active is not None
        for slot in (self.slot_a, self.slot_b):
            slot.layer_button.setEnabled(layer_ok)

    def _strength_moved(self, value: int) -> None:
        self.strength_label.setText(f"{value}%")
        self._interacted()

    def _mix_moved(self, _value: int) -> None:
        self._mix_label()
        self._interacted()

    def _mix_label(self) -> None:
        value = self.mix_slider.value()
        self.mix_label.setText("A" if value == 0 else "B" if value == 100 else f"{value}% B")

    def _mode_changed(self) -> None:
        self._update_enabled()
        self._interacted()

    # -- document ----------------------------------------------------------------------------

    def set_document(self, doc: Document | None) -> None:
        """Follow `doc` (connect to the window's documentChanged). Drops the
        preview; the apply mode becomes the selection when there is one."""
        if self._watched is not None:
            self._watched.listeners.remove(self._document_edited)
        self._watched = doc
        if doc is not None:
            doc.listeners.append(self._document_edited)
        self.targets.forget()
        self.targets.stop()
        self._live = False
        for channel in (PREVIEW, APPLY):  # results for the previous document are dropped
            self.worker.cancel(channel)
            self.waiting.pop(channel, None)
        self._applying = False
        self.hide_preview()
        self._had_selection = doc is not None and bool(doc.mask.any())
        self._follow_selection(force=True)
        self._update_enabled()

    def _document_edited(self, _rect) -> None:
        # Called on every dab of a stroke: only note it; the work happens once edits pause.
        self._settle.start()

    def _after_edit(self) -> None:
        self._follow_selection()
        self._update_enabled()
        if self._live:
            self.request_preview()
        self.targets.resume()  # an edit abandoned the copy an Apply or a preview waits for

    def _follow_selection(self, force: bool = False) -> None:
        """Selection appears: apply to it; selection cleared: to the whole image."""
        doc = self._document()
        has = doc is not None and bool(doc.mask.any())
        if has == self._had_selection and not force:
            return
        self._had_selection = has
        if has:
            self.mode_combo.setCurrentIndex(self.mode_combo.findData("selection"))
        elif self.mode() == "selection":
            self.mode_combo.setCurrentIndex(self.mode_combo.findData("image"))

    def _capture_failed(self, channel: str, message: str) -> None:
        """There is nothing for `channel` to restyle: `message` says why."""
        if channel == PREVIEW:
            self.hint.setText(f"Nothing to preview: {message}")
            self.hide_preview()
        else:
            self._applying = False
            self._update_enabled()
            show_error(self, "Stylize", message)

    # -- preview -----------------------------------------------------------------------------

    def _interacted(self) -> None:
        self._update_enabled()
        if self.preview_check.isChecked() and self._document() is not None:
            self._live = True
            self.request_preview()

    def _preview_toggled(self, on: bool) -> None:
        if on:
            self._interacted()
        else:
            self._live = False
            self.targets.drop(PREVIEW)
            self.worker.cancel(PREVIEW)
            self.waiting.pop(PREVIEW, None)
            self.hide_preview()

    def request_preview(self) -> None:
        """Render the preview of the current controls on the worker."""
        choice = self.choice()
        if choice is None:
            self.hint.setText("Choose a picture for style A: a file, the active layer or the clipboard")
            self.hide_preview()
            return
        self.targets.when_ready(PREVIEW, lambda target: self._render_preview(target, choice))

    def _render_preview(self, target: StyleTarget, choice: StyleChoice) -> None:
        self.waiting[PREVIEW] = self.worker.submit(PREVIEW, lambda s: preview(s, target, choice), (target, choice))

    def hide_preview(self) -> None:
        if self.last_preview is not None:
            self.last_preview = None
            self.canvas.set_preview(None)

    def showEvent(self, event) -> None:
        # Thumbnails (and with them the style networks) load when the panel is first
        # seen, not at start-up, where the Latent panel's first render has the CPU.
        if not self._thumbnails_asked:
            self._thumbnails_asked = True
            self.waiting[THUMBNAILS] = self.worker.submit(THUMBNAILS, builtin_styles)
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        # Tabbed away (the Latent panel in front): the canvas shows the document again.
        self._live = False
        self.hide_preview()
        super().hideEvent(event)

    def _show_preview(self, result: StyleResult) -> None:
        target, choice = result.tag
        if not self._live or target.document is not self._document():
            return
        self.last_preview = result.value
        self.canvas.set_preview(result.value, target.rect)
        h, w = result.value.shape[:2]
        self._preview_error = ""
        self.hint.setText(f"Preview {w} × {h} px in {result.seconds:.2f} s · {choice.label}")

    # -- apply -------------------------------------------------------------------------------

    def apply(self) -> bool:
        """Render the current style at full resolution on the worker; the
        result lands as one undoable command. False (after saying why) when
        there is nothing to apply it to."""
        choice = self.choice()
        if choice is None:
            show_error(self, "Stylize", "Choose a picture for style A first: a file, the active layer or the "
                                        "clipboard")
            return False
        self._applying = True
        self._cancel_apply = threading.Event()
        self.progress.setRange(0, 0)  # busy until the first tile reports
        self._update_enabled()
        self.targets.when_ready(APPLY, lambda target: self._render_full(target, choice))
        return self._applying  # False when _capture_failed said why

    def _render_full(self, target: StyleTarget, choice: StyleChoice) -> None:
        w, h = target.rect[2] - target.rect[0], target.rect[3] - target.rect[1]
        self.hint.setText(f"Rendering {w} × {h} px…")
        self.message.emit(f"Stylizing {w} × {h} px…")
        cancelled = self._cancel_apply.is_set
        self.waiting[APPLY] = self.worker.submit(APPLY, lambda s: render_full(s, target, choice, self.full_tile,
                                                                              progress=self._applyProgress.emit,
                                                                              cancelled=cancelled),
                                                 (target, choice))

    def cancel_apply(self) -> None:
        """Stop a full-size render; nothing lands. The worker drops it at its
        next tile (a render not started yet never starts)."""
        self._cancel_apply.set()
        self.targets.drop(APPLY)
        self.worker.cancel(APPLY)
        self.waiting.pop(APPLY, None)
        self._applying = False
        self.hint.setText("Apply cancelled")
        self._update_enabled()

    def _show_apply_progress(self, done: int, total: int) -> None:
        if self._applying:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _land(self, result: StyleResult) -> None:
        target, choice = result.tag
        pixels, recipe = result.value
        doc = self._document()
        try:
            if doc is None:
                raise StyleError("the document was closed while the style was rendering")
            command, layer_id = landing_command(doc, target, pixels, recipe, choice.label)
            self._live = False
            self.worker.cancel(PREVIEW)
            self.waiting.pop(PREVIEW, None)
            self.hide_preview()
            doc.apply(command)
        except ValueError as exc:  # StyleError, DocumentError: one line each
            show_error(self, "Stylize", one_line(exc))
            return
        where = {"image": "a new layer", "layer": "the active layer", "selection": "the selection"}[target.mode]
        self.hint.setText(f"Applied {choice.label} to {where} in {result.seconds:.1f} s (Ctrl+Z undoes it)")
        self.message.emit(f"Stylized with {choice.label} in {result.seconds:.1f} s")
        self.applied.emit(layer_id)
        if target.mode == "image":
            self.layerAdded.emit(layer_id)

    # -- picture styles ----------------------------------------------------------------------

    def _slot(self, key: str) -> ImageSlot:
        return self.slot_a if key == "a" else self.slot_b

    def choose_style_file(self, key: str = "a") -> None:
        patterns = " ".join(f"*{suffix}" for suffix in sorted(IMAGE_SUFFIXES))
        chosen, _ = QFileDialog.getOpenFileName(self, f"Picture for Style {key.upper()}", str(start_folder()),
                                                f"Images ({patterns});;All files (*)")
        if chosen:
            remember(chosen)
            self.load_style_file(chosen, key)

    def load_style_file(self, path: str | Path, key: str = "a") -> int:
        """Read a picture file as style `key` ("a" or "b"): decoded and its
        style vector computed on the worker."""
        from studio.core.imageio import load_image

        target = Path(path)
        return self._read_style(key, target.name, lambda s: self._image_style(s, target.name, load_image(target)))

    def style_from_layer(self, key: str = "a") -> int | None:
        """The active layer (its opaque part) as style `key`."""
        doc = self._document()
        layer = doc.active if doc is not None else None
        if layer is None:
            show_error(self, "Picture Style", "There is no active layer to use as a style")
            return None
        rect = alpha_bounds(layer.pixels)
        if is_empty(rect):
            show_error(self, "Picture Style", f"Layer '{layer.name}' is empty; pick a layer with a picture on it")
            return None
        pixels = layer.pixels[slices(rect)].copy()
        name = f"layer '{layer.name}'"
        return self._read_style(key, name, lambda s: self._image_style(s, name, pixels))

    def style_from_clipboard(self, key: str = "a") -> int | None:
        """The picture on the clipboard as style `key`."""
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            show_error(self, "Picture Style", "The clipboard holds no picture; copy one first")
            return None
        pixels = array_from_qimage(image)
        return self._read_style(key, "clipboard", lambda s: self._image_style(s, "clipboard picture", pixels))

    @staticmethod
    def _image_style(stylizer: Stylizer, name: str, pixels: np.ndarray) -> ImageStyle:
        vector = stylizer.style_vector(pixels)
        return ImageStyle(name, fit_within(pixels, SLOT_PREVIEW_PX, SLOT_PREVIEW_PX), vector)

    def _read_style(self, key: str, what: str, job) -> int:
        self._slot(key).set_busy(what)
        self.tabs.setCurrentIndex(1)
        channel = f"style-{key}"
        serial = self.worker.submit(channel, job, key)
        self.waiting[channel] = serial
        return serial

    def _clear_b(self) -> None:
        self.worker.cancel("style-b")
        self.waiting.pop("style-b", None)
        self.slot_b.set_style(None)
        self.mix_slider.setValue(0)
        self._interacted()

    # -- animation ---------------------------------------------------------------------------

    def export_animation(self, path: str | Path | None = None, frames: int | None = None) -> BackgroundTask | None:
        """The A -> B interpolation on the preview proxy as GIF/MP4/WebP, on
        a worker thread with a progress dialog that can cancel."""
        from studio.core.animation import save_animation

        a, b = self.slot_a.style_, self.slot_b.style_
        if a is None or b is None:
            show_error(self, "Export Animation", "Choose two pictures, A and B, to animate between")
            return None
        try:
            target = self.targets.now()
        except StyleError as exc:
            show_error(self, "Export Animation", str(exc))
            return None
        if path is None:
            stem = f"{Path(a.name).stem}_to_{Path(b.name).stem}".replace("'", "").replace(" ", "_")
            chosen, selected = QFileDialog.getSaveFileName(self, "Export Animation", str(start_folder() / f"{stem}.gif"),
                                                           ";;".join(ANIMATION_FILTERS))
            if not chosen:
                return None
            path = with_suffix(chosen, selected, ANIMATION_FILTERS)
        out = Path(path)
        remember(out)
        count = int(frames or self.frames_spin.value())
        loop = self.loop_check.isChecked()
        choice = image_choice(a.vector, a.name, b.vector, b.name, 0.0, strength=self.strength_slider.value() / 100,
                              preserve_colour=self.preserve_check.isChecked())
        worker = self.worker

        def work(task: BackgroundTask) -> Path:
            total = 2 * count
            images = animation_frames(worker.using, target, choice, [a.vector, b.vector], count, loop,
                                      progress=lambda done, _n: task.report(done, total),
                                      cancelled=task.is_cancelled)
            if images is None:
                raise TaskCancelled()
            with worker.using() as stylizer:
                recipe = style_recipe(stylizer, choice, target, tile=0, style_vector_b=encode_latent(b.vector),
                                      interpolation=None, animation={"frames": count, "fps": ANIMATION_FPS,
                                                                     "loop": loop})
            written = save_animation(out, images, fps=ANIMATION_FPS, recipe=recipe,
                                     progress=lambda done, n: task.report(count + round(done * count / max(n, 1)),
                                                                          total),
                                     cancelled=task.is_cancelled)
            if not written:
                raise TaskCancelled()
            return out

        task = BackgroundTask(work)
        animation_progress(self, task, count, out)
        task.succeeded.connect(lambda p: self.message.emit(f"Exported {p}"))
        task.failed.connect(lambda msg: show_error(self, "Export Animation", msg))
        task.cancelled_done.connect(lambda: self.message.emit("Export cancelled; nothing was written"))
        self.message.emit(f"Exporting {out.name}…")
        self.tasks.start(task)
        return task

    # -- results -----------------------------------------------------------------------------

    def _on_done(self, result: StyleResult) -> None:
        channel = result.channel
        if self.waiting.get(channel) == result.serial:
            del self.waiting[channel]
        if not self.worker.is_current(channel, result.serial):
            return  # a newer request of this channel is on its way
        if channel == THUMBNAILS:
            self.picker.set_thumbnails(*result.value)
        elif channel == PREVIEW:
            self._show_preview(result)
        elif channel == APPLY:
            self._applying = False
            self._update_enabled()
            self._land(result)
        elif channel.startswith("style-"):
            self._slot(result.tag).set_style(result.value)
            self._interacted()
        self._update_enabled()

    def _on_failed(self, channel: str, serial: int, message: str) -> None:
        if self.waiting.get(channel) == serial:
            del self.waiting[channel]
        if not self.worker.is_current(channel, serial):
            return
        if channel == THUMBNAILS:  # nobody asked for them: said in the panel, not in a box
            self.picker.status.setText(f"No thumbnails: {message}")
        elif channel == PREVIEW:
            self.hint.setText(f"Preview failed: {message}")
            self.hide_preview()
            if message != self._preview_error:  # a slider drag must not raise a box per position
                self._preview_error = message
                show_error(self, "Style Preview", message)
        elif channel == APPLY:
            self._applying = False
            self.hint.setText(f"Apply failed: {message}")
            show_error(self, "Stylize", message)
        elif channel.startswith("style-"):
            key = channel[-1]
            self._slot(key).set_style(self._slot(key).style_)  # back to what it held
            show_error(self, "Picture Style", message)
        self._update_enabled()

    # -- lifetime ----------------------------------------------------------------------------

    def set_stylizer_factory(self, stylizers: StylizerFactory) -> None:
        """Run styles through new Stylizers from now on (another device); thumbnails are kept."""
        self.worker.set_factory(stylizers)
        self.targets.forget()

    def shutdown(self) -> None:
        """Cancel exports, finish the job in flight, end the worker (safe twice)."""
        self.targets.stop()
        self.tasks.finish_all(cancel=True)
        self.worker.stop()
        if self._watched is not None:
            self._watched.listeners.remove(self._document_edited)
            self._watched = None
