"""Autosave of the open document, and the start-up offer to recover what a
crash left behind (studio.core.recovery does the files).

The Autosaver copies the document's layers and mask on the GUI thread
(commands write layer pixels in place, so sharing the arrays with a worker
would tear them), a band at a time between events (ui/banded_copy.py: in
one go that stalled the window 70-160 ms at 4096 px), and composites,
encodes and writes the copy on a BackgroundTask, one write at a time.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import recovery
from studio.core.document import Document
from studio.core.recovery import Orphan, RecoveryError
from studio.ui.background_task import BackgroundTask
from studio.ui.banded_copy import BandedCopy
from studio.ui.messages import one_line
from studio.ui.qimage import pixmap_from_array


class Autosaver(QObject):
    """Writes `document` into its recovery slot every `interval` seconds while
    it has changes no project file holds.

    session_id: the slot (recovery.new_session_id() when None); source: the
    project file the document belongs to, or None; title: the window's name for
    it; unsaved: the document's contents are on no disk yet although
    doc.modified is False (a recovered document) — autosaved until
    document_saved() is called.

    The lead calls document_saved() after every successful Save / Save As,
    set_document() when the window shows another document, and close() when
    the window closes cleanly (removes the slot).
    """

    saved = Signal(str)  # status-bar text, e.g. "Autosaved at 14:03"
    failed = Signal(str)  # one line, e.g. "Autosave failed: cannot save ...: no space left on device"

    def __init__(self, document: Document | None = None, *, session_id: str | None = None,
                 interval: float = recovery.DEFAULT_INTERVAL_S, source: str | os.PathLike | None = None,
                 title: str = "Untitled", unsaved: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session_id = session_id or recovery.new_session_id()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.autosave_now)
        self._copy: BandedCopy | None = None  # the document being copied for the next write
        self._task: BackgroundTask | None = None
        self._pending: tuple[Document, int, int] | None = None  # (document, revision, generation) being written
        self._doc: Document | None = None
        self._interval = 0.0
        self._source: Path | None = None
        self._title = title
        self._unsaved = False
        self._has_slot = False
        self._written_revision: int | None = None
        self._seen_revision: int | None = None
        self._touched = False
        # Bumped whenever the slot is emptied, so a write that was in flight
        # then does not count as being in the slot when it reports back.
        self._generation = 0
        self.set_interval(interval)
        if document is not None:
            self.set_document(document, source, title, unsaved)

    # --- settings ----------------------------------------------------------------

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def interval(self) -> float:
        """Seconds between autosaves; 0 = off."""
        return self._interval

    def set_interval(self, seconds: float) -> None:
        """seconds: 0 (off) or more. Turning autosave off removes the slot:
        a user who does not want autosave does not want stale copies either."""
        seconds = float(seconds)
        if not seconds >= 0:  # also catches NaN
            raise ValueError(f"autosave interval must be 0 (off) or more seconds, got {seconds}")
        self._interval = seconds
        if seconds == 0:
            self._timer.stop()
            self._drop_slot()
        else:
            self._timer.start(max(1, round(seconds * 1000)))

    @property
    def document(self) -> Document | None:
        return self._doc

    def set_document(self, document: Document | None, source: str | os.PathLike | None = None,
                     title: str = "Untitled", unsaved: bool = False) -> None:
        """Watch another document (None: none). The slot is emptied first; with
        unsaved=True and an existing slot (a document recover() moved there)
        the slot is kept as holding `document` as it is now."""
        if self._doc is not None:
            self._doc.listeners.remove(self._heard)
        keep = unsaved and document is not None and recovery.autosave_path(self._session_id).is_file()
        if not keep:
            self._drop_slot()
        self._doc = document
        self._source = Path(source) if source is not None else None
        self._title = title
        self._unsaved = unsaved
        self._touched = False
        self._has_slot = keep
        self._written_revision = document.revision if keep else None
        self._seen_revision = document.revision if document is not None else None
        if document is not None:
            document.listeners.append(self._heard)

    def set_source(self, source: str | os.PathLike | None, title: str) -> None:
        """The document's project file and title changed (Save As); the next
        autosave records them."""
        self._source = Path(source) if source is not None else None
        self._title = title

    def document_saved(self) -> None:
        """The document was just written to its project file: the slot is not
        needed until the next change."""
        self._unsaved = False
        self._drop_slot()
        self._written_revision = self._doc.revision if self._doc is not None else None

    def close(self) -> None:
        """Clean shutdown of this document: stop, wait for a write in flight and
        remove the slot, so nothing is offered for recovery next time. Call it
        before the Autosaver is deleted (a write thread must not outlive it)."""
        self._timer.stop()
        if self._doc is not None:
            self._doc.listeners.remove(self._heard)
            self._doc = None
        self._drop_slot()

    # --- state -------------------------------------------------------------------

    def is_busy(self) -> bool:
        """True while the document is being copied or written."""
        return self._copy is not None or self._task is not None

    @property
    def written_revision(self) -> int | None:
        """doc.revision of what the slot holds (None: nothing written yet)."""
        return self._written_revision if self._has_slot else None

    # --- work --------------------------------------------------------------------

    def autosave_now(self) -> bool:
        """Start an autosave if one is due (the timer calls this): the copy of
        the document, then its write. Returns True when it started. Never two
        at once: while one runs this does nothing and the next tick tries
        again, as it does when an edit abandons the copy."""
        doc = self._doc
        if doc is None or self.is_busy():
            return False
        if self._touched:
            # Pixels changed in place with no command yet (a brush stroke in
            # progress): wait one tick for the stroke's PixelEdit.
            self._touched = False
            return False
        if not (doc.modified or self._unsaved):
            if self._has_slot:
                self._drop_slot()  # saved, or undone back to the saved state
            self._written_revision = doc.revision
            return False
        if self._has_slot and doc.revision == self._written_revision:
            recovery.heartbeat(self._session_id)
            return False
        sources = [(doc.height, lambda y0, y1, pixels=layer.pixels: pixels[y0:y1]) for layer in doc.layers]
        sources.append((doc.height, lambda y0, y1: doc.mask[y0:y1]))
        self._copy = BandedCopy(doc, sources, self)
        self._copy.done.connect(self._copied)
        self._copy.abandoned.connect(self._copy_abandoned)
        self._copy.start()
        return True

    def _copied(self, pixels: list) -> None:
        # Any change of the document, or another document, would have abandoned the copy.
        doc, self._copy = self._doc, None
        try:
            twin = recovery.copy_for_autosave(doc, pixels)
        except Exception as exc:  # a document that cannot be copied is a bug, but autosave must not take the app down
            self.failed.emit(f"Autosave failed: {one_line(exc)}")
            return
        session_id, source, title, interval = self._session_id, self._source, self._title, self._interval
        # The twin belongs to the worker from here on: it composites, encodes and writes it.
        task = BackgroundTask(lambda task: recovery.write_autosave(twin, session_id, source, title, interval), self)
        # Bound methods, not lambdas: Qt drops these connections if the
        # Autosaver goes away first, so no queued signal reaches a dead object.
        task.succeeded.connect(self._task_succeeded)
        task.failed.connect(self._task_failed)
        task.finished.connect(self._task_finished)
        task.finished.connect(task.deleteLater)
        self._task = task
        self._pending = (doc, doc.revision, self._generation)
        task.start()

    def _copy_abandoned(self) -> None:
        self._copy = None

    def _task_succeeded(self, _result: object) -> None:
        doc, revision, generation = self._pending
        if doc is not self._doc or generation != self._generation:
            return  # the slot was emptied (or the document changed) while this was written
        self._has_slot = True
        self._written_revision = revision
        self.saved.emit(f"Autosaved at {time.strftime('%H:%M')}")

    def _task_failed(self, message: str) -> None:
        self.failed.emit(f"Autosave failed: {message}")

    def _task_finished(self) -> None:
        self._task = None

    def _heard(self, _dirty) -> None:
        # A notice without a new revision is Document.touch: pixels edited in place.
        if self._doc is None:
            return
        self._touched = self._doc.revision == self._seen_revision
        self._seen_revision = self._doc.revision

    def _drop_slot(self) -> None:
        if self._copy is not None:
            self._copy.cancel()
            self._copy = None
        # A write in flight would put the files back after we removed them.
        if self._task is not None:
            self._task.wait()
        try:
            recovery.discard(self._session_id)
        except OSError as exc:
            self.failed.emit(f"Autosave: cannot remove the old autosave: {one_line(exc)}")
        self._has_slot = False
        self._generation += 1


# --- start-up offer ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RecoveredDocument:
    """A document brought back from an autosave.

    document: loaded with an empty history, so doc.modified is False although
    it is on no disk: give it to an Autosaver with session_id=session_id and
    unsaved=True, and show it as unsaved. source: the project file it came
    from (None: never saved); title: its window title then.
    """

    document: Document
    source: Path | None
    title: str
    session_id: str


class RecoveryDialog(QDialog):
    """Lists orphans, recoverable ones checked; buttons Recover, Discard, Not Now."""

    RECOVER, DISCARD, LATER = 1, 2, 0

    def __init__(self, orphans: list[Orphan], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover Documents")
        self.orphans = list(orphans)
        good = sum(o.recoverable for o in self.orphans)
        self.message = QLabel(f"Latent Studio closed unexpectedly. Recover {good} unsaved "
                       f"document{'' if good == 1 else 's'}?" if good else
                       "Latent Studio closed unexpectedly, and its autosaved documents cannot be read.")
        self.message.setWordWrap(True)
        self.list = QListWidget()
        self.list.setIconSize(QSize(64, 64))
        for orphan in self.orphans:
            item = QListWidgetItem(describe(orphan))
            if orphan.thumbnail is not None:
                item.setIcon(QIcon(pixmap_from_array(orphan.thumbnail, 64)))
            if orphan.recoverable:
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsUserCheckable)
                item.setCheckState(Qt.Checked)
            else:
                item.setFlags(Qt.NoItemFlags)
            self.list.addItem(item)
        buttons = QDialogButtonBox()
        self.recover_button = buttons.addButton("Recover", QDialogButtonBox.AcceptRole)
        self.discard_button = buttons.addButton("Discard", QDialogButtonBox.DestructiveRole)
        self.later_button: QPushButton = buttons.addButton("Not Now", QDialogButtonBox.RejectRole)
        self.recover_button.setEnabled(good > 0)
        self.recover_button.setDefault(good > 0)
        self.recover_button.clicked.connect(lambda: self.done(self.RECOVER))
        self.discard_button.clicked.connect(lambda: self.done(self.DISCARD))
        self.later_button.clicked.connect(lambda: self.done(self.LATER))
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def chosen(self) -> list[Orphan]:
        """The checked (recoverable) orphans."""
        return [o for i, o in enumerate(self.orphans)
                if o.recoverable and self.list.item(i).checkState() == Qt.Checked]


def describe(orphan: Orphan) -> str:
    """One line for the list: title, when it was autosaved, where it came from or why it is lost."""
    when = time.strftime("%d %b %H:%M", time.localtime(orphan.saved_at)) if orphan.saved_at else "unknown time"
    if orphan.error is not None:
        return f"{orphan.title} (autosaved {when}) cannot be recovered: {orphan.error}"
    where = f", from {orphan.source}" if orphan.source is not None else ", never saved"
    return f"{orphan.title} (autosaved {when}{where})"


def offer_recovery(parent: QWidget | None = None) -> list[RecoveredDocument]:
    """At start-up: if crashed sessions left autosaves, ask the user which to
    recover (modal). Recover: the checked ones come back, each moved into a new
    slot of this session, the unchecked ones are deleted. Discard: all deleted.
    Not Now: all kept for the next start. Unreadable ones are set aside
    (autosave/damaged/) whatever the answer except Not Now. Failures are shown
    in a warning box; what was recovered is returned."""
    recovery.sweep_leftovers()
    orphans = recovery.find_orphans()
    if not orphans:
        return []
    dialog = RecoveryDialog(orphans, parent)
    answer = dialog.exec()
    chosen = dialog.chosen()
    dialog.deleteLater()
    if answer not in (RecoveryDialog.RECOVER, RecoveryDialog.DISCARD):
        return []
    recovered: list[RecoveredDocument] = []
    failures: list[str] = []
    for orphan in orphans:
        if not orphan.recoverable:
            recovery.set_aside(orphan)
        elif answer == RecoveryDialog.RECOVER and orphan in chosen:
            session_id = recovery.new_session_id()
            try:
                doc = recovery.recover(orphan, adopt_as=session_id)
            except RecoveryError as exc:
                failures.append(str(exc))
                continue
            recovered.append(RecoveredDocument(doc, orphan.source, orphan.title, session_id))
        else:
            recovery.discard(orphan.session_id)
    if failures:
        QMessageBox.warning(parent, "Recover Documents", "\n".join(failures))
    return recovered
