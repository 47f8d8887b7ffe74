"""The open document and its file: new, open, save, save as, recent files,
images dropped or pasted in, and the question before unsaved work is closed.

Reading and writing happen on worker threads. A save copies the document on
the GUI thread (cheap: arrays, no encoding), writes on a worker, and marks the
document saved at the state it copied, so edits made while it was writing
still count as unsaved. When the user chooses Save in the unsaved-changes
question, what they were doing (open, new, quit) goes on once the save has
landed, never while the GUI waits on the disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.core.clipboard_edits import paste_origin
from studio.core.commands import AddLayer
from studio.core.document import Document
from studio.core.imageio import IMAGE_SUFFIXES, load_image
from studio.core.placement import fit_within
from studio.core.layered_files import read_layered, write_layered
from studio.core.memory_budget import PixelJob
from studio.core.openraster import SUFFIX as ORA_SUFFIX
from studio.core.project import SUFFIX, capture_project
from studio.ui.background_task import BackgroundTask
from studio.ui.dialog_folder import remember, start_folder
from studio.ui.messages import show_error

# Opening a picture in the window, at its peak (core.memory_budget says how it
# was measured): 33 bytes per px for a plain JPEG (decoding, the layer, the
# composite's tiles, the canvas's image), and 8 more for the costliest
# decoding (core.imageio.DECODING). Checked from the header, before decoding.
OPENING = PixelJob("opening it", 41)

RECENT_KEY = "files/recent"
RECENT_COUNT = 10
PROJECT_FILTER = f"Latent Studio project (*{SUFFIX})"
ORA_FILTER = f"OpenRaster: Krita, GIMP, MyPaint (*{ORA_SUFFIX})"


def image_filter() -> str:
    patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
    return (f"Projects and images (*{SUFFIX} *{ORA_SUFFIX} {patterns});;{PROJECT_FILTER};;{ORA_FILTER};;"
            f"Images ({patterns});;All files (*)")


class DocumentFiles(QObject):
    documentChanged = Signal(object)  # the new Document, or None
    titleChanged = Signal(str)  # "name.studio*" style, for the window title
    message = Signal(str)  # status-bar text
    saved = Signal(object)  # Path: the open document was written there

    def __init__(self, window, start_task):
        """start_task(task): how the window runs (and keeps alive) a BackgroundTask."""
        super().__init__(window)
        self.window, self._start = window, start_task
        self.document: Document | None = None
        self.path: Path | None = None  # the .studio file, None until saved as one
        self.source_name = ""  # what the document was made from, for its title
        self._saving = False
        # Called with the document before it is saved, to note the panels' state in its workspace.
        self.before_save: list[Callable[[Document], None]] = []

    # -- the document ------------------------------------------------------------------------

    def adopt(self, document: Document | None, path: Path | None = None, name: str = "") -> None:
        """Make `document` the open one (the caller asked about unsaved work)."""
        if self.document is not None:
            self.document.listeners.remove(self._changed)
        self.document, self.path = document, path
        self.source_name = name or (path.name if path else "Untitled")
        if document is not None:
            document.listeners.append(self._changed)
        self.documentChanged.emit(document)
        self._changed(None)

    def _changed(self, _rect) -> None:
        doc = self.document
        if doc is None:
            self.titleChanged.emit("")
            return
        self.titleChanged.emit(self.source_name + ("*" if doc.modified else ""))

    def new_document(self, width: int, height: int) -> None:
        def make() -> None:
            doc = Document(width, height)
            doc.apply(AddLayer(doc.new_layer("Background"), text="New Layer"))
            doc.history.clear()
            doc.mark_saved()
            self.adopt(doc, None, "Untitled")

        self.then_discard(make)

    def then_discard(self, go_on: Callable[[], None]) -> None:
        """Run `go_on` once unsaved work may go: at once when there is none;
        else after asking Save / Discard / Cancel (Save: once it is saved)."""
        doc = self.document
        if doc is None or not doc.modified:
            go_on()
            return
        answer = QMessageBox.question(
            self.window, "Unsaved Changes", f"Save the changes to {self.source_name} first?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            self.save(then=go_on)
        elif answer == QMessageBox.Discard:
            go_on()

    # -- opening -----------------------------------------------------------------------------

    def open_project(self, path: Path) -> BackgroundTask:
        """Open a layered file: a .studio project or an OpenRaster .ora (saving
        writes back to it, in its own format)."""
        task = BackgroundTask(lambda _task: read_layered(path))
        task.succeeded.connect(lambda opened: self._opened(*opened, path))
        task.failed.connect(lambda msg: show_error(self.window, "Open", msg))
        self._start(task)
        return task

    def _opened(self, doc: Document, notes: list[str], path: Path) -> None:
        def show() -> None:
            self.adopt(doc, path)
            self.remember(path)
            kept = f"; {'; '.join(notes)}" if notes else ""
            self.message.emit(f"Opened {path.name} ({doc.width} x {doc.height}, {len(doc.layers)} layers){kept}")

        self.then_discard(show)

    def open_document(self, doc: Document, path: Path) -> None:
        """A document of one layer made from the image read from `path`."""
        def show() -> None:
            self.adopt(doc, None, path.name)
            self.remember(path)
            self.message.emit(f"Opened {path.name} ({doc.width} x {doc.height})")

        self.then_discard(show)

    def add_image_layer(self, image: np.ndarray, name: str, origin: tuple[int, int] | None = None) -> None:
        """Put `image` (uint8 HxWx4) on the document as a new layer, scaled
        down to fit if larger (dropped or pasted pictures), its top-left at
        `origin` or else where clipboard_edits.paste_origin puts it (the
        selection's corner, else centred); without a document it becomes one."""
        doc = self.document
        if doc is None:
            self.adopt(Document.from_image(image, name), None, name)
            return
        image = fit_within(image, doc.width, doc.height)
        h, w = image.shape[:2]
        x, y = paste_origin(doc, w, h, origin)
        pixels = np.zeros((doc.height, doc.width, 4), np.uint8)
        pixels[y:y + h, x:x + w] = image
        doc.apply(AddLayer(doc.new_layer(name, pixels), text=f"Add {name}"))
        self.message.emit(f"Added {name} as a layer")

    def load_image_layer(self, path: Path) -> BackgroundTask:
        task = BackgroundTask(lambda _task: load_image(path, job=OPENING))
        task.succeeded.connect(lambda image: self.add_image_layer(image, path.stem))
        task.failed.connect(lambda msg: show_error(self.window, "Add Layer", msg))
        self._start(task)
        return task

    # -- saving ------------------------------------------------------------------------------

    def save(self, then: Callable[[], None] | None = None) -> None:
        """Save to the document's .studio file (asking for one the first
        time); `then` runs once it is written."""
        if self.document is None:
            return
        if self.path is None:
            self.save_as(then)
        else:
            self._write(self.path, then)

    def save_as(self, then: Callable[[], None] | None = None) -> None:
        if self.document is None:
            return
        start = str(self.path) if self.path else str(start_folder() / (Path(self.source_name).stem + SUFFIX))
        name, chosen = QFileDialog.getSaveFileName(self.window, "Save Project", start,
                                                   f"{PROJECT_FILTER};;{ORA_FILTER}")
        if not name:
            return
        remember(name)
        path = Path(name)
        suffix = ORA_SUFFIX if chosen == ORA_FILTER else SUFFIX
        if path.suffix.lower() not in (SUFFIX, ORA_SUFFIX):
            path = path.with_name(path.name + suffix)
        self._write(path, then)

    def export_openraster(self) -> BackgroundTask | None:
        """Write a copy as OpenRaster for Krita, GIMP or MyPaint; the document
        stays tied to its own file."""
        if self.document is None:
            return None
        start = str(start_folder() / (Path(self.source_name).stem + ORA_SUFFIX))
        name, _ = QFileDialog.getSaveFileName(self.window, "Export As OpenRaster", start, ORA_FILTER)
        if not name:
            return None
        remember(name)
        path = Path(name) if Path(name).suffix.lower() == ORA_SUFFIX else Path(name + ORA_SUFFIX)
        snapshot = capture_project(self.document)
        task = BackgroundTask(lambda _task: write_layered(snapshot, path))
        task.succeeded.connect(lambda _r: self.message.emit(f"Exported {path.name}"))
        task.failed.connect(lambda msg: show_error(self.window, "Export As OpenRaster", msg))
        self.message.emit(f"Exporting {path.name}…")
        self._start(task)
        return task

    def _write(self, path: Path, then: Callable[[], None] | None) -> None:
        if self._saving:
            self.message.emit("Still saving the previous version…")
            return
        doc = self.document
        for note in self.before_save:  # the panels write what they show into the workspace
            note(doc)
        snapshot = capture_project(doc)
        state = doc.history.state
        task = BackgroundTask(lambda _task: write_layered(snapshot, path))
        task.succeeded.connect(lambda _r: self._saved(doc, path, state, then))
        task.failed.connect(lambda msg: show_error(self.window, "Save", msg))
        task.finished.connect(lambda: setattr(self, "_saving", False))
        self._saving = True
        self.message.emit(f"Saving {path.name}…")
        self._start(task)

    def _saved(self, doc: Document, path: Path, state: int, then: Callable[[], None] | None) -> None:
        if doc is self.document:
            doc.mark_saved(state)
            self.path, self.source_name = path, path.name
            self.remember(path)
            self._changed(None)
            self.message.emit(f"Saved {path.name}")
            self.saved.emit(path)
        if then is not None:
            then()

    # -- recent files ------------------------------------------------------------------------

    def recent(self) -> list[Path]:
        values = QSettings().value(RECENT_KEY, []) or []
        if isinstance(values, str):
            values = [values]
        return [Path(v) for v in values]

    def remember(self, path: Path) -> None:
        paths = [str(path.resolve())] + [str(p) for p in self.recent() if p != path.resolve()]
        QSettings().setValue(RECENT_KEY, paths[:RECENT_COUNT])
