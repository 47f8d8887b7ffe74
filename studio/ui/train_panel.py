"""The Train panel: train a generator (or an inpainting network) on a folder
of images, watch it learn, and get it into the Latent (or Inpaint) panel when
it stops.

Training runs in a child process (`python -m studio.train`, see
studio/train/PROTOCOL.md), so torch never loads in the GUI and a trainer crash
never takes the canvas with it. The panel only starts processes, reads their
JSON lines as they arrive, and drops control files (PAUSE, STOP) in the run
folder; it never waits on the trainer. What a run's state allows and what its
events mean is decided in train_run.py (no Qt); this module builds the widgets,
owns the processes and draws what the run returns.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QPainter, QPixmap, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.imageio import IMAGE_SUFFIXES
from studio.core.trainer_availability import trainer_missing
from studio.engine.registry import ModelEntry
from studio.engine.upscale import KIND as UPSCALE_KIND, model_for_scale
from studio.train.presets import PRESETS, Preset, generator_defaults, is_default_base
from studio.train.protocol import PAUSE_FILE, STOP_FILE
from studio.train.tasks import DEFAULT_TASK, TASKS
from studio.ui.background_task import BackgroundTask, TaskCancelled, TaskSet
from studio.ui.curve_plot import CurvePlot
from studio.ui.dialog_folder import remember, start_folder
from studio.ui.messages import show_error
from studio.ui.past_runs import PastRun
from studio.ui.past_runs_list import PastRunsList
from studio.ui.qimage import qimage_from_array
from studio.ui.theme import current
from studio.ui.train_run import EXPORTING, PAUSED, Progress, TrainRun, ViewUpdate
from studio.ui.train_setup import (model_name_problem, new_run_folder, preset_hint, resume_arguments,
                                   suggest_model_name, training_arguments)
from studio.ui.trainer_process import TrainerProcess, error_line

DEFAULT_RESOLUTION = TASKS[DEFAULT_TASK].panel_resolution
DEFAULT_PRESET = "quick"
MAX_MINUTES = 7 * 24 * 60
SCRATCH = "none (train from scratch)"
CRASH_LINES = 20  # stderr lines shown when the trainer dies
STOP_NOTE_MS = 20_000  # after STOP, say why nothing has happened yet (a long step or the dataset scan)
SHUTDOWN_STOP_MS = 10_000  # closing the window: time the trainer gets to write its checkpoint
SHUTDOWN_EXPORT_MS = 5_000
LOG_LINES = 2000
PROGRESS_STEPS = 1000  # progress bar resolution


def count_image_files(folder: str | os.PathLike, task: BackgroundTask | None = None) -> int:
    """Files under `folder` whose suffix is an image type the trainer reads
    (recursive; hidden files and folders skipped, as the trainer does). By
    name only: the trainer's own dataset report says which ones decode."""
    count = 0
    for root, dirs, files in os.walk(folder):
        if task is not None and task.is_cancelled():
            raise TaskCancelled()
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        count += sum(1 for f in files if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES)
    return count


class SampleView(QWidget):
    """The newest sample grid, fitted to the width: small grids grow by whole
    factors with hard pixel edges, big ones shrink smoothly."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.placeholder = "Samples appear here at each checkpoint"
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setMinimumHeight(72)

    def set_image(self, image: np.ndarray | None) -> None:
        """image: uint8 HxWx3/4, or None to clear."""
        self.pixmap = QPixmap.fromImage(qimage_from_array(image)) if image is not None else None
        self.updateGeometry()
        self.update()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if self.pixmap is None or self.pixmap.isNull():
            return 96
        return max(72, round(width * self.pixmap.height() / self.pixmap.width()))

    def sizeHint(self) -> QSize:
        return QSize(240, self.heightForWidth(240))

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), current().base)
        if self.pixmap is None or self.pixmap.isNull():
            painter.setPen(current().muted_text)
            painter.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.placeholder)
            return
        w, h = self.pixmap.width(), self.pixmap.height()
        scale = min(self.width() / w, self.height() / h)
        if scale >= 1:
            scale = float(int(scale))  # whole factors keep every sample pixel the same size
        else:
            painter.setRenderHint(QPainter.SmoothPixmapTransform)
        sw, sh = round(w * scale), round(h * scale)
        x, y = (self.width() - sw) // 2, (self.height() - sh) // 2
        painter.drawPixmap(x, y, sw, sh, self.pixmap)


class PathLabel(QLabel):
    """A path that fits its width by eliding the middle (the folder's own
    name, at the end, stays readable); the full path is in the tooltip."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self.full_text = text
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.set_path_text(text)

    def set_path_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self.full_text, Qt.ElideMiddle, max(self.width(), 40)))


class Disclosure(QWidget):
    """A header button with an arrow that shows or hides `content`."""

    def __init__(self, title: str, content: QWidget, parent=None):
        super().__init__(parent)
        self.title = title
        self.button = QToolButton()
        self.button.setCheckable(True)
        self.button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.button.setArrowType(Qt.RightArrow)
        self.button.setAutoRaise(True)
        self.button.setObjectName("disclosure")  # a header, not a button: styled in theme.py
        self.button.toggled.connect(self.set_open)
        self.content = content
        content.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.button)
        layout.addWidget(content)
        self.set_title(title)

    def set_title(self, title: str) -> None:
        self.button.setText(title)

    def set_open(self, opened: bool) -> None:
        self.button.setArrowType(Qt.DownArrow if opened else Qt.RightArrow)
        self.content.setVisible(opened)
        if self.button.isChecked() != opened:
            self.button.setChecked(opened)


class TrainPanel(QWidget):
    """Choose a folder and settings, start/pause/stop a run, see it learn."""

    modelExported = Signal(str)  # name of the model just written to the user models folder
    message = Signal(str)  # a line for the window's status bar
    busyChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run = TrainRun()
        self.data_folder: Path | None = None
        self.image_files: int | None = None  # image-like files in the folder, by name
        self.trainer: TrainerProcess | None = None
        self.exporter: TrainerProcess | None = None
        self.model_names: set[str] = set()  # every model the registry knows: export names must differ
        self._entries: list[ModelEntry] = []  # the registry's models, for the base list of either task
        self.samples_path: Path | None = None  # the grid on show
        self.samples_shown = 0
        self._busy_shown = False  # what busyChanged last said
        self._closing = False
        self._name_edited = False
        self._count_task: BackgroundTask | None = None
        self._sample_task: BackgroundTask | None = None
        self._sample_pending: Path | None = None
        self._tasks = TaskSet()
        self._stop_timer = QTimer(self)
        self._stop_timer.setSingleShot(True)
        self._stop_timer.timeout.connect(self._stop_slow)

        self._make_actions()
        self._build()
        self._render_state()

    # -- layout ------------------------------------------------------------------------------

    def _make_actions(self) -> None:
        style = self.style()
        self.choose_action = QAction(style.standardIcon(QStyle.SP_DirOpenIcon), "Choose Training &Folder…", self)
        self.choose_action.setToolTip("Folder of training images (png, jpg, webp…; sub-folders too)")
        self.choose_action.triggered.connect(self.choose_folder)
        self.start_action = QAction(style.standardIcon(QStyle.SP_MediaPlay), "&Start Training", self)
        self.start_action.setToolTip("Start training in the background (one CPU thread, low priority)")
        self.start_action.triggered.connect(lambda: self.start())
        self.pause_action = QAction(style.standardIcon(QStyle.SP_MediaPause), "&Pause Training", self)
        self.pause_action.setCheckable(True)
        self.pause_action.setToolTip("Pause the trainer (it keeps its place; press again to go on)")
        self.pause_action.toggled.connect(self.set_paused)
        self.stop_action = QAction(style.standardIcon(QStyle.SP_MediaStop), "S&top Training", self)
        self.stop_action.setToolTip("Stop: the trainer writes a checkpoint, then the model is exported "
                                    "and appears in the Latent panel")
        self.stop_action.triggered.connect(self.stop)

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(10, 4, 10, 8)
        root.setSpacing(4)

        # Data
        data_box = QGroupBox("Training Images")
        data_layout = QVBoxLayout(data_box)
        row = QHBoxLayout()
        self.folder_label = PathLabel("No folder chosen")
        row.addWidget(self.folder_label, 1)
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setToolTip(self.choose_action.toolTip())
        self.choose_button.clicked.connect(self.choose_action.trigger)
        row.addWidget(self.choose_button)
        data_layout.addLayout(row)
        self.data_info = QLabel("Pick a folder of images to learn from.")
        self.data_info.setObjectName("hint")
        self.data_info.setWordWrap(True)
        data_layout.addWidget(self.data_info)
        self.skipped_list = QListWidget()
        self.skipped_list.setObjectName("skipped")
        self.skipped_list.setAlternatingRowColors(True)
        self.skipped = Disclosure("Skipped files", self.skipped_list)
        self.skipped.setVisible(False)
        data_layout.addWidget(self.skipped)
        root.addWidget(data_box)

        # Settings
        self.settings_box = QGroupBox("Settings")
        form = QFormLayout(self.settings_box)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        self.task_combo = QComboBox()
        for task in TASKS.values():
            self.task_combo.addItem(task.label, task.name)
        self.task_combo.setToolTip("What to train: a generator that makes new images like the folder's, or an "
                                   "inpainting network that fills holes in the folder's style")
        self.task_combo.currentIndexChanged.connect(self._on_task_picked)
        form.addRow("Train", self.task_combo)
        self.encoder_check = QCheckBox("With an encoder, for your own pictures")
        self.encoder_check.setToolTip("Also learn to put your own pictures into the model's latent space (Latent "
                                      "panel: Add Picture); training takes about half as long again per step")
        form.addRow("", self.encoder_check)
        self.preset_combo = QComboBox()
        for preset in PRESETS.values():
            length = f"{preset.minutes} min" if preset.minutes < 60 else f"{preset.minutes / 60:g} h"
            self.preset_combo.addItem(f"{preset.label} ({length}, {preset.resolution} px)", preset.name)
        self.preset_combo.addItem("Custom", None)
        self.preset_combo.setToolTip("How long to train, with the resolution worth training at for that time")
        form.addRow("Preset", self.preset_combo)
        self.base_combo = QComboBox()
        self.base_combo.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.base_combo.setToolTip("Start from a trained model of this kind (fine-tuning, much faster) or from "
                                   "scratch")
        self.base_combo.addItem(SCRATCH, None)
        self.base_combo.currentIndexChanged.connect(self._on_base_picked)
        form.addRow("Base model", self.base_combo)
        self.resolution_combo = QComboBox()
        self._fill_resolutions()
        form.addRow("Resolution", self.resolution_combo)
        self.minutes_spin = QSpinBox()
        self.minutes_spin.setRange(1, MAX_MINUTES)
        self.minutes_spin.setSuffix(" min")
        self.minutes_spin.setToolTip("Wall time to train; Stop ends it sooner, with the model so far")
        self.minutes_spin.valueChanged.connect(self._on_minutes_edited)
        form.addRow("Duration", self.minutes_spin)
        self.preset_hint = QLabel("")
        self.preset_hint.setObjectName("hint")
        self.preset_hint.setWordWrap(True)
        form.addRow("", self.preset_hint)
        self.preset_combo.currentIndexChanged.connect(self._on_preset_picked)
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(DEFAULT_PRESET))
        self._on_preset_picked(self.preset_combo.currentIndex())
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("model name")
        self.name_edit.setMaxLength(64)
        self.name_edit.setToolTip("Name of the exported model (letters, digits, - _ .)")
        self.name_edit.textEdited.connect(self._on_name_edited)
        form.addRow("Model name", self.name_edit)
        root.addWidget(self.settings_box)

        # Run
        run_box = QGroupBox("Run")
        run_layout = QVBoxLayout(run_box)
        row = QHBoxLayout()
        row.setSpacing(6)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop")
        for button, action in ((self.start_button, self.start_action), (self.pause_button, self.pause_action),
                               (self.stop_button, self.stop_action)):
            button.setToolTip(action.toolTip())
            row.addWidget(button, 1)
        self.start_button.clicked.connect(self.start_action.trigger)
        self.pause_button.toggled.connect(self.pause_action.setChecked)
        self.pause_action.toggled.connect(self.pause_button.setChecked)
        self.stop_button.clicked.connect(self.stop_action.trigger)
        run_layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self._show_progress(self.run.progress)
        run_layout.addWidget(self.progress)
        self.trainer_missing = trainer_missing()
        self.status_label = QLabel(f"{self.trainer_missing[0].upper()}{self.trainer_missing[1:]}."
                                   if self.trainer_missing else "Idle")
        self.status_label.setWordWrap(True)
        run_layout.addWidget(self.status_label)
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("hint")
        self.stats_label.setWordWrap(True)
        self.stats_label.setVisible(False)  # until the first progress line
        run_layout.addWidget(self.stats_label)
        row = QHBoxLayout()
        self.run_folder_label = PathLabel("")
        self.run_folder_label.setObjectName("hint")
        row.addWidget(self.run_folder_label, 1)
        self.open_folder_button = QPushButton("Open Folder")
        self.open_folder_button.setToolTip("Show the run folder (checkpoints, sample grids, curves, log) in the "
                                           "file manager")
        self.open_folder_button.clicked.connect(self.open_run_folder)
        self.open_folder_button.setEnabled(False)
        row.addWidget(self.open_folder_button)
        run_layout.addLayout(row)
        root.addWidget(run_box)

        # Samples and curves
        samples_box = QGroupBox("Samples")
        samples_layout = QVBoxLayout(samples_box)
        self.sample_view = SampleView()
        samples_layout.addWidget(self.sample_view)
        self.sample_caption = QLabel("")
        self.sample_caption.setObjectName("hint")
        samples_layout.addWidget(self.sample_caption)
        root.addWidget(samples_box)

        curves_box = QGroupBox("Curves")
        curves_layout = QVBoxLayout(curves_box)
        self.loss_plot = CurvePlot("Loss")
        self.loss_plot.add_curve("loss_g", "G", "accent")  # theme roles: recoloured when the theme changes
        self.loss_plot.add_curve("loss_d", "D", "warning")
        curves_layout.addWidget(self.loss_plot)
        spec = TASKS[self.task()]
        self.metric_plot = CurvePlot(spec.metric_label)  # the task's quality measure at checkpoints
        self.metric_plot.add_curve("metric", spec.metric_name, "success")
        self.metric_plot.placeholder = "Measured at checkpoints"
        curves_layout.addWidget(self.metric_plot)
        root.addWidget(curves_box)

        # Log
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.log_view.setMinimumHeight(140)
        self.log = Disclosure("Log", self.log_view)
        root.addWidget(self.log)

        # Past runs: train further or export
        self.past_runs = PastRunsList(self._start_task)
        self.past_runs.resumeRequested.connect(self.resume_run)
        self.past_runs.exportRequested.connect(self.export_run)
        self.past_runs_section = Disclosure("Past runs", self.past_runs)
        self.past_runs_section.button.toggled.connect(lambda opened: opened and self.past_runs.refresh())
        root.addWidget(self.past_runs_section)
        root.addStretch(1)

    # -- settings ----------------------------------------------------------------------------

    def task(self) -> str:
        return str(self.task_combo.currentData())

    def set_task(self, task: str) -> None:
        """A name in studio.train.tasks.TASKS."""
        self.task_combo.setCurrentIndex(self.task_combo.findData(task))

    def _fill_resolutions(self) -> None:
        spec = TASKS[self.task()]
        self.resolution_combo.clear()
        for r in spec.panel_resolutions:
            self.resolution_combo.addItem(f"{r} × {r} px", r)
        self.resolution_combo.setCurrentIndex(spec.panel_resolutions.index(spec.panel_resolution))
        self.resolution_combo.setToolTip(spec.tip)

    def _on_task_picked(self, _index: int) -> None:
        self._fill_resolutions()
        self.encoder_check.setVisible(TASKS[self.task()].offers_encoder)
        spec = TASKS[self.task()]
        self.metric_plot.title = spec.metric_label
        self.metric_plot.curves["metric"].label = spec.metric_name
        self.metric_plot.update()
        self.set_models(self._entries)
        self.base_combo.setCurrentIndex(self._default_base_index())
        self._show_hint()

    def set_models(self, entries: list[ModelEntry]) -> None:
        """Offer the usable models of the task's kind as base models; one
        without a training checkpoint is listed but cannot be picked. Keeps
        the current choice."""
        self._entries = list(entries)
        self.model_names = {e.name for e in entries}
        keep = self.base_combo.currentData()
        keep_name = keep.name if isinstance(keep, ModelEntry) else None
        self.base_combo.blockSignals(True)
        self.base_combo.clear()
        self.base_combo.addItem(SCRATCH, None)
        model = self.base_combo.model()
        kind = TASKS[self.task()].model_kind
        for entry in (e for e in entries if e.usable and e.kind == kind):
            resolution = entry.manifest.get("resolution", "?")
            self.base_combo.addItem(f"{entry.name} ({resolution} px)", entry)
            index = self.base_combo.count() - 1
            if entry.file("checkpoint") is None:
                self.base_combo.setItemData(index, "No training checkpoint in this model: it cannot be fine-tuned",
                                            Qt.ToolTipRole)
                if isinstance(model, QStandardItemModel):
                    model.item(index).setEnabled(False)
            else:
                self.base_combo.setItemData(index, entry.manifest.get("description", ""), Qt.ToolTipRole)
        names = [self.base_combo.itemData(i).name if self.base_combo.itemData(i) else None
                 for i in range(self.base_combo.count())]
        self.base_combo.setCurrentIndex(names.index(keep_name) if keep_name in names else self._default_base_index())
        self.base_combo.blockSignals(False)
        self._on_base_picked(self.base_combo.currentIndex())
        if self.data_folder is not None and not self._name_edited:
            self.name_edit.setText(suggest_model_name(self.data_folder, self.model_names))

    def _on_base_picked(self, index: int) -> None:
        entry = self.base_combo.itemData(index) if index >= 0 else None
        if entry is None:
            self.resolution_combo.setEnabled(not self.run.is_busy())
            self.resolution_combo.setToolTip(TASKS[self.task()].tip)
            return
        # Fine-tuning keeps the base model's size.
        resolution = int(entry.manifest.get("resolution", DEFAULT_RESOLUTION))
        if self.resolution_combo.findData(resolution) < 0:
            self.resolution_combo.addItem(f"{resolution} × {resolution} px", resolution)
        self.resolution_combo.setCurrentIndex(self.resolution_combo.findData(resolution))
        self.resolution_combo.setEnabled(False)
        self.resolution_combo.setToolTip(f"Fine-tuning keeps the resolution of {entry.name}")

    def preset(self) -> Preset | None:
        name = self.preset_combo.currentData()
        return PRESETS[name] if name else None

    def _on_preset_picked(self, _index: int) -> None:
        preset = self.preset()
        if preset is not None:
            self.minutes_spin.blockSignals(True)
            self.minutes_spin.setValue(preset.minutes)
            self.minutes_spin.blockSignals(False)
            if TASKS[self.task()].default_bases:  # other tasks keep their own sizes
                # The base model that fits the preset's size, else from scratch at that size.
                self.base_combo.setCurrentIndex(self._default_base_index())
                if self.resolution_combo.isEnabled():
                    self.resolution_combo.setCurrentIndex(self.resolution_combo.findData(preset.resolution))
        self._show_hint()

    def _show_hint(self) -> None:
        # The presets' expectations were measured on generators; another task's
        # run is told only when it is ready.
        preset = self.preset() if TASKS[self.task()].default_bases else None
        self.preset_hint.setText(preset_hint(preset, self.minutes_spin.value()))

    def _default_base_index(self) -> int:
        """The base menu's entry for the installed base model at the preset's
        resolution and the CPU width (what `studio train` would start from),
        else 0, from scratch. For the other tasks, the model the app itself
        uses for that job (the x4 upscaler, the first inpaint model): a
        folder's pictures teach it their look in minutes, where the shipped
        ones took hours of training (upscale-x4: six legs, about 3.5 hours)."""
        entries = [self.base_combo.itemData(i) for i in range(self.base_combo.count())]
        tunable = [e for e in entries if isinstance(e, ModelEntry) and e.file("checkpoint") is not None]
        preset = self.preset()
        if not TASKS[self.task()].default_bases:
            if TASKS[self.task()].model_kind == UPSCALE_KIND:
                default = model_for_scale(tunable, None)
            else:
                default = tunable[0] if tunable else None
        elif preset is not None:
            width = generator_defaults(preset.resolution)["width"]
            default = next((e for e in tunable if is_default_base(e.manifest, preset.resolution, width)), None)
        else:
            default = None
        return entries.index(default) if default is not None else 0

    def _on_minutes_edited(self, minutes: int) -> None:
        preset = self.preset()
        if preset is not None and minutes != preset.minutes:
            self.preset_combo.blockSignals(True)
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(None))
            self.preset_combo.blockSignals(False)
        self._show_hint()

    def base_model(self) -> str | None:
        entry = self.base_combo.currentData()
        return entry.name if isinstance(entry, ModelEntry) else None

    def resolution(self) -> int:
        return int(self.resolution_combo.currentData())

    def _on_name_edited(self, text: str) -> None:
        self._name_edited = bool(text.strip())

    def choose_folder(self) -> None:
        start = str(self.data_folder or start_folder())
        chosen = QFileDialog.getExistingDirectory(self, "Choose Training Images", start)
        if chosen:
            remember(chosen)
            self.set_data_folder(chosen)

    def set_data_folder(self, folder: str | os.PathLike) -> BackgroundTask:
        """Use `folder` as training data and count its image files on a worker thread."""
        self.data_folder = Path(folder)
        self.image_files = None
        self.run.forget_dataset()
        self.folder_label.set_path_text(str(self.data_folder))
        self._set_info("Counting image files…", warn=False)
        self._show_skipped([])
        if not self._name_edited:
            self.name_edit.setText(suggest_model_name(self.data_folder, self.model_names))
        if self._count_task is not None:
            self._count_task.cancel()
        target = self.data_folder
        task = BackgroundTask(lambda task: count_image_files(target, task))
        task.succeeded.connect(lambda count: self._counted(target, count))
        task.failed.connect(lambda msg: self._set_info(f"Cannot read the folder: {msg}", warn=True))
        self._count_task = task
        task.finished.connect(lambda: setattr(self, "_count_task", None) if self._count_task is task else None)
        self._start_task(task)
        self._render_state()
        return task

    def _counted(self, folder: Path, count: int) -> None:
        if folder != self.data_folder or self.run.dataset is not None:
            return  # another folder was chosen meanwhile, or the trainer has already reported
        self.image_files = count
        if count:
            self._set_info(f"{count} image file{'s' if count != 1 else ''} (each is checked when training starts)",
                           warn=False)
        else:
            self._set_info("No image files in this folder (png, jpg, webp, bmp, gif, tiff, avif)", warn=True)

    def _set_info(self, text: str, warn: bool) -> None:
        self.data_info.setText(text)
        self.data_info.setObjectName("notice" if warn else "hint")
        self.data_info.style().unpolish(self.data_info)
        self.data_info.style().polish(self.data_info)

    def _show_skipped(self, skipped: list[dict]) -> None:
        self.skipped_list.clear()
        for item in skipped:
            path = str(item.get("path", "?"))
            reason = str(item.get("reason", "skipped"))
            row = QListWidgetItem(f"{Path(path).name} — {reason}")
            row.setToolTip(f"{path}\n{reason}")
            self.skipped_list.addItem(row)
        # As tall as its rows, up to six; more scroll.
        rows = min(max(len(skipped), 1), 6)
        self.skipped_list.setFixedHeight(rows * max(self.skipped_list.sizeHintForRow(0), 16)
                                         + 2 * self.skipped_list.frameWidth() + 2)
        self.skipped.set_title(f"Skipped files ({len(skipped)})")
        self.skipped.setVisible(bool(skipped))
        if not skipped:
            self.skipped.set_open(False)

    # -- run control ---------------------------------------------------------------------------

    def is_busy(self) -> bool:
        """True while a trainer or an export runs."""
        return self.run.is_busy()

    def start(self, steps: int | None = None, resolution: int | None = None, checkpoint_every: int | None = None,
              batch: int | None = None) -> bool:
        """Start a run with the panel's settings. steps (total training steps,
        instead of the duration), resolution (8..256, beyond the menu),
        checkpoint_every and batch override them for tests and scripts.
        Returns False, after telling the user why, when it cannot start."""
        if not self.run.can("begin"):
            return False
        if self.data_folder is None:
            show_error(self, "Training", "Choose a folder of training images first")
            return False
        name = self.name_edit.text().strip()
        problem = model_name_problem(name, self.model_names)
        if problem:
            show_error(self, "Training", problem)
            return False
        rundir = new_run_folder(name)
        try:
            rundir.mkdir(parents=True)
        except OSError as exc:
            show_error(self, "Training", f"cannot create the run folder {rundir}: {exc.strerror or exc}")
            return False
        args = training_arguments(self.data_folder, rundir, resolution or self.resolution(),
                                  minutes=self.minutes_spin.value(), steps=steps, base=self.base_model(),
                                  checkpoint_every=checkpoint_every, batch=batch, task=self.task(),
                                  encoder=TASKS[self.task()].offers_encoder and self.encoder_check.isChecked())
        self._launch(rundir, name, self.task(), args, steps)
        return True

    def resume_run(self, past: PastRun) -> bool:
        """Train a past run further, for the Duration set above, then export
        it under its own name (or the next free one). False when it cannot start."""
        if not self.run.can("begin") or self.trainer_missing:
            return False
        name = suggest_model_name(past.name, self.model_names)
        self._launch(past.folder, name, past.task, resume_arguments(past.folder, self.minutes_spin.value()), None)
        return True

    def export_run(self, past: PastRun) -> bool:
        """Export a past run's checkpoint as it is. False when it cannot start."""
        if self.trainer_missing:
            return False
        update = self.run.export_past(past.folder, suggest_model_name(past.name, self.model_names), past.task)
        if update is None:
            return False
        self._show_run_folder(past.folder)
        self._show(update)
        self._start_export()
        return True

    def _launch(self, rundir: Path, name: str, task: str, args: list[str], steps: int | None) -> None:
        update = self.run.begin(rundir, name, task, args, steps)
        self._show_run_folder(rundir)
        self.trainer = TrainerProcess(self)
        self.trainer.received.connect(self._on_event)
        self.trainer.stderrLine.connect(lambda line: self._log(f"trainer: {line}"))
        self.trainer.finished.connect(self._trainer_finished)
        self._show(update)
        self.trainer.start(args, rundir)

    def _show_run_folder(self, rundir: Path) -> None:
        self.run_folder_label.set_path_text(str(rundir))
        self.open_folder_button.setEnabled(True)

    def open_run_folder(self) -> None:
        if self.run.rundir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.run.rundir)))

    def set_paused(self, paused: bool) -> None:
        """Pause (create RUNDIR/PAUSE) or go on (delete it)."""
        if not self.run.can("pause" if paused else "resume"):
            self._render_pause()  # a refused toggle springs back
            return
        flag = self.run.rundir / PAUSE_FILE
        try:
            if paused:
                flag.touch()
            else:
                flag.unlink(missing_ok=True)
        except OSError as exc:
            show_error(self, "Training", f"cannot {'pause' if paused else 'resume'}: {exc.strerror or exc}")
            self._render_pause()
            return
        self._show(self.run.set_paused(paused))

    def stop(self) -> None:
        """Ask the trainer to stop (RUNDIR/STOP): it writes a checkpoint and
        exits 0, and the model is then exported."""
        if not self.run.can("stop") or self.trainer is None:
            return
        self._send_stop()
        self._show(self.run.stop())

    def _send_stop(self) -> None:
        if self.run.note_stop_sent():
            try:
                (self.run.rundir / STOP_FILE).touch()
                (self.run.rundir / PAUSE_FILE).unlink(missing_ok=True)  # a paused trainer must see STOP too
            except OSError as exc:
                self._log(f"cannot write STOP ({exc}); sending SIGTERM instead")
                if self.trainer is not None:
                    self.trainer.terminate()
            self._stop_timer.start(STOP_NOTE_MS)

    def _stop_slow(self) -> None:
        # No signal here: a trainer still reading its dataset or inside a long
        # step sees STOP at its next check, and a second stop request could
        # land while it writes its checkpoint.
        self._show(self.run.still_stopping())

    # -- drawing what the run says -------------------------------------------------------------

    def _on_event(self, item: dict) -> None:
        self._show(self.run.feed(item))

    def _show(self, update: ViewUpdate | None) -> None:
        if update is None:
            return
        if update.state is not None:
            self._render_state()
        if update.reset:
            self._clear_run_view()
        if update.status is not None:
            self._status(update.status)
        for line in update.log:
            self._log(line)
        if update.progress is not None:
            self._show_progress(update.progress)
        if update.stats is not None:
            self.stats_label.setText(update.stats)
            self.stats_label.setVisible(bool(update.stats))
        for curve, step, value in update.loss_points:
            self.loss_plot.add_point(curve, step, value)
        if update.metric_point is not None:
            self.metric_plot.add_point("metric", *update.metric_point)
        if update.data_summary is not None:
            self._set_info(update.data_summary, warn=False)
            self._show_skipped(update.skipped)
        if update.samples is not None:
            self.sample_caption.setText(update.samples_caption)
            self._load_samples(update.samples)
        if update.message is not None:
            self.message.emit(update.message)

    def _clear_run_view(self) -> None:
        self.samples_path, self.samples_shown = None, 0
        self._sample_pending = None
        self.loss_plot.clear()
        self.metric_plot.clear()
        self.sample_view.set_image(None)
        self.sample_caption.setText("")
        self.stats_label.setText("")
        self.stats_label.setVisible(False)

    def _show_progress(self, progress: Progress) -> None:
        if progress.fraction is None:
            self.progress.setRange(0, 0)  # busy, no end known
        else:
            self.progress.setRange(0, PROGRESS_STEPS)
            self.progress.setValue(round(progress.fraction * PROGRESS_STEPS))
        self.progress.setFormat(progress.text)

    def _render_state(self) -> None:
        """Controls that follow the run's state: folder and settings only while
        idle, pause and stop while a trainer takes requests."""
        idle = not self.run.is_busy()
        self.choose_action.setEnabled(idle)
        self.choose_button.setEnabled(idle)
        self.settings_box.setEnabled(idle)
        if idle:
            self._on_base_picked(self.base_combo.currentIndex())
        self.start_action.setEnabled(self.run.can("begin") and self.data_folder is not None
                                     and not self.trainer_missing)
        self.start_button.setEnabled(self.start_action.isEnabled())
        pausable = self.run.can("pause") or self.run.can("resume")
        self.pause_action.setEnabled(pausable)
        self.pause_button.setEnabled(pausable)
        self.stop_action.setEnabled(self.run.can("stop"))
        self.stop_button.setEnabled(self.run.can("stop"))
        self._render_pause()
        self.past_runs.set_busy(self.run.is_busy() or bool(self.trainer_missing))
        if self._busy_shown != self.run.is_busy():
            self._busy_shown = self.run.is_busy()
            self.busyChanged.emit(self._busy_shown)
            if not self._busy_shown and self.past_runs_section.content.isVisible():
                self.past_runs.refresh()  # the run that ended is a past run now

    def _render_pause(self) -> None:
        paused = self.run.state == PAUSED
        for control in (self.pause_action, self.pause_button):
            control.blockSignals(True)  # showing the state is not a request to change it
            control.setChecked(paused)
            control.blockSignals(False)
        self.pause_action.setText("&Resume Training" if paused else "&Pause Training")
        self.pause_button.setText("Resume" if paused else "Pause")

    def _status(self, text: str) -> None:
        self.status_label.setText(text)
        self._log(text)

    def _log(self, text: str) -> None:
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    # -- samples -------------------------------------------------------------------------------

    def _load_samples(self, path: Path) -> None:
        """Decode the grid off the GUI thread; while one loads, only the newest
        next one waits (a slow disk never builds a queue)."""
        if self._sample_task is not None:
            self._sample_pending = path
            return
        from studio.core.imageio import load_image

        task = BackgroundTask(lambda task: load_image(path))
        task.succeeded.connect(lambda image: self._samples_loaded(path, image))
        task.failed.connect(lambda msg: self._log(f"cannot show samples: {msg}"))
        task.finished.connect(self._sample_task_done)
        self._sample_task = task
        self._start_task(task)

    def _samples_loaded(self, path: Path, image: np.ndarray) -> None:
        self.sample_view.set_image(image)
        self.samples_path = path
        self.samples_shown += 1

    def _sample_task_done(self) -> None:
        self._sample_task = None
        if self._sample_pending is not None and not self._closing:
            pending, self._sample_pending = self._sample_pending, None
            self._load_samples(pending)

    def _start_task(self, task: BackgroundTask) -> None:
        self._tasks.start(task)

    # -- process ends --------------------------------------------------------------------------

    def _trainer_finished(self, code: int, crashed: bool) -> None:
        trainer, self.trainer = self.trainer, None
        self._stop_timer.stop()
        if trainer is not None:
            trainer.deleteLater()
        if self._closing:
            return
        ok = code == 0 and not crashed
        has_checkpoint = ok and (self.run.rundir / "checkpoint.safetensors").is_file()
        self._show(self.run.trainer_ended(ok, has_checkpoint))
        if self.run.state == EXPORTING:
            self._start_export()
        elif not ok:
            self._report_failure("Training", "trainer", code, crashed, list(trainer.stderr_tail) if trainer else [])

    def _start_export(self) -> None:
        self.exporter = TrainerProcess(self)
        self.exporter.received.connect(self._on_event)
        self.exporter.stderrLine.connect(lambda line: self._log(f"export: {line}"))
        self.exporter.finished.connect(self._export_finished)
        self.exporter.start(["export", str(self.run.rundir), "--name", self.run.model_name], self.run.rundir)

    def _export_finished(self, code: int, crashed: bool) -> None:
        exporter, self.exporter = self.exporter, None
        if exporter is not None:
            exporter.deleteLater()
        if self._closing:
            return
        ok = code == 0 and not crashed
        self._show(self.run.export_ended(ok))
        if not ok:
            self._report_failure("Export", "export", code, crashed, list(exporter.stderr_tail) if exporter else [])
            return
        name = self.run.model_name
        self.model_names.add(name)
        if not self._name_edited and self.data_folder is not None:
            self.name_edit.setText(suggest_model_name(self.data_folder, self.model_names))
        self.modelExported.emit(name)

    def _report_failure(self, title: str, what: str, code: int, crashed: bool, stderr: list[str]) -> None:
        """Bad input (exit 2, `error: ...`) is one line; anything else shows the
        last lines the process wrote, so a crash can be understood and reported."""
        message = error_line(stderr)
        if message and code in (1, 2) and not crashed:
            show_error(self, title, message)
            return
        if code == -1:
            how = "could not start"
        else:
            how = "was killed" if crashed else f"failed (exit code {code})"
        tail = "\n".join(stderr[-CRASH_LINES:]) or "(it printed nothing on stderr)"
        text = f"The {what} {how}. Its last output:\n\n{tail}"
        if self.run.rundir is not None:
            text += f"\n\nRun folder: {self.run.rundir}"
        QMessageBox.warning(self, title, text)

    # -- lifetime ------------------------------------------------------------------------------

    def confirm_close(self) -> bool:
        """Ask before the window closes on a running trainer or export. True:
        go ahead (shutdown will stop the trainer, which writes a checkpoint)."""
        if not self.is_busy():
            return True
        if self.run.state == EXPORTING:
            text = (f"The model {self.run.model_name} is still being exported. Close anyway? The export is "
                    f"abandoned; the run folder keeps the checkpoint:\n{self.run.rundir}")
        else:
            text = ("A training run is in progress. Stop it and close?\n\nThe trainer writes a checkpoint "
                    f"first, so nothing learned is lost; export it later with\n"
                    f"studio export {self.run.rundir} --name {self.run.model_name}")
        answer = QMessageBox.question(self, "Training", text, QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Yes)
        return answer == QMessageBox.Yes

    def shutdown(self) -> None:
        """End the trainer (STOP, then SIGTERM, then kill, with short waits:
        it writes its checkpoint first) and any export. For window close only;
        safe to call twice."""
        self._closing = True
        self._stop_timer.stop()
        if self._count_task is not None:
            self._count_task.cancel()
        trainer = self.trainer
        if trainer is not None and trainer.is_running():
            self._send_stop()
            if not trainer.wait(SHUTDOWN_STOP_MS):
                trainer.terminate()
                if not trainer.wait(3000):
                    trainer.kill()
                    trainer.wait(1000)
        exporter = self.exporter
        if exporter is not None and exporter.is_running() and not exporter.wait(SHUTDOWN_EXPORT_MS):
            exporter.kill()
            exporter.wait(1000)
        self._tasks.finish_all(cancel=False)
