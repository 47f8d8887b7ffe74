"""The main window: canvas in the middle, the Latent and Train panels docked on the right."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QScrollArea

from studio import __version__
from studio.core.imageio import IMAGE_SUFFIXES
from studio.core.paths import shipped_models_dir, user_models_dir
from studio.engine.registry import ModelEntry, Registry
from studio.engine.runtime import Runtime
from studio.ui.background_task import BackgroundTask
from studio.ui.canvas_view import CanvasView
from studio.ui.export_actions import ExportActions
from studio.ui.latent_panel import LatentPanel
from studio.ui.latent_walk import LatentWalk
from studio.ui.messages import show_error
from studio.ui.preferences import save_device
from studio.ui.render_worker import GeneratorCache, RenderWorker
from studio.ui.train_panel import TrainPanel

OPEN_FILTER = f"Images ({' '.join('*' + suffix for suffix in IMAGE_SUFFIXES)})"
REPEAT_ERROR_S = 3.0  # the same render error within this time is not shown twice


class MainWindow(QMainWindow):
    def __init__(self, runtime: Runtime, model_folders: list[Path] | None = None, parent=None):
        """model_folders: where to look for models (None: shipped models/ + the user's)."""
        super().__init__(parent)
        self.runtime = runtime
        self.model_folders = model_folders
        self.registry: Registry | None = None
        self.tasks: set[BackgroundTask] = set()
        self._last_error = ("", 0.0)
        self._scan_task: BackgroundTask | None = None
        self._showing_file = False  # an opened picture stays until a walk frame replaces it
        self._models_listed = False  # set on the GUI thread once the first scan has ended
        self._pending_open: tuple | None = None  # a file opened before the first model scan ended

        self.setWindowTitle("Latent Studio")
        self.resize(1440, 900)
        self.setDockOptions(QMainWindow.AnimatedDocks | QMainWindow.AllowTabbedDocks)

        self.generators = GeneratorCache(runtime)
        self.worker = RenderWorker(self.generators, self)
        self.worker.start()

        self.canvas = CanvasView(self)
        self.canvas.placeholder = "Click a sample in the Latent panel to start a walk"
        self.setCentralWidget(self.canvas)

        self.panel = LatentPanel(self.worker)
        self.dock = self._panel_dock("Latent", "latent_dock", self.panel)
        self.dock.setMinimumWidth(self.panel.sizeHint().width() + 24)
        self.addDockWidget(Qt.RightDockWidgetArea, self.dock)

        # Training shares the right side with the Latent panel, as a tab behind it.
        self.train_panel = TrainPanel()
        self.train_dock = self._panel_dock("Train", "train_dock", self.train_panel)
        self.tabifyDockWidget(self.dock, self.train_dock)
        self.dock.raise_()

        self.exports = ExportActions(self, self.panel, self.generators)
        self.panel.add_export_actions(self.exports.frame_action, self.exports.animation_action)

        self._build_status_bar()
        self._build_menus()
        self.panel.frameReady.connect(self._show_frame)
        self.panel.renderFailed.connect(self._render_failed)
        self.panel.rescanRequested.connect(self.scan_models)
        self.panel.modelChanged.connect(self._model_changed)
        self.exports.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.train_panel.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.train_panel.modelExported.connect(self.show_trained_model)
        self._select_after_scan: str | None = None  # a model just trained, to pick once the scan has it
        self._watch_model_folders()
        self.scan_models()

    # -- chrome ------------------------------------------------------------------------------

    def _panel_dock(self, title: str, name: str, panel) -> QDockWidget:
        """A dock holding `panel`, which scrolls on short screens instead of
        squeezing its controls together."""
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        scroll = QScrollArea()
        scroll.setObjectName("panel_scroll")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(panel)
        dock.setWidget(scroll)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(True)
        self.notice_label = QLabel(self.runtime.notice or "")
        self.notice_label.setObjectName("notice")
        self.notice_label.setVisible(bool(self.runtime.notice))
        self.render_label = QLabel("")
        self.render_label.setToolTip("Time the generator took for the last frame shown")
        self.zoom_label = QLabel("100%")
        self.zoom_label.setToolTip("Zoom (Ctrl+0 fit, Ctrl+1 100%, wheel zooms around the cursor)")
        self.device_label = QLabel(self._device_text(self.runtime.device))
        self.device_label.setToolTip(self.runtime.notice or f"Inference runs on {self.runtime.device.upper()}")
        for label in (self.notice_label, self.render_label, self.zoom_label, self.device_label):
            bar.addPermanentWidget(label)

    @staticmethod
    def _device_text(device: str) -> str:
        return f"Device: {device.upper()}"

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.open_action = self._action("&Open Image…", "Ctrl+O", self.open_dialog)
        file_menu.addAction(self.open_action)
        file_menu.addSeparator()
        file_menu.addAction(self.exports.frame_action)
        file_menu.addAction(self.exports.animation_action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", QKeySequence.Quit, self.close))

        view_menu = menu.addMenu("&View")
        view_menu.addAction(self._action("&Fit to Window", "Ctrl+0", self.canvas.fit))
        view_menu.addAction(self._action("&Actual Size (100%)", "Ctrl+1", self.canvas.actual_size))
        view_menu.addAction(self._action("Zoom &In", QKeySequence.ZoomIn, self.canvas.zoom_in))
        view_menu.addAction(self._action("Zoom &Out", QKeySequence.ZoomOut, self.canvas.zoom_out))
        view_menu.addSeparator()
        view_menu.addAction(self.dock.toggleViewAction())
        view_menu.addAction(self.train_dock.toggleViewAction())
        view_menu.addMenu(self._device_menu())

        walk_menu = menu.addMenu("&Walk")
        walk_menu.addAction(self.panel.play_action)
        walk_menu.addAction(self.panel.reroll_action)
        walk_menu.addAction(self.panel.clear_keys_action)
        walk_menu.addSeparator()
        walk_menu.addAction(self._action("&Rescan Models", "F5", self.scan_models))

        train_menu = menu.addMenu("&Train")
        train_menu.addAction(self._action("Show &Train Panel", None, self._show_train_panel))
        train_menu.addSeparator()
        for action in (self.train_panel.choose_action, self.train_panel.start_action,
                       self.train_panel.pause_action, self.train_panel.stop_action):
            train_menu.addAction(action)

        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("&About Latent Studio", None, self._about))

        # Panel shortcuts must work wherever the focus is in the window.
        for action in (self.panel.play_action, self.panel.reroll_action):
            self.addAction(action)

    def _device_menu(self) -> QMenu:
        menu = QMenu("Inference &Device", self)
        group = QActionGroup(menu)
        self.device_actions: dict[str, QAction] = {}
        for device, label in (("auto", "&Auto (CUDA when usable)"), ("cpu", "&CPU"), ("cuda", "C&UDA")):
            action = menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(device == self.runtime.requested)
            action.triggered.connect(lambda checked=False, d=device: self.set_device(d))
            group.addAction(action)
            self.device_actions[device] = action
        return menu

    def set_device(self, device: str) -> None:
        """Switch inference to `device` now and keep it as the preference."""
        save_device(device)
        self.runtime = Runtime(device, self.runtime.threads)
        self.generators.set_runtime(self.runtime)
        self.device_actions[device].setChecked(True)
        self.device_label.setText(self._device_text(self.runtime.device))
        self.device_label.setToolTip(self.runtime.notice or f"Inference runs on {self.runtime.device.upper()}")
        self.notice_label.setText(self.runtime.notice or "")
        self.notice_label.setVisible(bool(self.runtime.notice))
        self.panel.refresh()

    def _action(self, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda: slot())
        self.addAction(action)
        return action

    def _about(self) -> None:
        QMessageBox.about(self, "About Latent Studio",
                          f"<b>Latent Studio {__version__}</b><p>A canvas for generators you train yourself.</p>"
                          f"<p>Inference: {self.runtime.device.upper()}</p>")

    # -- models ------------------------------------------------------------------------------

    def _watch_model_folders(self) -> None:
        """Rescan when a model folder changes, so a model exported from the CLI
        (or copied in) shows up without a restart. Exports rename a finished
        folder into place, so one change event means one whole model."""
        folders = self.model_folders if self.model_folders is not None else [shipped_models_dir(), user_models_dir()]
        for folder in folders:
            Path(folder).mkdir(parents=True, exist_ok=True)
        self.model_watcher = QFileSystemWatcher([str(f) for f in folders], self)
        self._rescan_timer = QTimer(self)
        self._rescan_timer.setSingleShot(True)
        self._rescan_timer.setInterval(500)  # one rescan for a burst of changes
        self._rescan_timer.timeout.connect(self.scan_models)
        self.model_watcher.directoryChanged.connect(lambda _path: self._rescan_timer.start())

    def scan_models(self) -> BackgroundTask:
        """Re-read the model folders on a worker thread (hashing models is disk work).
        While a scan runs, asking again returns that scan."""
        if self._scan_task is not None:
            return self._scan_task
        folders = self.model_folders

        def scan(task: BackgroundTask) -> list[ModelEntry]:
            if self.registry is None:
                self.registry = Registry(folders)
                return self.registry.entries(usable_only=False)
            return self.registry.scan()

        self.statusBar().showMessage("Looking for models…")
        task = BackgroundTask(scan)
        task.succeeded.connect(self._models_found)
        task.failed.connect(lambda msg: show_error(self, "Models", msg))
        task.finished.connect(self._scan_finished)
        self._scan_task = task
        self._start(task)
        return task

    def _scan_finished(self) -> None:
        self._scan_task = None
        self._models_listed = True
        if self._pending_open is not None:  # shown after the scan, even a failed one
            pending, self._pending_open = self._pending_open, None
            self._show_file(*pending)

    def _models_found(self, entries: list[ModelEntry]) -> None:
        self.panel.set_models(entries)
        self.train_panel.set_models(entries)
        names = [e.name for e in self.panel.entries]
        if self._select_after_scan in names:
            self.panel.model_combo.setCurrentIndex(names.index(self._select_after_scan))
            self._select_after_scan = None
            self.dock.raise_()
        usable = sum(1 for e in entries if e.usable and e.kind == "generator")
        skipped = sum(1 for e in entries if not e.usable)
        self.statusBar().showMessage(f"{usable} generator{'s' if usable != 1 else ''} found"
                                     + (f", {skipped} skipped" if skipped else ""), 5000)

    def show_trained_model(self, name: str) -> None:
        """Rescan, then show the model `name` (just exported) in the Latent panel."""
        self._select_after_scan = name
        if self._scan_task is not None:  # that scan may have listed the folder before the export landed
            self._scan_task.finished.connect(self.scan_models)
        else:
            self.scan_models()

    def _show_train_panel(self) -> None:
        self.train_dock.show()
        self.train_dock.raise_()

    def _model_changed(self, entry: ModelEntry | None) -> None:
        self.setWindowTitle(f"{entry.name} — Latent Studio" if entry else "Latent Studio")

    # -- canvas ------------------------------------------------------------------------------

    def _show_frame(self, image, seconds: float, device: str) -> None:
        if image is None:
            if self.canvas.image() is not None and not self._showing_file:
                self.canvas.set_image(None)
            self.render_label.setText("")
            return
        self._showing_file = False
        self.canvas.set_image(image)
        self.render_label.setText(f"Frame {seconds * 1000:.1f} ms")
        if device:
            self.device_label.setText(self._device_text(device))
        if self.runtime.notice and not self.notice_label.isVisible():
            self.notice_label.setText(self.runtime.notice)
            self.notice_label.setVisible(True)
            self.device_label.setToolTip(self.runtime.notice)

    def _render_failed(self, message: str) -> None:
        last, when = self._last_error
        now = time.monotonic()
        self.statusBar().showMessage(f"Render failed: {message}", 8000)
        if message == last and now - when < REPEAT_ERROR_S:
            return
        self._last_error = (message, now)
        show_error(self, "Render", message)

    def open_dialog(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Open Image", str(self.exports.folder), OPEN_FILTER)
        if chosen:
            self.open_file(chosen)

    def open_file(self, path: str | Path) -> BackgroundTask:
        """Open an image (decoding on a worker thread). One that carries a recipe
        of ours reopens as the walk that made it; any other is shown on the canvas."""
        from studio.core.imageio import load_image
        from studio.core.recipe import read_recipe

        target = Path(path)
        task = BackgroundTask(lambda task: (load_image(target), read_recipe(target)))
        task.succeeded.connect(lambda loaded: self._show_file(*loaded, target))
        task.failed.connect(lambda msg: show_error(self, "Open Image", msg))
        self._start(task)
        return task

    def _show_file(self, image, recipe: dict | None, path: Path) -> None:
        # `self.registry` is made on the scan's thread before it has listed anything,
        # so only the GUI-thread flag says the panel knows the models.
        if recipe and not self._models_listed:  # opened at start-up: the models are still being read
            self._pending_open = (image, recipe, path)
            return
        restored = self._restore_recipe(recipe, path) if recipe else None
        if restored:
            self.statusBar().showMessage(restored, 8000)
            return
        self._showing_file = True
        self.canvas.set_image(image)
        self.statusBar().showMessage(f"Opened {path.name} ({image.shape[1]} x {image.shape[0]})", 6000)

    def _restore_recipe(self, recipe: dict, path: Path) -> str | None:
        """Put the panel back where `recipe` was made; a status line, or None
        (with a message box saying why) when it cannot be."""
        model = recipe.get("model") or {}
        entry = next((e for e in self.panel.entries if e.name == model.get("name")), None)
        try:
            walk = LatentWalk.from_recipe(recipe)
        except (ValueError, TypeError) as exc:
            show_error(self, "Open Image", f"{path.name} has a recipe, but {exc}; showing the image")
            return None
        if entry is None:
            show_error(self, "Open Image", f"{path.name} was made with model '{model.get('name')}', "
                                           f"which is not installed; showing the image")
            return None
        self.panel.restore(entry, walk)
        note = "" if entry.sha256 == model.get("sha256") else " (the model has changed since: results may differ)"
        return f"Reopened the recipe of {path.name}{note}"

    # -- lifetime ----------------------------------------------------------------------------

    def _start(self, task: BackgroundTask) -> None:
        self.tasks.add(task)
        task.finished.connect(lambda: (self.tasks.discard(task), task.deleteLater()))
        task.start()

    def shutdown(self) -> None:
        """Stop playback, cancel exports and end every thread (safe to call twice).
        Runs on close and on application quit: a QThread destroyed while running aborts."""
        self.panel.set_playing(False)
        self.train_panel.shutdown()
        self.exports.stop_all()
        for task in list(self.tasks):
            task.wait()
        self.worker.stop()

    def closeEvent(self, event) -> None:
        if not self.train_panel.confirm_close():
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)
