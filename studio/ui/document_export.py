"""File > Export…: the Export dialog's choices written from a detached copy
of the document on a BackgroundTask, so nothing done meanwhile tears it.

With an upscale model chosen, its enlargement runs on that task too (core's
export_document takes it as an Enlargement: core runs no networks), under
a progress window whose Cancel stops it between tiles; nothing is written
then, and the file's recipe names the upscaler.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from studio.core.document import Document
from studio.core.export import Enlargement, export_document
from studio.engine.runtime import Runtime
from studio.engine.upscale import upscale, upscale_recipe
from studio.ui.background_task import BackgroundTask
from studio.ui.export_dialog import ExportOptions
from studio.ui.task_progress import task_progress
from studio.ui.upscale_target import factor_of

TITLE = "Export"


def export_task(parent: QWidget, doc: Document, options: ExportOptions, runtime: Runtime) -> BackgroundTask:
    """A task (not started) writing `doc` as it is now with `options`; with
    an upscaler, a progress window on `parent` follows and cancels it."""
    copy, model = doc.detached_copy(), options.upscaler
    if model is None:
        return BackgroundTask(lambda _task: export_document(copy, options.path, **options.keywords()))
    factor = factor_of(model)

    def work(task: BackgroundTask) -> Path:
        enlarge = Enlargement(factor, lambda image: upscale(image, factor, model, runtime, progress=task.report,
                                                            should_stop=task.is_cancelled),
                              upscale_recipe("model", factor, model))
        return export_document(copy, options.path, enlarge=enlarge, **options.keywords())

    task = BackgroundTask(work)
    task_progress(parent, task, TITLE, f"Upscaling ×{factor} with {model.name} for {options.path.name}…")
    return task
