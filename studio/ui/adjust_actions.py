"""Image > Adjust > Brightness/Contrast…, Hue/Saturation/Lightness…, Levels…:
each opens its AdjustDialog (live preview) and, on OK, computes the edit on a
BackgroundTask and lands it as ONE undo step, on the document it was captured
from, unchanged (any edit meanwhile refuses it with a message)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QWidget

from studio.core.adjustments import TITLES
from studio.core.document import Document, DocumentError
from studio.ui.adjust_dialog import AdjustDialog
from studio.ui.background_task import BackgroundTask, TaskSet
from studio.ui.landing import is_stale
from studio.ui.messages import show_error


class AdjustActions(QObject):
    message = Signal(str)  # a status line

    def __init__(self, window: QWidget, document: Callable[[], Document | None], canvas):
        super().__init__(window)
        self.window, self._document, self.canvas = window, document, canvas
        self.tasks = TaskSet()
        self.dialog: AdjustDialog | None = None  # the one open now (tests drive it)
        self.actions = []
        for kind, title in TITLES.items():
            action = QAction(f"{title}…", window)
            action.triggered.connect(lambda _=False, k=kind: self.adjust(k))
            self.actions.append(action)

    def adjust(self, kind: str) -> None:
        doc = self._document()
        if doc is None:
            return
        try:
            self.dialog = AdjustDialog(kind, doc, self.canvas, self.tasks.start, self.window)
        except DocumentError as exc:
            show_error(self.window, TITLES[kind], str(exc))
            return
        dialog = self.dialog
        if dialog.exec() != QDialog.Accepted or dialog.adjustment().is_neutral():
            self.dialog = None
            return
        self.dialog = None
        adjustment, target = dialog.adjustment(), dialog.target
        task = BackgroundTask(lambda _task: target.edit(adjustment))
        task.succeeded.connect(lambda edit: self._land(doc, dialog.revision, edit, TITLES[kind]))
        task.failed.connect(lambda msg: show_error(self.window, TITLES[kind], msg))
        self.message.emit(f"{TITLES[kind]}…")
        self.tasks.start(task)

    def shutdown(self) -> None:
        """Wait for an adjustment being computed (the window is closing)."""
        self.tasks.finish_all(cancel=False)

    def _land(self, captured: Document, revision: int, edit, title: str) -> None:
        doc = self._document()
        if is_stale(doc, captured, revision):
            show_error(self.window, title, "the image changed while the adjustment was computed; adjust again")
            return
        try:
            doc.apply(edit)
        except DocumentError as exc:
            show_error(self.window, title, str(exc))
            return
        self.message.emit(title)
