"""Export the current frame or the whole walk, with the recipe embedded.

The actions ask for a file name on the GUI thread, then render and write on a
BackgroundTask; an animation shows a progress dialog whose Cancel stops the
work between batches. Files are written atomically by core, so a cancelled or
failed export leaves no half-written file behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from studio.core.walk import LatentWalk, keyframe_label
from studio.engine.generator import Generator
from studio.ui.animation_export import ANIMATION_FILTERS, animation_progress, with_suffix
from studio.ui.background_task import BackgroundTask, TaskCancelled, TaskSet
from studio.ui.dialog_folder import remember, start_folder
from studio.ui.latent_panel import FPS, LatentPanel
from studio.ui.messages import show_error
from studio.ui.render_worker import GeneratorCache

FRAME_FILTERS = {"PNG image (*.png)": ".png", "JPEG image (*.jpg *.jpeg)": ".jpg",
                 "WebP image (*.webp)": ".webp", "TIFF image (*.tif *.tiff)": ".tif"}
RENDER_BATCH = 16  # frames per render call: large enough to batch, small enough to cancel quickly


def write_frame(path: Path, generator: Generator, walk: LatentWalk) -> Path:
    """Render the walk at its position and save it (PNG/JPEG/WebP/TIFF) with its recipe."""
    from studio.core.imageio import save_image
    from studio.core.recipe import encode_latent

    latent = walk.latent(generator.latent_size)
    image = generator.render(latent)[0]
    # The exact latent travels with the seeds, so the frame can be remade bit for bit.
    save_image(path, image, generator.recipe(**walk.frame_recipe(), latent=encode_latent(latent[0])))
    return path


def write_animation(path: Path, generator: Generator, walk: LatentWalk, frames: int, fps: float = FPS,
                    progress: Callable[[int, int], None] = lambda done, total: None,
                    cancelled: Callable[[], bool] = lambda: False) -> Path:
    """Render `frames` frames along the walk and save them as GIF/MP4/WebP.

    progress(done, total) counts rendered then encoded frames (total = 2 x frames).
    Raises TaskCancelled when `cancelled()` turns true.
    """
    from studio.core.animation import save_animation

    latents = walk.frames(generator.latent_size, frames)
    total = 2 * frames
    rendered = []
    for start in range(0, frames, RENDER_BATCH):
        if cancelled():
            raise TaskCancelled()
        rendered.append(generator.render(latents[start:start + RENDER_BATCH]))
        progress(start + len(rendered[-1]), total)
    images = np.concatenate(rendered)
    written = save_animation(path, images, fps=fps, recipe=generator.recipe(**walk.animation_recipe(frames, fps)),
                             progress=lambda done, of: progress(frames + round(done * frames / max(of, 1)), total),
                             cancelled=cancelled)
    if not written:
        raise TaskCancelled()
    return path


class ExportActions(QObject):
    exported = Signal(str)  # path written
    message = Signal(str)  # a status line

    def __init__(self, window: QWidget, panel: LatentPanel, generators: GeneratorCache):
        super().__init__(window)
        self.window = window
        self.panel = panel
        self.generators = generators
        self.tasks = TaskSet()
        self.progress_dialog: QProgressDialog | None = None

        self.frame_action = QAction("Export Frame…", self)
        self.frame_action.setShortcut(QKeySequence("Ctrl+E"))
        self.frame_action.setToolTip("Save the image on the canvas with its recipe (Ctrl+E)")
        self.frame_action.triggered.connect(lambda: self.export_frame())
        self.animation_action = QAction("Export Animation…", self)
        self.animation_action.setShortcut(QKeySequence("Ctrl+Alt+E"))
        self.animation_action.setToolTip("Render the walk through all keyframes as GIF, MP4 or WebP (Ctrl+Alt+E)")
        self.animation_action.triggered.connect(lambda: self.export_animation())
        panel.modelChanged.connect(lambda _: self.update_enabled())
        panel.strip.model().rowsInserted.connect(lambda *_: self.update_enabled())
        panel.strip.model().rowsRemoved.connect(lambda *_: self.update_enabled())
        panel.strip.model().modelReset.connect(self.update_enabled)
        self.update_enabled()

    def update_enabled(self) -> None:
        keys = len(self.panel.walk.keyframes)
        has_model = self.panel.entry is not None
        self.frame_action.setEnabled(has_model and keys >= 1)
        self.animation_action.setEnabled(has_model and keys >= 2)

    def busy(self) -> bool:
        return bool(self.tasks)

    # -- frame -------------------------------------------------------------------------------

    def export_frame(self, path: str | Path | None = None) -> BackgroundTask | None:
        """Ask for a file (unless `path` is given) and write the current frame on a worker thread."""
        entry, walk = self.panel.entry, self.panel.walk_snapshot()
        if entry is None or not walk.keyframes:
            show_error(self.window, "Export Frame", "Add a keyframe first: click a sample in the Latent panel.")
            return None
        if path is None:
            seeds = "-".join(keyframe_label(key) for key in walk.keyframes[:4])
            chosen, selected = QFileDialog.getSaveFileName(
                self.window, "Export Frame", str(start_folder() / f"{entry.name}_{seeds}_{walk.position:.3f}.png"),
                ";;".join(FRAME_FILTERS))
            if not chosen:
                return None
            path = with_suffix(chosen, selected, FRAME_FILTERS)
        target = Path(path)
        remember(target)
        generators = self.generators
        task = BackgroundTask(lambda task: write_frame(target, generators.get(entry), walk))
        task.succeeded.connect(lambda p: self._done(p))
        task.failed.connect(lambda msg: show_error(self.window, "Export Frame", msg))
        self._start(task, f"Exporting {target.name}…")
        return task

    # -- animation ---------------------------------------------------------------------------

    def export_animation(self, path: str | Path | None = None, frames: int | None = None) -> BackgroundTask | None:
        """Ask for a file (unless given) and render + encode the walk on a worker thread,
        with a progress dialog that can cancel."""
        entry, walk = self.panel.entry, self.panel.walk_snapshot()
        if entry is None or len(walk.keyframes) < 2:
            show_error(self.window, "Export Animation", "Add two or more keyframes to export an animation.")
            return None
        frames = int(frames or self.panel.frames_spin.value())
        if path is None:
            chosen, selected = QFileDialog.getSaveFileName(
                self.window, "Export Animation", str(start_folder() / f"{entry.name}_walk.gif"),
                ";;".join(ANIMATION_FILTERS))
            if not chosen:
                return None
            path = with_suffix(chosen, selected, ANIMATION_FILTERS)
        target = Path(path)
        remember(target)
        generators = self.generators
        task = BackgroundTask(lambda task: write_animation(
            target, generators.get(entry), walk, frames, FPS, progress=task.report, cancelled=task.is_cancelled))

        dialog = animation_progress(self.window, task, frames, target)
        task.finished.connect(lambda: self._forget_dialog(dialog))
        task.succeeded.connect(lambda p: self._done(p))
        task.failed.connect(lambda msg: show_error(self.window, "Export Animation", msg))
        task.cancelled_done.connect(lambda: self.message.emit("Export cancelled; nothing was written"))
        self.progress_dialog = dialog
        self._start(task, f"Exporting {target.name}…")
        return task

    def _forget_dialog(self, dialog: QProgressDialog) -> None:
        if self.progress_dialog is dialog:
            self.progress_dialog = None

    # -- bookkeeping -------------------------------------------------------------------------

    def _start(self, task: BackgroundTask, status: str) -> None:
        self.message.emit(status)
        self.tasks.start(task)

    def _done(self, path) -> None:
        self.exported.emit(str(path))
        self.message.emit(f"Exported {path}")

    def stop_all(self) -> None:
        """Cancel running exports and wait for them (window closing)."""
        self.tasks.finish_all(cancel=True)
