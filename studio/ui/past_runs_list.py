"""The Train panel's "Past runs": the runs kept in the user's runs folder,
newest first, each one trainable further (Resume) or exportable as a model
(Export). The folder is read on a worker (ui/past_runs.py), never on the
GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from studio.ui.background_task import BackgroundTask
from studio.ui.past_runs import PastRun, list_past_runs


class PastRunsList(QWidget):
    resumeRequested = Signal(object)  # the PastRun to train further
    exportRequested = Signal(object)  # the PastRun to export as a model

    def __init__(self, start_task, parent=None):
        """start_task(task): how the panel runs (and keeps alive) a BackgroundTask."""
        super().__init__(parent)
        self._start = start_task
        self.runs: list[PastRun] = []
        self.listing: BackgroundTask | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setMinimumHeight(90)
        self.list.setMaximumHeight(180)
        self.list.setTextElideMode(Qt.ElideRight)  # the dock's width, never a sideways scroll bar
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.list)
        self.empty = QLabel("No past runs yet: each run is kept in its own folder.")
        self.empty.setObjectName("hint")
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        row = QHBoxLayout()
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Train the selected run further, for the Duration above, then export it")
        self.export_button = QPushButton("Export")
        self.export_button.setToolTip("Export the selected run's checkpoint as a model, as it is")
        for button, signal in ((self.resume_button, self.resumeRequested), (self.export_button, self.exportRequested)):
            button.clicked.connect(lambda _=False, s=signal: self.selected() and s.emit(self.selected()))
            row.addWidget(button)
        layout.addLayout(row)
        self.set_busy(False)

    def refresh(self) -> None:
        """List the runs folder again, on a worker."""
        if self.listing is not None:
            return
        task = BackgroundTask(lambda _task: list_past_runs())
        task.succeeded.connect(self._listed)
        task.finished.connect(lambda: setattr(self, "listing", None))
        self.listing = task
        self._start(task)

    def _listed(self, runs: list[PastRun]) -> None:
        chosen = self.selected()
        self.runs = runs
        self.list.clear()
        for run in runs:
            item = QListWidgetItem(run.label())
            item.setToolTip(str(run.folder))
            item.setData(Qt.UserRole, str(run.folder))
            self.list.addItem(item)
            if chosen is not None and run.folder == chosen.folder:
                item.setSelected(True)
        self.list.setVisible(bool(runs))
        self.empty.setVisible(not runs)
        self._selection_changed()

    def selected(self) -> PastRun | None:
        rows = [self.list.row(item) for item in self.list.selectedItems()]
        return self.runs[rows[0]] if rows else None

    def set_busy(self, busy: bool) -> None:
        """While a run trains or exports, no other can start."""
        self._busy = busy
        self._selection_changed()

    def _selection_changed(self) -> None:
        ready = self.selected() is not None and not self._busy
        self.resume_button.setEnabled(ready)
        self.export_button.setEnabled(ready)
