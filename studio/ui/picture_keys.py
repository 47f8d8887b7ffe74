"""The Latent panel's Add Picture: a picture from a file (or files dropped
on the keyframes), the active layer, the selection or the clipboard
becomes a keyframe, through the current model's encoder.

The GUI thread only captures pixels (copies); reading files, encoding and
the optional refinement (the menu's Refine: a torch child process, with a
progress window whose Cancel stops it) run on a BackgroundTask, and the panel receives LatentKey keyframes (made
for the model that was current when asked: if the artist has moved on to
another model meanwhile, the panel drops them). What cannot be done is said in a
message box in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

from studio.core.document import Document, alpha_bounds
from studio.core.imageio import IMAGE_SUFFIXES, load_image
from studio.core.rect import bounds, is_empty, slices
from studio.core.walk import LatentKey
from studio.engine.projection import RefineCancelled
from studio.ui.background_task import BackgroundTask, TaskCancelled, TaskSet
from studio.ui.dialog_folder import remember, start_folder
from studio.ui.latent_panel import REFINE_STEPS, LatentPanel
from studio.ui.messages import show_error
from studio.ui.qimage import array_from_qimage
from studio.ui.render_worker import GeneratorCache
from studio.ui.task_progress import task_progress

TITLE = "Add Picture"
PictureSource = tuple[str, Callable[[], np.ndarray]]  # (name, read the uint8 pixels; may touch the disk)


class PictureKeys(QObject):
    message = Signal(str)  # a status line

    def __init__(self, window: QWidget, panel: LatentPanel, document: Callable[[], Document | None],
                 generators: GeneratorCache):
        super().__init__(window)
        self.window, self.panel, self._document, self.generators = window, panel, document, generators
        self.tasks = TaskSet()
        panel.pictureRequested.connect(self.add_from)
        panel.picturesDropped.connect(self.add_files)

    def busy(self) -> bool:
        """True while pictures are being encoded (tests wait on this)."""
        return bool(self.tasks)

    def add_from(self, source: str) -> BackgroundTask | None:
        """A picture from `source` (latent_panel.PICTURE_SOURCES) as a keyframe."""
        if source == "file":
            patterns = " ".join(f"*{suffix}" for suffix in sorted(IMAGE_SUFFIXES))
            chosen, _ = QFileDialog.getOpenFileNames(self.window, TITLE, str(start_folder()),
                                                     f"Images ({patterns});;All files (*)")
            return self.add_files(chosen) if chosen else None
        try:
            picture = self._capture(source)
        except ValueError as exc:
            show_error(self.window, TITLE, str(exc))
            return None
        return self._encode([picture])

    def add_files(self, paths: list) -> BackgroundTask | None:
        """Each image file as a keyframe, in order."""
        if not paths:
            return None
        remember(paths[-1])
        return self._encode([(Path(p).name, lambda p=p: load_image(p)) for p in paths])

    def _capture(self, source: str) -> PictureSource:
        """(name, pixels) from the document or the clipboard, copied now; ValueError says what is missing."""
        if source == "clipboard":
            image = QGuiApplication.clipboard().image()
            if image.isNull():
                raise ValueError("The clipboard holds no picture; copy one first")
            pixels = array_from_qimage(image)
            return "clipboard", lambda: pixels
        doc = self._document()
        if doc is None:
            raise ValueError("Open an image first, or add a picture from a file")
        if source == "layer":
            layer = doc.active
            rect = alpha_bounds(layer.pixels) if layer is not None else None
            if layer is None or is_empty(rect):
                raise ValueError("The active layer is empty; pick a layer with a picture on it")
            pixels = layer.pixels[slices(rect)].copy()
            return f"layer {layer.name}", lambda: pixels
        rect = bounds(doc.mask)
        if rect is None:
            raise ValueError("Nothing is selected; select part of the image first")
        # The visible image inside the selection; outside it is transparent,
        # so the picture is framed as a cut-out.
        pixels = doc.composite(rect)
        pixels[..., 3] = (pixels[..., 3].astype(np.uint16) * doc.mask[slices(rect)] // 255).astype(np.uint8)
        return "selection", lambda: pixels

    def _encode(self, pictures: list[PictureSource]) -> BackgroundTask | None:
        entry = self.panel.entry
        if entry is None or not self.panel.can_encode:
            show_error(self.window, TITLE, "This model has no encoder to bring pictures in with")
            return None
        generators = self.generators
        steps = REFINE_STEPS if self.panel.refine_action.isChecked() else 0

        def encode(task: BackgroundTask) -> list[LatentKey]:
            projector = generators.projector(entry)
            keys = []
            for done, (name, read) in enumerate(pictures):
                task.report(done * max(steps, 1), len(pictures) * max(steps, 1))
                try:
                    result = projector.project(read(), steps, lambda step, _steps, _db, done=done:
                                               task.report(done * steps + step, len(pictures) * steps),
                                               task.is_cancelled)
                except RefineCancelled:
                    raise TaskCancelled() from None
                keys.append(LatentKey.from_projection(result, name, entry.name))
            return keys

        task = BackgroundTask(encode)
        task.succeeded.connect(self._add)
        task.failed.connect(lambda text: show_error(self.window, TITLE, text))
        task.cancelled_done.connect(lambda: self.message.emit("Refinement cancelled; no picture was added"))
        what = pictures[0][0] if len(pictures) == 1 else f"{len(pictures)} pictures"
        if steps:
            task_progress(self.window, task, TITLE, f"Encoding {what} and refining it {steps} steps…")
        self.message.emit(f"Encoding {what} with {entry.name}'s encoder…")
        self.tasks.start(task)
        return task

    def _add(self, keys: list[LatentKey]) -> None:
        for key in keys:
            self.panel.add_latent_keyframe(key)
        if keys:
            self.message.emit(f"Added {keys[-1].name}: drawn back at {keys[-1].psnr:.1f} dB PSNR"
                              if len(keys) == 1 else f"Added {len(keys)} pictures as keyframes")

    def shutdown(self) -> None:
        """Wait for encoding to end (window closing)."""
        self.tasks.finish_all(cancel=True)
