"""The Inpaint panel: remove what the mask covers and fill the hole from its
surroundings: Auto (an inpaint model, PatchMatch for the holes too thin for
it), the model alone, OpenCV's Telea / Navier-Stokes or a PatchMatch
content-aware fill.

Paint over an object with the Mask Brush (or select it) and press Fill
(Ctrl+Shift+F); with "Fill on release" ticked, finishing a mask stroke or a
selection while this panel is open fills at once. The fill runs on a worker
thread, newest request winning (a stroke made while one is filling replaces
it), and lands as ONE undoable command: a new layer "Inpaint (...)" holding
the filled pixels, or the active layer's pixels filled in place, with the
mask cleared in the same step when "Clear mask after fill" is ticked. A
result computed for a document that has changed since is dropped, never
pasted over newer work. Hold Tab on the canvas to see the image without the
last fill.

The choices are kept with the app's settings (inpaint/...).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from studio.core.document import Document
from studio.core.rect import Rect
from studio.engine.inpaint import CLASSICAL_METHODS, KIND, MODEL_METHODS, InpaintError
from studio.engine.registry import ModelEntry
from studio.engine.runtime import Runtime
from studio.ui.action_row import add_action_row
from studio.ui.canvas_view import CanvasView
from studio.ui.inpaint_target import METHOD_LABELS, TARGETS, capture_fill, landing_command, run_fill
from studio.ui.job_worker import JobResult, JobWorker
from studio.ui.messages import one_line, show_error
from studio.ui.preferences import saved_choice, saved_flag, settings

FILL, WARM = "fill", "warm"
FILL_SHORTCUT = "Ctrl+Shift+F"
EDIT_SETTLE_MS = 150  # the Fill button follows mask edits once they pause this long
KEY = "inpaint/"
DEFAULT_TARGET = "new"  # non-destructive: the fill on a layer of its own, as Photoshop's content-aware fill
METHOD_TIPS = {
    "auto": "Each hole by the inpaint model, or by Content-aware where it is too thin for the model to draw into "
            "(scratches, wires, thin strokes). ",
    "learned": "The inpaint model alone. ",
    "telea": "OpenCV's fast marching fill (Telea): quick; good for scratches, wires and small objects",
    "ns": "OpenCV's Navier-Stokes fill: smooth continuation of the edges around small holes",
    "patchmatch": "Content-aware fill (PatchMatch): rebuilds the hole from patches of the picture around it, so "
                  "wood, grass, brick or noise go on through it; slower",
}
NO_MODEL_TIP = ("No inpaint model is installed: train one (studio train --task inpaint) or copy one into "
                "your models folder; Telea and Navier-Stokes work without one")


class InpaintPanel(QWidget):
    message = Signal(str)  # a status line
    filled = Signal(int)  # id of the layer a fill landed on (new layer or filled one)
    layerAdded = Signal(int)  # id of a new "Inpaint (...)" layer, to compare without it
    filledInPlace = Signal()  # a layer's own pixels were filled: before_view() shows them as they were

    def __init__(self, document: Callable[[], Document | None], canvas: CanvasView,
                 runtime: Callable[[], Runtime], parent=None):
        """document(): the open document or None. canvas: where strokes end
        and results show. runtime(): the Runtime learned fills run on now."""
        super().__init__(parent)
        self._document, self.canvas, self._runtime = document, canvas, runtime
        self.models: list[ModelEntry] = []  # usable inpaint models, in registry order
        self.worker = JobWorker(self)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.waiting: int | None = None  # serial of the fill asked for and not handled yet
        self._waiting_auto = False  # that fill was started by a finished stroke, not by the user
        self._held: JobResult | None = None  # a fill that came back mid-stroke: handled when the stroke ends
        self._before: tuple[np.ndarray, np.ndarray, Rect, Document] | None = None  # last in-place fill
        self._last_auto_error = ""
        self._warmed: set[str] = set()  # models whose session was opened ahead of the first fill
        self._watched: Document | None = None

        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(EDIT_SETTLE_MS)
        self._settle.timeout.connect(self._after_edit)

        self.fill_action = QAction("&Fill Mask (Inpaint)", self)
        self.fill_action.setShortcut(QKeySequence(FILL_SHORTCUT))
        self.fill_action.setToolTip("Remove what the mask covers and fill it from its surroundings")
        self.fill_action.triggered.connect(lambda: self.fill())
        self._build()
        self.canvas.strokeFinished.connect(self._stroke_finished)
        self.worker.start()
        self.set_document(document())

    # -- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(10, 4, 10, 8)
        root.setSpacing(6)
        intro = QLabel("Paint over what should go with the Mask Brush (M), or select it, then Fill. "
                       "Hold Tab on the canvas to compare.")
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        root.addWidget(intro)

        box = QGroupBox("Fill")
        box_layout = QVBoxLayout(box)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)
        box_layout.addLayout(form)
        self.method_combo = QComboBox()
        self.method_combo.setToolTip("How the hole is filled: with an inpaint model (Auto hands it the holes "
                                     "thick enough for it, the rest to Content-aware), or by a classical "
                                     "method (no model needed)")
        self.method_combo.activated.connect(lambda _i: self._method_chosen())
        form.addRow("Method", self.method_combo)
        self.target_combo = QComboBox()
        for mode, text in TARGETS.items():
            self.target_combo.addItem(text, mode)
        self.target_combo.setToolTip("Where the fill goes: a new layer on top (the picture below stays as it was), "
                                     "or into the active layer's own pixels")
        self.target_combo.setCurrentIndex(
            self.target_combo.findData(saved_choice(KEY + "target", TARGETS, DEFAULT_TARGET)))
        self.target_combo.activated.connect(
            lambda _i: settings().setValue(KEY + "target", self.target_combo.currentData()))
        form.addRow("Result", self.target_combo)
        self.release_check = _saved_check("Fill on release", "fill_on_release",
                                          "While this panel is open, finishing a Mask Brush stroke or a "
                                          "selection fills it at once")
        form.addRow("", self.release_check)
        self.clear_check = _saved_check("Clear mask after fill", "clear_mask",
                                        "Empty the mask once the fill lands (in the same undo step), so the result "
                                        "shows without the red film and the next stroke starts afresh")
        form.addRow("", self.clear_check)

        self.fill_button = QPushButton("Fill")
        self.fill_button.setToolTip(f"Fill the masked area ({FILL_SHORTCUT}); one undo step")
        self.fill_button.clicked.connect(lambda: self.fill())
        self.progress, self.hint = add_action_row(box_layout, self.fill_button)  # a fill has no count to show
        root.addWidget(box)
        root.addStretch(1)
        self._fill_methods()

    # -- methods -----------------------------------------------------------------------------

    def set_models(self, entries: list[ModelEntry]) -> None:
        """The models the app found (any kind; connect to the model scan):
        the usable inpaint ones become Learned choices."""
        self.models = [e for e in entries if e.kind == KIND and e.usable]
        self._fill_methods()

    def _fill_methods(self) -> None:
        combo = self.method_combo
        combo.clear()
        if self.models:
            for method in MODEL_METHODS:
                for entry in self.models:
                    about = entry.manifest.get("description") or f"The inpaint model '{entry.name}'"
                    combo.addItem(f"{METHOD_LABELS[method]} — {entry.name}", f"{method}:{entry.name}")
                    combo.setItemData(combo.count() - 1, f"{METHOD_TIPS[method]}{about}", Qt.ToolTipRole)
        else:
            combo.addItem("Learned (no model installed)", "learned")
            combo.model().item(0).setEnabled(False)
            combo.setItemData(0, NO_MODEL_TIP, Qt.ToolTipRole)
        for method in CLASSICAL_METHODS:
            combo.addItem(METHOD_LABELS[method], method)
            combo.setItemData(combo.count() - 1, METHOD_TIPS[method], Qt.ToolTipRole)
        self._select_method(saved_choice(KEY + "method", self._choices(), "auto"))

    def _choices(self) -> list[str]:
        return [*MODEL_METHODS, *(f"{m}:{e.name}" for m in MODEL_METHODS for e in self.models), *CLASSICAL_METHODS]

    def _select_method(self, wanted: str) -> None:
        """Select `wanted` ("auto" or "learned", either with ":NAME", or a
        classical method); a model's method without that model falls back to
        the first model, then Telea."""
        combo = self.method_combo
        index = combo.findData(wanted)
        if index < 0 or not combo.model().item(index).isEnabled():
            method = wanted.split(":", 1)[0]
            index = (combo.findData(f"{method}:{self.models[0].name}") if method in MODEL_METHODS and self.models
                     else combo.findData("telea"))
        combo.setCurrentIndex(index)
        self._update_method_tip()

    def _method_chosen(self) -> None:
        settings().setValue(KEY + "method", self.method_combo.currentData())
        self._update_method_tip()
        self.warm_up()

    def _update_method_tip(self) -> None:
        tip = self.method_combo.itemData(self.method_combo.currentIndex(), Qt.ToolTipRole)
        if not self.models:
            tip = f"{tip}. {NO_MODEL_TIP}"
        self.method_combo.setToolTip(tip or "")

    def method(self) -> tuple[str, ModelEntry | None]:
        """(method, model): "auto" or "learned" with its ModelEntry, or a classical method with None."""
        data = self.method_combo.currentData() or "telea"
        method, _, name = data.partition(":")
        if name:
            return method, next(e for e in self.models if e.name == name)
        return data, None

    def set_method(self, method: str, model: str | None = None) -> None:
        """Choose "auto" or "learned" (the model named `model`, default the first) or a classical method."""
        self._select_method(f"{method}:{model}" if method in MODEL_METHODS and model else method)
        self._method_chosen()

    def target(self) -> str:
        """Where fills go: "new" (a new layer) or "layer" (the active layer, in place)."""
        return self.target_combo.currentData()

    def set_target(self, mode: str) -> None:
        self.target_combo.setCurrentIndex(self.target_combo.findData(mode))
        settings().setValue(KEY + "target", mode)

    def warm_up(self) -> None:
        """Open the chosen model's session on the worker ahead of the first
        fill, so the first stroke fills as fast as the next ones (call when
        the panel comes into view)."""
        method, model = self.method()
        if method not in MODEL_METHODS or model.sha256 in self._warmed:
            return
        self._warmed.add(model.sha256)
        runtime = self._runtime()
        self.worker.submit(WARM, lambda: runtime.session(model.onnx_path), model.name)

    def showEvent(self, event) -> None:
        if self.in_view():
            self.warm_up()
        super().showEvent(event)

    def in_view(self) -> bool:
        """True while the panel can be seen: a dock tabbed behind another stays
        'visible' to Qt, but nothing of it is on screen."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    # -- document ----------------------------------------------------------------------------

    def set_document(self, doc: Document | None) -> None:
        """Follow `doc` (connect to the window's documentChanged); fills in
        flight for the previous one are dropped."""
        if self._watched is not None:
            self._watched.listeners.remove(self._document_edited)
        self._watched = doc
        if doc is not None:
            doc.listeners.append(self._document_edited)
        self.worker.cancel(FILL)
        self.waiting, self._held, self._before = None, None, None
        self._update_enabled()

    def _document_edited(self, _rect) -> None:
        # Called on every dab of a stroke: only note it; look at the mask once edits pause.
        self._settle.start()

    def _after_edit(self) -> None:
        held = self._held
        if held is not None and not self.canvas.is_drawing():  # the stroke was abandoned (Escape)
            self._held = None
            self._land(held)
        self._update_enabled()

    def busy(self) -> bool:
        """True while a fill asked for has not been handled (tests wait on this)."""
        return self.waiting is not None or self._held is not None

    def _update_enabled(self) -> None:
        doc = self._document()
        masked = doc is not None and bool(doc.mask.any())
        self.fill_button.setEnabled(masked)
        self.fill_action.setEnabled(doc is not None)
        self.progress.setVisible(self.busy())

    # -- filling -----------------------------------------------------------------------------

    def fill(self, auto: bool = False) -> int | None:
        """Fill the masked area with the chosen method on the worker; the
        result lands as one undoable command. Returns the job's serial, or
        None when there is nothing to fill (said in the status bar). auto:
        started by a finished stroke (a repeated error is not boxed again)."""
        doc = self._document()
        if doc is None:
            self.message.emit("Nothing to fill: open an image first")
            return None
        if self.canvas.is_drawing():  # the mask may be half painted; its end fills (on release) or Fill does
            self.message.emit("Finish the stroke first, then fill")
            return None
        try:
            target = capture_fill(doc, self.target())
        except InpaintError as exc:
            text = one_line(exc)
            self.hint.setText(f"Nothing filled: {text}")
            self.message.emit(f"Nothing to fill: {text}")
            return None
        method, model = self.method()
        runtime = self._runtime() if method in MODEL_METHODS else None
        self._held = None  # a newer fill replaces one that waited for a stroke to end
        serial = self.worker.submit(FILL, lambda: run_fill(target, method, model, runtime), (target, auto))
        self.waiting, self._waiting_auto = serial, auto
        x0, y0, x1, y1 = target.hole_box
        self.hint.setText(f"Filling {x1 - x0} × {y1 - y0} px…")
        self._update_enabled()
        return serial

    def _stroke_finished(self, tool) -> None:
        doc = self._document()
        auto = (self.release_check.isChecked() and self.in_view() and getattr(tool, "makes_mask", False)
                and doc is not None and bool(doc.mask.any()))
        held, self._held = self._held, None
        if held is not None and not auto:  # with auto a newer fill replaces it
            self._land(held)
        if auto:
            self.fill(auto=True)
        self._update_enabled()

    def _land(self, result: JobResult) -> None:
        target, _auto = result.tag
        fill = result.value
        doc = self._document()
        try:
            command, layer_id = landing_command(doc, target, fill, self.clear_check.isChecked())
        except InpaintError as exc:  # the document changed meanwhile: expected while painting on
            self.hint.setText(f"Not filled: {one_line(exc)}")
            self.message.emit(f"Not filled: {one_line(exc)}")
            return
        before = doc.composite(fill.rect) if target.mode == "layer" else None
        try:
            doc.apply(command)
        except ValueError as exc:  # DocumentError: one line
            show_error(self, "Inpaint", one_line(exc))
            return
        if before is not None:
            self._before = (before, doc.composite(fill.rect), fill.rect, doc)
            self.filledInPlace.emit()
        else:
            self._before = None
            self.layerAdded.emit(layer_id)
        w, h = fill.rect[2] - fill.rect[0], fill.rect[3] - fill.rect[1]
        where = "a new layer" if target.mode == "new" else f"layer '{target.layer_name}'"
        self.hint.setText(f"Filled {w} × {h} px of {where} with {fill.label} in {result.seconds:.2f} s "
                          "(hold Tab to compare, Ctrl+Z undoes it)")
        self.message.emit(f"Filled with {fill.label} in {result.seconds:.2f} s (hold Tab to compare)")
        self.filled.emit(layer_id)

    def before_view(self) -> tuple[np.ndarray, Rect] | None:
        """(pixels, rect): the image as it was before the last in-place fill
        (uint8 hxwx4 of the composite over rect), while the document still
        shows that fill there; else None."""
        if self._before is None:
            return None
        before, after, rect, doc = self._before
        if doc is not self._document() or rect[2] > doc.width or rect[3] > doc.height:
            return None  # another document, or this one cropped since
        if not np.array_equal(doc.composite(rect, copy=False), after):
            return None  # painted over, undone, or changed underneath since
        return before, rect

    # -- results -----------------------------------------------------------------------------

    def _on_done(self, result: JobResult) -> None:
        if result.channel != FILL:
            return  # a warm-up: nothing to show
        if self.waiting == result.serial:
            self.waiting = None
        if self.worker.is_current(FILL, result.serial):
            if self.canvas.is_drawing():
                self._held = result  # landing mid-stroke would tear the stroke; wait for its end
            else:
                self._land(result)
        self._update_enabled()

    def _on_failed(self, channel: str, serial: int, message: str) -> None:
        if channel == WARM:
            self.hint.setText(f"The model could not be loaded: {message}")
            return
        if self.waiting == serial:
            self.waiting = None
        if not self.worker.is_current(FILL, serial):
            return
        self.hint.setText(f"Fill failed: {message}")
        self.message.emit(f"Fill failed: {message}")
        # Filling on every stroke must not raise the same box stroke after stroke.
        if not self._waiting_auto or message != self._last_auto_error:
            show_error(self, "Inpaint", message)
        self._last_auto_error = message if self._waiting_auto else ""
        self._update_enabled()

    # -- lifetime ----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Finish the job in flight, end the worker (safe twice)."""
        self.worker.stop()
        if self._watched is not None:
            self._watched.listeners.remove(self._document_edited)
            self._watched = None


def _saved_check(text: str, key: str, tip: str) -> QCheckBox:
    """A checkbox (on by default) whose state the preferences keep under inpaint/KEY."""
    check = QCheckBox(text)
    check.setToolTip(tip)
    check.setChecked(saved_flag(KEY + key, True))
    check.toggled.connect(lambda on: settings().setValue(KEY + key, on))
    return check
