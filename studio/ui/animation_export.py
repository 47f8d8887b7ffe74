"""What every animation export in the window shares (the Latent panel's walk
and the Style panel's A-to-B interpolation): the formats offered, the
save-as suffix rule and the progress dialog's wording. The rendering itself
is each panel's own."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QProgressDialog, QWidget

from studio.ui.background_task import BackgroundTask
from studio.ui.task_progress import task_progress

ANIMATION_FILTERS = {"GIF animation (*.gif)": ".gif", "MP4 video (*.mp4)": ".mp4",
                     "WebP animation (*.webp)": ".webp"}


def with_suffix(path: str, selected_filter: str, filters: dict[str, str]) -> Path:
    """The chosen path, given the selected filter's suffix when the user typed none."""
    p = Path(path)
    if not p.suffix and selected_filter in filters:
        p = p.with_suffix(filters[selected_filter])
    return p


def animation_progress(parent: QWidget, task: BackgroundTask, frames: int, target: Path) -> QProgressDialog:
    """The task's progress window (task_progress) for `task`, which reports
    2 * frames steps: rendering, then encoding."""
    dialog = task_progress(parent, task, "Export Animation", f"Rendering {frames} frames to {target.name}…")
    dialog.setMaximum(2 * frames)

    def progressed(done: int, _total: int) -> None:
        if done >= frames:
            dialog.setLabelText(f"Encoding {target.name}…")

    task.progressed.connect(progressed)
    return dialog
