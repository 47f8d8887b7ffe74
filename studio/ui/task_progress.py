"""The progress window of one long BackgroundTask (an animation export, an
upscale): a bar that follows the task's count and a Cancel button that
cancels it. Window-modal, so the document cannot change under the task,
and only shown when the task outlasts SHOW_AFTER_MS."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from studio.ui.background_task import BackgroundTask

SHOW_AFTER_MS = 300  # quick jobs finish before a dialog flashes up


def task_progress(parent: QWidget, task: BackgroundTask, title: str, text: str) -> QProgressDialog:
    """A dialog titled `title` saying `text`, its bar busy until the task
    reports (done, total), then following it; Cancel cancels the task, and
    the dialog closes and deletes itself when the task finishes."""
    dialog = QProgressDialog(text, "Cancel", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setWindowModality(Qt.WindowModal)
    dialog.setMinimumDuration(SHOW_AFTER_MS)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setValue(0)
    dialog.canceled.connect(task.cancel)

    def progressed(done: int, total: int) -> None:
        dialog.setMaximum(total)
        dialog.setValue(min(done, total))

    task.progressed.connect(progressed)
    task.finished.connect(lambda: (dialog.close(), dialog.deleteLater()))
    return dialog
