"""What every animation export in the window shares (the Latent panel's walk
and the Style panel's A-to-B interpolation): the formats offered, the
save-as suffix rule and the cancellable progress dialog. The rendering itself
is each panel's own."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from studio.ui.background_task import BackgroundTask

ANIMATION_FILTERS = {"GIF animation (*.gif)": ".gif", "MP4 video (*.mp4)": ".mp4",
                     "WebP animation (*.webp)": ".webp"}
SHOW_AFTER_MS = 300  # quick exports finish before a dialog flashes up


def with_suffix(path: str, selected_filter: str, filters: dict[str, str]) -> Path:
    """The chosen path, given the selected filter's suffix when the user typed none."""
    p = Path(path)
    if not p.suffix and selected_filter in filters:
        p = p.with_suffix(filters[selected_filter])
    return p


def animation_progress(parent: QWidget, task: BackgroundTask, frames: int, target: Path) -> QProgressDialog:
    """A window-modal dialog following `task`, which reports 2 * frames steps
    (rendering, then encoding); Cancel cancels the task, and the dialog closes
    and deletes itself when the task finishes."""
    dialog = QProgressDialog(f"Rendering {frames} frames to {target.name}…", "Cancel", 0, 2 * frames, parent)
    dialog.setWindowTitle("Export Animation")
    dialog.setWindowModality(Qt.WindowModal)
    dialog.setMinimumDuration(SHOW_AFTER_MS)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setValue(0)
    dialog.canceled.connect(task.cancel)

    def progressed(done: int, total: int) -> None:
        dialog.setMaximum(total)
        dialog.setValue(min(done, total))
        if done >= frames:
            dialog.setLabelText(f"Encoding {target.name}…")

    task.progressed.connect(progressed)
    task.finished.connect(lambda: (dialog.close(), dialog.deleteLater()))
    return dialog
