"""Image > Upscale… and the Latent panel's Place at ×4.

Both enlarge on a BackgroundTask: the GUI thread only captures pixels
before and lands the result after, as ONE undo step. A progress window
follows the tiles and its Cancel stops the engine between two of them;
nothing changes then. Upscale lands only on the document it was captured
from, unchanged (upscale_target); Place at ×4 places the enlarged frame
as Place on Canvas would (CanvasActions.place), with the recipe saying
which upscaler enlarged which frame.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QWidget

from studio.core.document import Document
from studio.engine.registry import ModelEntry
from studio.engine.runtime import Runtime
from studio.engine.upscale import KIND, model_for_scale, upscale, upscale_recipe
from studio.ui.background_task import BackgroundTask, TaskSet
from studio.ui.canvas_actions import CanvasActions
from studio.ui.messages import one_line, show_error
from studio.ui.task_progress import task_progress
from studio.ui.upscale_dialog import TITLE, UpscaleDialog
from studio.ui.upscale_target import (UpscaleTarget, Upscaled, capture_upscale, landing_command, method_of,
                                      run_upscale, upscaled_recipe)

PLACE_SCALE = 4  # a 128 px generator's frame lands at 512 px
PLACE_TEXT = f"Place at ×{PLACE_SCALE}"


def method_label(model: ModelEntry | None) -> str:
    """The model's name, or "Lanczos"."""
    return model.name if model is not None else "Lanczos"


class UpscaleActions(QObject):
    message = Signal(str)  # a status line

    def __init__(self, window: QWidget, document: Callable[[], Document | None], runtime: Callable[[], Runtime],
                 canvas_actions: CanvasActions, frame: Callable[[], tuple | None]):
        """document(): the open document or None; runtime(): the Runtime
        models run on now; canvas_actions places frames; frame(): (image
        uint8 HxWx3, recipe) of the walk's frame shown, or None."""
        super().__init__(window)
        self.window, self._document, self._runtime = window, document, runtime
        self.canvas_actions, self._frame = canvas_actions, frame
        self.models: list[ModelEntry] = []  # usable upscale models, in registry order
        self.tasks = TaskSet()
        self.upscale_action = QAction("&Upscale…", window)
        self.upscale_action.setToolTip("Enlarge the image or the active layer ×2 or ×4 with an upscale model "
                                       "or Lanczos")
        self.upscale_action.triggered.connect(lambda: self.upscale_dialog())
        self.place_action = QAction(PLACE_TEXT, window)
        self.place_action.triggered.connect(lambda: self.place_enlarged())
        self.set_models([])

    def set_models(self, entries: list[ModelEntry]) -> None:
        """The models the app found (any kind; connect to the model scan):
        the usable upscale ones are offered; Place at ×PLACE_SCALE uses default_model()."""
        self.models = [e for e in entries if e.kind == KIND and e.usable]
        model = self.default_model()
        how = f"the upscale model '{model.name}'" if model else "Lanczos (no upscale model installed)"
        self.place_action.setToolTip(f"Enlarge this frame ×{PLACE_SCALE} with {how} and put it on the canvas as "
                                     "a new layer")

    def default_model(self) -> ModelEntry | None:
        """The model Place at ×PLACE_SCALE enlarges with (engine.upscale.model_for_scale)."""
        return model_for_scale(self.models, PLACE_SCALE)

    def busy(self) -> bool:
        """True while an upscale runs (tests wait on this)."""
        return bool(self.tasks)

    # -- Image > Upscale ---------------------------------------------------------------------

    def dialog(self) -> UpscaleDialog | None:
        """The Upscale dialog for the open document, or None (said in the status bar)."""
        doc = self._document()
        if doc is None:
            self.message.emit("Nothing to upscale: open an image first")
            return None
        return UpscaleDialog(doc, self.models, self.window)

    def upscale_dialog(self) -> BackgroundTask | None:
        dialog = self.dialog()
        if dialog is None or dialog.exec() != QDialog.Accepted:
            return None
        return self.upscale(dialog.mode(), dialog.scale(), dialog.model())

    def upscale(self, mode: str, scale: int, model: ModelEntry | None) -> BackgroundTask | None:
        """Enlarge the whole document or the active layer (`mode`, see
        upscale_target.MODES) `scale` times with `model` (None: Lanczos) on
        a worker; returns the task, or None when it cannot start (a box says why)."""
        doc = self._document()
        if doc is None:
            self.message.emit("Nothing to upscale: open an image first")
            return None
        try:
            target = capture_upscale(doc, mode, scale, model)
        except ValueError as exc:  # UpscaleError, DocumentError: one line
            show_error(self.window, TITLE, one_line(exc))
            return None
        runtime = self._runtime() if model is not None else None
        task = BackgroundTask(lambda task: run_upscale(target, model, runtime, task.report, task.is_cancelled))
        what = "the image" if mode == "document" else f"layer '{target.layer_name}'"
        task_progress(self.window, task, TITLE, f"Upscaling {what} ×{scale} with {method_label(model)}…")
        task.succeeded.connect(lambda result: self._land(target, result, model))
        task.failed.connect(lambda text: show_error(self.window, TITLE, text))
        task.cancelled_done.connect(lambda: self.message.emit("Upscale cancelled; nothing was changed"))
        self.message.emit(f"Upscaling {what} ×{scale}…")
        self.tasks.start(task)
        return task

    def _land(self, target: UpscaleTarget, result: Upscaled, model: ModelEntry | None) -> None:
        doc = self._document()
        try:
            command, _layer_id = landing_command(doc, target, result)
            doc.apply(command)
        except ValueError as exc:  # the document changed meanwhile, or refused the edit
            show_error(self.window, TITLE, one_line(exc))
            return
        what = f"{doc.width} × {doc.height} px" if target.mode == "document" else f"layer '{target.layer_name}'"
        self.message.emit(f"Upscaled {what} ×{target.scale} with {method_label(model)} (Ctrl+Z undoes it)")

    # -- Place at ×4 -------------------------------------------------------------------------

    def place_enlarged(self) -> BackgroundTask | None:
        """Enlarge the walk's frame ×PLACE_SCALE with the default model (else
        Lanczos) on a worker, then place it as Place on Canvas does."""
        frame = self._frame()
        if frame is None:
            self.message.emit("Nothing generated yet: pick a sample in the Latent panel")
            return None
        image, recipe = frame
        model = self.default_model()
        runtime = self._runtime() if model is not None else None
        task = BackgroundTask(lambda task: upscale(image, PLACE_SCALE, model, runtime, progress=task.report,
                                                   should_stop=task.is_cancelled))
        task_progress(self.window, task, PLACE_TEXT, f"Enlarging the frame ×{PLACE_SCALE} with "
                                                     f"{method_label(model)}…")
        enlarged_recipe = upscaled_recipe(upscale_recipe(method_of(model), PLACE_SCALE, model), recipe)
        name = f"Generated ({recipe['model']['name']}) ×{PLACE_SCALE}"
        task.succeeded.connect(lambda enlarged: self.canvas_actions.place(enlarged, enlarged_recipe, name,
                                                                          PLACE_TEXT))
        task.failed.connect(lambda text: show_error(self.window, PLACE_TEXT, text))
        task.cancelled_done.connect(lambda: self.message.emit("Place cancelled; nothing was placed"))
        self.tasks.start(task)
        return task

    def shutdown(self) -> None:
        """Cancel what runs and wait for it (window closing)."""
        self.tasks.finish_all(cancel=True)
