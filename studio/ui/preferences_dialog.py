"""The Preferences dialog: device, threads, autosave, model folder (theme when there is a choice).

OK stores the values (studio.ui.preferences) and emits `changed` with the
names of the Preferences fields that differ from before, so the window
re-applies only those (a new Runtime for device/threads, a new autosave timer,
a rescan for user_models). Cancel stores nothing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.paths import user_models_dir
from studio.engine.devices import DEVICE_LABELS
from studio.engine.runtime import default_threads, offered_devices
from studio.ui.messages import one_line, show_error
from studio.ui.preferences import (
    MAX_AUTOSAVE_S,
    MAX_THREADS,
    THEMES,
    Preferences,
    load_preferences,
    save_preferences,
)

THEME_LABELS = {"dark": "Dark", "light": "Light"}


class PreferencesDialog(QDialog):
    """Modal preferences editor. After exec() == Accepted, `changed_keys`
    holds the changed field names (also sent by the `changed` signal)."""

    changed = Signal(list)  # sorted names of the Preferences fields that changed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.changed_keys: set[str] = set()
        prefs = load_preferences()

        self.device_combo = QComboBox()
        for device in offered_devices():
            self.device_combo.addItem(DEVICE_LABELS[device], device)
        self.device_combo.setCurrentIndex(self.device_combo.findData(prefs.device))

        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(0, MAX_THREADS)
        self.threads_spin.setSpecialValueText(f"Automatic ({default_threads()})")
        self.threads_spin.setToolTip("Threads for running models on the CPU; automatic leaves one core free")
        self.threads_spin.setValue(prefs.threads)

        self.autosave_spin = QSpinBox()
        self.autosave_spin.setRange(0, MAX_AUTOSAVE_S)
        self.autosave_spin.setSingleStep(30)
        self.autosave_spin.setSuffix(" s")
        self.autosave_spin.setSpecialValueText("Off")
        self.autosave_spin.setToolTip("How often an open document with unsaved changes is saved for recovery")
        self.autosave_spin.setValue(prefs.autosave_s)

        self.folder_edit = QLineEdit()
        self.folder_edit.setMinimumWidth(320)
        self.folder_edit.setPlaceholderText(str(user_models_dir()))
        self.folder_edit.setToolTip("Where models you train or download are kept; empty = the default folder")
        if prefs.user_models != user_models_dir():
            self.folder_edit.setText(str(prefs.user_models))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        reset = QPushButton("Default")
        reset.setToolTip(f"Use {user_models_dir()}")
        reset.clicked.connect(self.folder_edit.clear)
        self.browse_button, self.reset_button = browse, reset
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        folder_row.addWidget(reset)

        self.theme_combo = QComboBox()
        for theme in THEMES:
            self.theme_combo.addItem(THEME_LABELS.get(theme, theme.title()), theme)
        self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(prefs.theme)))

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.ExpandingFieldsGrow)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.addRow("Inference device:", self.device_combo)
        form.addRow("CPU threads:", self.threads_spin)
        form.addRow("Autosave every:", self.autosave_spin)
        form.addRow("Model folder:", folder_row)
        if len(THEMES) > 1:  # a menu with one entry is no choice
            form.addRow("Theme:", self.theme_combo)

        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addSpacing(6)
        layout.addWidget(self.buttons)

    def preferences(self) -> Preferences:
        """The values shown now (not yet stored)."""
        folder = self.folder_edit.text().strip()
        return Preferences(device=str(self.device_combo.currentData()), threads=self.threads_spin.value(),
                           autosave_s=self.autosave_spin.value(),
                           user_models=Path(folder).expanduser() if folder else user_models_dir(),
                           theme=str(self.theme_combo.currentData()))

    def browse(self) -> None:
        start = self.folder_edit.text().strip() or str(user_models_dir())
        chosen = QFileDialog.getExistingDirectory(self, "Model Folder", start)
        if chosen:
            self.folder_edit.setText(chosen)

    def accept(self) -> None:
        """Store the values; tell which changed. A refused value keeps the dialog open."""
        try:
            self.changed_keys = save_preferences(self.preferences())
        except ValueError as exc:
            show_error(self, "Preferences", one_line(exc))
            return
        super().accept()
        if self.changed_keys:
            self.changed.emit(sorted(self.changed_keys))
