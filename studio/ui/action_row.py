"""The foot of a panel that runs one long job: its primary button, a thin
progress bar under it (hidden while idle) and a hint line saying what
happened. The Style and Inpaint panels share it, so they look alike."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QVBoxLayout


def add_action_row(layout: QVBoxLayout, button: QPushButton) -> tuple[QProgressBar, QLabel]:
    """Add `button` (styled primary), a hidden busy bar and an empty hint to
    `layout`; returns (bar, hint)."""
    button.setObjectName("primary")
    progress = QProgressBar()
    progress.setRange(0, 0)  # busy until the job reports a count, if it ever does
    progress.setTextVisible(False)
    progress.setMaximumHeight(8)
    progress.setVisible(False)
    hint = QLabel("")
    hint.setObjectName("hint")
    hint.setWordWrap(True)
    layout.addWidget(button)
    layout.addWidget(progress)
    layout.addWidget(hint)
    return progress, hint
