"""The main window: the canvas in the middle with the tools on its left and
their options above, the Latent, Style, Inpaint, Layers and Train panels
docked on the right."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QScrollArea

from studio import __version__
from studio.core.document import Document
from studio.core.paths import shipped_models_dir, user_models_dir
from studio.core.layered_files import is_layered
from studio.core.project import SUFFIX as PROJECT_SUFFIX
from studio.core.recipe import encode_latent
from studio.core.walk import LatentWalk
from studio.engine.generator import model_recipe
from studio.engine.registry import ModelEntry, Registry
from studio.engine.devices import DEVICE_LABELS
from studio.engine.runtime import Runtime, offered_devices
from studio.engine.style import Stylizer
from studio.ui.background_task import BackgroundTask, TaskSet
from studio.ui.canvas_actions import CanvasActions, SizeDialog
from studio.ui.canvas_keys import CanvasKeys
from studio.ui.canvas_view import CanvasView
from studio.ui.dialog_folder import remember, start_folder
from studio.ui.document_export import TITLE as EXPORT_TITLE, export_task
from studio.ui.document_files import OPENING, DocumentFiles, image_filter
from studio.ui.export_actions import ExportActions
from studio.ui.export_dialog import ExportDialog
from studio.ui.getting_started import GettingStarted
from studio.ui.inpaint_panel import InpaintPanel
from studio.ui.latent_panel import LatentPanel
from studio.ui.layers_panel import LayersPanel
from studio.ui.messages import show_error
from studio.ui.adjust_actions import AdjustActions
from studio.ui.autosave import Autosaver, offer_recovery
from studio.ui.preferences import save_device, saved_autosave_interval, saved_user_models_dir
from studio.ui.preferences_dialog import PreferencesDialog
from studio.ui.picture_keys import PictureKeys
from studio.ui.render_worker import GeneratorCache, RenderWorker
from studio.ui.theme import apply_theme
from studio.ui.shortcuts_dialog import ShortcutsDialog
from studio.ui.style_panel import StylePanel
from studio.ui.tool_box import ToolBox
from studio.ui.train_panel import TrainPanel
from studio.ui.upscale_actions import UpscaleActions

REPEAT_ERROR_S = 3.0  # the same render error within this time is not shown twice


def default_model_folders() -> list[Path]:
    """Shipped models, the user's model folder (a preference), and the
    platform's default one when the preference moved it (`studio export`
    and the trainer still write there unless told otherwise)."""
    folders = [shipped_models_dir(), saved_user_models_dir()]
    if user_models_dir() not in folders:
        folders.append(user_models_dir())
    return folders


class MainWindow(QMainWindow):
    def __init__(self, runtime: Runtime, model_folders: list[Path] | None = None, parent=None):
        """model_folders: where to look for models (None: shipped models/ + the user's)."""
        super().__init__(parent)
        self.runtime = runtime
        self.model_folders = model_folders if model_folders is not None else default_model_folders()
        self.registry: Registry | None = None
        self.tasks = TaskSet()
        self._last_error = ("", 0.0)
        self._scan_task: BackgroundTask | None = None
        self._closing = False  # the unsaved-changes question was answered
        self._watched = None  # the document _document_edited listens to
        self._last_placed: int | None = None  # the layer the last AI result landed on (Tab hides it)
        self._last_in_place = False  # the last AI result was an in-place fill (Tab shows the pixels before it)
        self._models_listed = False  # set on the GUI thread once the first scan has ended
        self._walk_asked = False  # the artist walked since the picture opened: the frame may float over it
        self._pending_open: tuple | None = None  # a file opened before the first model scan ended
        self._pending_walk: tuple | None = None  # a project's walk, reopened before the first model scan ended

        self.setWindowTitle("Latent Studio")
        self.resize(1440, 900)
        self.setDockOptions(QMainWindow.AnimatedDocks | QMainWindow.AllowTabbedDocks)

        self.generators = GeneratorCache(runtime)
        self.worker = RenderWorker(self.generators, self)
        self.worker.start()

        self.canvas = CanvasView(self)
        self.canvas.placeholder = ("1. Click samples in the Latent panel to make keyframes\n"
                                   "    (or open an image: Ctrl+O, or drop one here)\n"
                                   "2. Drag Position to walk between them; Play loops the walk\n"
                                   "3. Place on Canvas (Ctrl+Enter) or export the frame (Ctrl+E)\n\n"
                                   "F1 lists every shortcut")
        self.setCentralWidget(self.canvas)
        self.setAcceptDrops(True)
        self.files = DocumentFiles(self, self._start)
        self.autosaver = self._make_autosaver()
        self.tools = ToolBox(self, self.canvas, lambda text: self.statusBar().showMessage(text, 6000))
        self.addToolBar(Qt.LeftToolBarArea, self.tools.tool_bar)
        self.addToolBar(Qt.TopToolBarArea, self.tools.options_bar)
        for action in self.tools.shortcut_actions():
            self.addAction(action)
        self.actions_ = CanvasActions(self, lambda: self.files.document, self._current_frame)
        self.upscales = UpscaleActions(self, lambda: self.files.document, lambda: self.runtime, self.actions_,
                                       self._current_frame)
        self.adjustments = AdjustActions(self, lambda: self.files.document, self.canvas)

        self.panel = LatentPanel(self.worker)
        self.dock = self._panel_dock("Latent", "latent_dock", self.panel)
        self.dock.setMinimumWidth(self.panel.sizeHint().width() + 24)
        self.addDockWidget(Qt.RightDockWidgetArea, self.dock)

        # Training shares the right side with the Latent panel, as a tab behind it.
        self.train_panel = TrainPanel()
        self.train_dock = self._panel_dock("Train", "train_dock", self.train_panel)
        # Layers below, always in view while painting, as in Krita.
        self.layers_panel = LayersPanel()
        self.layers_dock = QDockWidget("Layers", self)
        self.layers_dock.setObjectName("layers_dock")
        self.layers_dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.layers_dock.setWidget(self.layers_panel)
        self.addDockWidget(Qt.RightDockWidgetArea, self.layers_dock)
        self.tabifyDockWidget(self.dock, self.train_dock)
        self.style_panel = StylePanel(lambda: self.files.document, self.canvas, self._make_stylizer)
        self.style_dock = self._panel_dock("Style", "style_dock", self.style_panel)
        self.addDockWidget(Qt.RightDockWidgetArea, self.style_dock)
        self.tabifyDockWidget(self.dock, self.style_dock)
        self.inpaint_panel = InpaintPanel(lambda: self.files.document, self.canvas, lambda: self.runtime)
        self.inpaint_dock = self._panel_dock("Inpaint", "inpaint_dock", self.inpaint_panel)
        self.addDockWidget(Qt.RightDockWidgetArea, self.inpaint_dock)
        self.tabifyDockWidget(self.style_dock, self.inpaint_dock)
        self.resizeDocks([self.dock, self.layers_dock], [640, 260], Qt.Vertical)
        self.dock.raise_()

        self.exports = ExportActions(self, self.panel, self.generators)
        self.pictures = PictureKeys(self, self.panel, lambda: self.files.document, self.generators)
        self.pictures.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.panel.add_export_actions(self.exports.frame_action, self.exports.animation_action)

        self._build_status_bar()
        self._build_menus()
        self.panel.frameReady.connect(self._show_frame)
        self.panel.frameReady.connect(lambda *_: self._remember_walk())
        self.panel.walkTouched.connect(self._walk_touched)
        self.dock.visibilityChanged.connect(self._latent_shown)
        self.panel.renderFailed.connect(self._render_failed)
        self.panel.rescanRequested.connect(self.scan_models)
        self.panel.modelChanged.connect(self._model_changed)
        self.exports.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.train_panel.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.train_panel.modelExported.connect(self.show_trained_model)
        self.files.documentChanged.connect(self._document_changed)
        self.files.documentChanged.connect(self.style_panel.set_document)
        self.files.before_save.append(lambda doc: doc.workspace.update(style=self.style_panel.settings()))
        self.style_panel.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        # Tab compares without a styled or inpainted layer, as without a generated one.
        self.style_panel.layerAdded.connect(self._result_layer_added)
        self.files.documentChanged.connect(self.inpaint_panel.set_document)
        self.inpaint_panel.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.inpaint_panel.layerAdded.connect(self._result_layer_added)
        self.inpaint_panel.filledInPlace.connect(self._filled_in_place)
        self.inpaint_dock.visibilityChanged.connect(lambda shown: shown and self.inpaint_panel.warm_up())
        self.files.titleChanged.connect(self._update_title)
        self.files.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.files.saved.connect(lambda path: (self.autosaver.set_source(path, path.name),
                                               self.autosaver.document_saved()))
        self.actions_.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.actions_.placed.connect(self._placed)
        # hold Tab to compare, Space to pan, one-key shortcuts: anywhere
        self.canvas_keys = CanvasKeys(self, self.canvas, self._compare, self.canvas.hold_space)
        self.panel.add_place_actions(self.actions_.place_action, self.upscales.place_action)
        self.upscales.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.adjustments.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self._model_name = ""
        self._document_changed(None)
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
        self.notice_label = QLabel(self.runtime.shown_notice or "")
        self.notice_label.setObjectName("notice")
        self.notice_label.setVisible(bool(self.runtime.shown_notice))
        self.render_label = QLabel("")
        self.render_label.setToolTip("Time the generator took for the last frame shown")
        self.zoom_label = QLabel("100%")
        self.zoom_label.setToolTip("Zoom (Ctrl+0 fit, Ctrl+1 100%, wheel zooms around the cursor)")
        self.device_label = QLabel(self._device_text(self.runtime.device))
        self.device_label.setToolTip(self.runtime.shown_notice or f"Inference runs on {self.runtime.device.upper()}")
        for label in (self.notice_label, self.render_label, self.zoom_label, self.device_label):
            bar.addPermanentWidget(label)

    @staticmethod
    def _device_text(device: str) -> str:
        return f"Device: {device.upper()}"

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self._action("&New…", QKeySequence.New, self.new_dialog))
        self.open_action = self._action("&Open…", "Ctrl+O", self.open_dialog)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Save", QKeySequence.Save, lambda: self.files.save()))
        file_menu.addAction(self._action("Save &As…", "Ctrl+Shift+S", lambda: self.files.save_as()))
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Export…", "Ctrl+Shift+E", self.export_dialog))
        file_menu.addAction(self._action("Export As &OpenRaster…", None, self.files.export_openraster))
        file_menu.addAction(self.exports.frame_action)
        file_menu.addAction(self.exports.animation_action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", QKeySequence.Quit, self.close))

        menus = {name: menu.addMenu(title) for name, title in
                 (("edit", "&Edit"), ("select", "&Select"), ("image", "&Image"), ("layer", "&Layer"))}
        self.actions_.add_to(menus)
        menus["image"].addSeparator()
        adjust_menu = menus["image"].addMenu("&Adjust")
        for action in self.adjustments.actions:
            adjust_menu.addAction(action)
        menus["image"].addAction(self.upscales.upscale_action)
        first = menus["layer"].actions()[0] if menus["layer"].actions() else None
        for text, keys, slot in (("&New Layer", "Ctrl+Shift+N", self.layers_panel.add_layer),
                                 ("&Duplicate Layer", "Ctrl+J", self.layers_panel.duplicate_layer),
                                 ("&Rename Layer", "F2", self.layers_panel.rename_layer),
                                 ("&Merge Down", "Ctrl+Shift+M", self.layers_panel.merge_down),
                                 ("&Flatten Image", None, self.layers_panel.flatten)):
            menus["layer"].insertAction(first, self._action(text, keys, slot))
        menus["layer"].insertSeparator(self.actions_.place_action)
        menus["edit"].addSeparator()
        menus["edit"].addAction(self.inpaint_panel.fill_action)
        self.addAction(self.inpaint_panel.fill_action)  # its shortcut works wherever the focus is
        menus["edit"].addSeparator()
        menus["edit"].addAction(self._action("&Preferences…", QKeySequence.Preferences, self.preferences_dialog))

        view_menu = menu.addMenu("&View")
        view_menu.addAction(self._action("&Fit to Window", "Ctrl+0", self.canvas.fit))
        view_menu.addAction(self._action("&Actual Size (100%)", "Ctrl+1", self.canvas.actual_size))
        view_menu.addAction(self._action("Zoom &In", QKeySequence.ZoomIn, self.canvas.zoom_in))
        view_menu.addAction(self._action("Zoom &Out", QKeySequence.ZoomOut, self.canvas.zoom_out))
        view_menu.addSeparator()
        for widget in (self.dock, self.style_dock, self.inpaint_dock, self.layers_dock, self.train_dock,
                       self.tools.tool_bar, self.tools.options_bar):
            view_menu.addAction(widget.toggleViewAction())
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
        help_menu.addAction(self._action("&Getting Started", None, lambda: GettingStarted(self).exec()))
        help_menu.addAction(self._action("&Keyboard Shortcuts", "F1", lambda: ShortcutsDialog(self).exec()))
        help_menu.addAction(self._action("&About Latent Studio", None, self._about))

        # Panel shortcuts must work wherever the focus is in the window.
        for action in (self.panel.play_action, self.panel.reroll_action):
            self.addAction(action)

    def _device_menu(self) -> QMenu:
        menu = QMenu("Inference &Device", self)
        group = QActionGroup(menu)
        self.device_actions: dict[str, QAction] = {}
        for device in offered_devices():
            action = menu.addAction(DEVICE_LABELS[device])
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
        self.style_panel.set_stylizer_factory(self._make_stylizer)
        self.device_actions[device].setChecked(True)
        self.device_label.setText(self._device_text(self.runtime.device))
        self.device_label.setToolTip(self.runtime.shown_notice or f"Inference runs on {self.runtime.device.upper()}")
        self.notice_label.setText(self.runtime.shown_notice or "")
        self.notice_label.setVisible(bool(self.runtime.shown_notice))
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
        folders = self.model_folders
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
        if self._pending_walk is not None:
            pending, self._pending_walk = self._pending_walk, None
            self._reopen_walk(*pending)

    def _models_found(self, entries: list[ModelEntry]) -> None:
        self.panel.set_models(entries)
        self.train_panel.set_models(entries)
        self.inpaint_panel.set_models(entries)
        self.upscales.set_models(entries)
        names = [e.name for e in self.panel.entries]
        if self._select_after_scan in names:
            self.panel.model_combo.setCurrentIndex(names.index(self._select_after_scan))
            self._select_after_scan = None
            self.dock.raise_()
        elif self._select_after_scan in [e.name for e in self.inpaint_panel.models]:
            self.inpaint_panel.set_method("auto", self._select_after_scan)
            self._select_after_scan = None
            self.inpaint_dock.raise_()
        generators = sum(1 for e in entries if e.usable and e.kind == "generator")
        fills = sum(1 for e in entries if e.usable and e.kind == "inpaint")
        skipped = sum(1 for e in entries if not e.usable)
        self.statusBar().showMessage(f"{generators} generator{'s' if generators != 1 else ''} and "
                                     f"{fills} inpaint model{'s' if fills != 1 else ''} found"
                                     + (f", {skipped} skipped" if skipped else ""), 5000)

    def show_trained_model(self, name: str) -> None:
        """Rescan, then show the model `name` (just exported) in the Latent
        panel, or pick it in the Inpaint panel when it is an inpaint model."""
        self._select_after_scan = name
        if self._scan_task is not None:  # that scan may have listed the folder before the export landed
            self._scan_task.finished.connect(self.scan_models)
        else:
            self.scan_models()

    def _show_train_panel(self) -> None:
        self.train_dock.show()
        self.train_dock.raise_()

    def _model_changed(self, entry: ModelEntry | None) -> None:
        self._model_name = entry.name if entry else ""
        self._update_title(None)

    def _update_title(self, _document_title: str | None) -> None:
        """The document's name (with * when unsaved), else the model walked."""
        doc = self.files.document
        if doc is not None:
            title = self.files.source_name + ("*" if doc.modified else "")
        else:
            title = self._model_name
        self.setWindowTitle(f"{title} — Latent Studio" if title else "Latent Studio")
        self.actions_.update_labels()
        self.upscales.upscale_action.setEnabled(doc is not None)

    # -- canvas ------------------------------------------------------------------------------

    def _make_autosaver(self, recovered=None) -> Autosaver:
        """The autosaver of this window's document; `recovered` (a
        RecoveredDocument) keeps writing into the slot it came back from."""
        if recovered is None:
            autosaver = Autosaver(interval=saved_autosave_interval(), parent=self)
        else:
            autosaver = Autosaver(recovered.document, session_id=recovered.session_id, unsaved=True,
                                  source=recovered.source, title=recovered.title,
                                  interval=saved_autosave_interval(), parent=self)
        autosaver.saved.connect(lambda text: self.statusBar().showMessage(text, 4000))
        autosaver.failed.connect(lambda text: self.statusBar().showMessage(text, 10000))
        return autosaver

    def _make_stylizer(self) -> Stylizer:
        """Runs on the style worker's thread (the registry scan reads the disk)."""
        return Stylizer(Registry(self.model_folders), self.runtime)

    def recover_autosaves(self) -> None:
        """At start-up: offer what a crashed session left behind; the newest
        document chosen opens here (others stay for the next start)."""
        recovered = offer_recovery(self)
        if not recovered:
            return
        first = recovered[0]
        self.files.adopt(first.document, first.source if first.source and first.source.suffix == PROJECT_SUFFIX
                         else None, first.title or "Recovered")
        first.document.mark_saved(state=-1)  # no state of it is on disk: unsaved until saved
        self.autosaver.close()
        self.autosaver = self._make_autosaver(first)
        self._update_title(None)
        more = f"; {len(recovered) - 1} more will be offered at the next start" if len(recovered) > 1 else ""
        self.statusBar().showMessage(f"Recovered {first.title or 'a document'}{more}", 10000)

    def _document_changed(self, doc) -> None:
        self.autosaver.set_document(doc, self.files.path, self.files.source_name)
        if self._watched is not None:
            self._watched.listeners.remove(self._document_edited)
        self._watched = doc
        if doc is not None:
            doc.listeners.append(self._document_edited)
        self.canvas.set_document(doc)
        self.layers_panel.set_document(doc)
        self._last_placed, self._last_in_place = None, False
        self._walk_asked = False  # a new picture: no generated frame over it until the artist walks
        if doc is None:
            self._show_last_frame()  # the frame is the canvas again
        else:
            self.canvas.set_preview(None)
        workspace = doc.workspace if doc is not None else {}
        if isinstance(workspace.get("style"), dict):  # a project reopens with its style settings
            self.style_panel.apply_settings(workspace["style"])
        if isinstance(workspace.get("latent"), dict):  # and with the walk it was saved with
            self._reopen_walk(workspace["latent"], self.files.source_name)
        self._update_title(None)

    def _remember_walk(self) -> None:
        """The open picture keeps the walk being shown (saved with a project)."""
        doc, entry = self.files.document, self.panel.entry
        if doc is not None and entry is not None and self.panel.walk.keyframes:
            doc.workspace["latent"] = model_recipe(entry, **self.panel.walk.frame_recipe())

    def _reopen_walk(self, walk: dict, name: str) -> None:
        if not self._models_listed:  # opened at start-up: the models are still being read
            self._pending_walk = (walk, name)
            return
        restored = self._restore_recipe(walk, Path(name))
        if restored:
            self.statusBar().showMessage(restored.replace("the recipe of", "the walk of"), 8000)

    def _walk_touched(self) -> None:
        self._walk_asked = True
        self._show_last_frame()

    def _show_last_frame(self) -> None:
        if self.panel.last_frame is not None:
            self._show_frame(self.panel.last_frame.images[0], self.panel.last_frame.seconds, "")

    def _document_edited(self, _rect) -> None:
        """A floating frame follows the selection it will land in."""
        doc = self.files.document
        if doc is not None and self.canvas.has_preview() and self.style_panel.last_preview is None:
            self.canvas.place_preview(self.actions_.target_rect(doc))

    def _latent_shown(self, shown: bool) -> None:
        """Over a document the walk's frame floats only while the Latent panel is
        in front: a mask painted for inpainting or a style must not show a
        generated picture inside it."""
        if self.files.document is None:
            return
        if shown:
            self._show_last_frame()
        elif self.style_panel.last_preview is None:
            self.canvas.set_preview(None)

    def _show_frame(self, image, seconds: float, device: str) -> None:
        if image is None:
            self.canvas.set_preview(None)
            self.render_label.setText("")
            return
        doc = self.files.document
        if doc is not None and (self.dock.visibleRegion().isEmpty() or not self._walk_asked):
            return  # see _latent_shown and _walk_touched
        self.canvas.set_preview(image, self.actions_.target_rect(doc) if doc is not None else None)
        self.render_label.setText(f"Frame {seconds * 1000:.1f} ms")
        if device:
            self.device_label.setText(self._device_text(device))
        if self.runtime.shown_notice and not self.notice_label.isVisible():
            self.notice_label.setText(self.runtime.shown_notice)
            self.notice_label.setVisible(True)
            self.device_label.setToolTip(self.runtime.shown_notice)

    def _current_frame(self) -> tuple | None:
        """(image, recipe) of the walk frame shown, for placing it on the canvas."""
        result = self.panel.last_frame
        if result is None or self.panel.entry is None:
            return None
        walk = result.tag
        recipe = model_recipe(self.panel.entry, **walk.frame_recipe(), latent=encode_latent(result.latents[0]))
        return result.images[0], recipe

    def _placed(self, layer_id: int) -> None:
        self._result_layer_added(layer_id)
        self.canvas.set_preview(None)  # it is on the canvas now; the next walk frame floats again
        self.statusBar().showMessage("Placed the generated image (hold Tab to compare without it)", 6000)

    def _result_layer_added(self, layer_id: int) -> None:
        """An AI result landed as a layer of its own: Tab hides that layer."""
        self._last_placed, self._last_in_place = layer_id, False

    def _filled_in_place(self) -> None:
        """A fill changed a layer's own pixels: Tab shows them as they were."""
        self._last_placed, self._last_in_place = None, True

    def _compare(self, held: bool) -> None:
        doc = self.files.document
        if doc is None:
            return
        if self._last_in_place:
            view = self.inpaint_panel.before_view() if held else None
            if held and view is None:
                self.statusBar().showMessage("Nothing to compare: the last fill was undone or painted over", 4000)
            if view is None:
                self.canvas.compare_with(None)
            else:
                self.canvas.compare_with(*view)
            return
        if self._last_placed is None or not any(l.id == self._last_placed for l in doc.layers):
            return
        self.canvas.compare_without(self._last_placed if held else None)

    def _render_failed(self, message: str) -> None:
        last, when = self._last_error
        now = time.monotonic()
        self.statusBar().showMessage(f"Render failed: {message}", 8000)
        if message == last and now - when < REPEAT_ERROR_S:
            return
        self._last_error = (message, now)
        show_error(self, "Render", message)

    def open_dialog(self) -> None:
        start = str(self.files.path.parent if self.files.path else start_folder())
        chosen, _ = QFileDialog.getOpenFileName(self, "Open", start, image_filter())
        if chosen:
            remember(chosen)
            self.open_file(chosen)

    def open_file(self, path: str | Path) -> BackgroundTask:
        """Open a project, or an image (decoded on a worker thread). An image that
        carries a recipe of ours reopens as the walk that made it; any other
        becomes a new document."""
        from studio.core.imageio import load_image
        from studio.core.recipe import read_recipe

        target = Path(path)
        if is_layered(target):
            return self.files.open_project(target)
        # The document is built on the worker too: its one layer is a copy of
        # the picture (64 MB at 4096 px, a 220 ms stall on the GUI thread).
        task = BackgroundTask(lambda task: (Document.from_image(load_image(target, job=OPENING), target.stem),
                                            read_recipe(target)))
        task.succeeded.connect(lambda loaded: self._show_file(*loaded, target))
        task.failed.connect(lambda msg: show_error(self, "Open Image", msg))
        self._start(task)
        return task

    def _show_file(self, doc: Document, recipe: dict | None, path: Path) -> None:
        # `self.registry` is made on the scan's thread before it has listed anything,
        # so only the GUI-thread flag says the panel knows the models.
        if recipe and not self._models_listed:  # opened at start-up: the models are still being read
            self._pending_open = (doc, recipe, path)
            return
        restored = self._restore_recipe(recipe, path) if recipe else None
        if restored:
            self.statusBar().showMessage(restored, 8000)
            return
        self.files.open_document(doc, path)

    # -- drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """A project (.studio or .ora) opens; an image becomes a layer of the open document (or
        opens, when there is none)."""
        for url in event.mimeData().urls():
            if not url.isLocalFile():
                continue
            path = Path(url.toLocalFile())
            if not is_layered(path) and self.files.document is not None:
                self.files.load_image_layer(path)
            else:
                self.open_file(path)
        event.acceptProposedAction()

    def _restore_recipe(self, recipe: dict, path: Path) -> str | None:
        """Put the panel back where `recipe` was made; a status line, or None
        (with a message box saying why) when it cannot be."""
        model = recipe.get("model") if isinstance(recipe.get("model"), dict) else {}
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
        self.tasks.start(task)

    def shutdown(self) -> None:
        """Stop playback, cancel exports and end every thread (safe to call twice).
        Runs on close and on application quit: a QThread destroyed while running aborts."""
        self.panel.set_playing(False)
        self.autosaver.close()  # a clean exit leaves nothing to recover
        self.train_panel.shutdown()
        self.exports.stop_all()
        self.upscales.shutdown()
        self.adjustments.shutdown()
        self.pictures.shutdown()
        self.panel.directions.shutdown()
        self.style_panel.shutdown()
        self.inpaint_panel.shutdown()
        self.tasks.finish_all(cancel=False)
        self.worker.stop()

    def closeEvent(self, event) -> None:
        doc = self.files.document
        if doc is not None and doc.modified and not self._closing:
            # Asked first; Save closes once the file is written (the GUI never waits on it).
            event.ignore()
            # Closed from the event loop: a close() inside closeEvent is ignored by Qt.
            self.files.then_discard(lambda: QTimer.singleShot(0, self._close_now))
            return
        if not self.train_panel.confirm_close():
            self._closing = False
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def _close_now(self) -> None:
        self._closing = True
        self.close()

    # -- documents ---------------------------------------------------------------------------

    def new_dialog(self) -> None:
        dialog = SizeDialog("New Document", 1024, 1024, self)
        if dialog.exec():
            self.files.new_document(*dialog.size())

    def export_dialog(self) -> None:
        """Export the document (format, scale, alpha, recipe, whole image or the
        selection) from a copy, on a worker thread."""
        doc = self.files.document
        if doc is None:
            self.statusBar().showMessage("Nothing to export yet: open an image or place a generated one", 6000)
            return
        dialog = ExportDialog(doc, Path(self.files.source_name).stem or "untitled", self, self.upscales.models)
        if not dialog.exec():
            return
        options = dialog.options()
        task = export_task(self, doc, options, self.runtime)
        task.succeeded.connect(lambda path: self.statusBar().showMessage(f"Exported {Path(path).name}", 6000))
        task.failed.connect(lambda msg: show_error(self, EXPORT_TITLE, msg))
        task.cancelled_done.connect(lambda: self.statusBar().showMessage("Export cancelled; nothing was written", 6000))
        self.statusBar().showMessage(f"Exporting {options.path.name}…")
        self._start(task)

    def preferences_dialog(self) -> None:
        dialog = PreferencesDialog(self)
        dialog.changed.connect(self._preferences_changed)
        dialog.exec()

    def _preferences_changed(self, keys: list[str]) -> None:
        """Apply what the Preferences dialog changed, at once."""
        from studio.ui.preferences import load_preferences

        prefs = load_preferences()
        if "device" in keys or "threads" in keys:
            self.runtime = Runtime(self.runtime.requested, prefs.threads or None)  # set_device keeps its threads
            self.set_device(prefs.device)
        if "autosave_s" in keys:
            self.autosaver.set_interval(prefs.autosave_s)
        if "user_models" in keys:
            self.model_folders = default_model_folders()
            self.registry = None
            self.model_watcher.addPaths([str(f) for f in self.model_folders if Path(f).is_dir()])
            self.scan_models()
            self.style_panel.set_stylizer_factory(self._make_stylizer)
        if "theme" in keys:
            apply_theme(QApplication.instance(), prefs.theme)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.files.recent()
        for path in recent:
            action = self.recent_menu.addAction(path.name)
            action.setToolTip(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_file(p))
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
