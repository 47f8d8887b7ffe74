"""The Style panel's targets, copied for its worker without stalling the GUI.

A target is the part of the document the current mode restyles
(style_target.locate). The last one is reused while the document, the mode,
the feather and the active layer stay as they were; otherwise its pixels are
copied a band of rows at a time between events (ui/banded_copy.py) and what
waits for them, one request per channel with the newest winning, runs once
the copy is done. An edit meanwhile abandons the copy; `resume` starts it
again once edits pause.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from studio.core.document import Document
from studio.engine.style import StyleError
from studio.ui.banded_copy import BandedCopy
from studio.ui.style_target import StyleTarget, capture, locate

# (the open document or None, the mode, the feather in px)
Where = Callable[[], tuple[Document | None, str, int]]


class TargetCopies(QObject):
    failed = Signal(str, str)  # channel, why there is nothing to restyle

    def __init__(self, where: Where, parent=None):
        super().__init__(parent)
        self._where = where
        self._target: StyleTarget | None = None  # the last target, with its pixels
        self._copy: BandedCopy | None = None  # copying the pixels of the next target...
        self._copying: StyleTarget | None = None  # ...this one
        self._waiting: dict[str, Callable[[StyleTarget], None]] = {}  # channel -> what waits for that target

    def is_current(self, target: StyleTarget | None) -> bool:
        """True when `target` is the target of the current mode in the document as it is."""
        doc, mode, feather = self._where()
        return (target is not None and target.document is doc and target.revision == doc.revision
                and target.mode == mode and target.feather == feather
                and (target.layer_id == doc.active_id or target.mode == "image"))

    def now(self) -> StyleTarget:
        """The target, copied at once when the last one no longer holds (an
        animation export, whose worker needs it before it starts). StyleError
        when there is nothing to restyle."""
        doc, mode, feather = self._where()
        if doc is None:
            raise StyleError("open an image first")
        if not self.is_current(self._target):
            self._target = capture(doc, mode, feather)
        return self._target

    def when_ready(self, channel: str, then: Callable[[StyleTarget], None]) -> None:
        """then(target): now when the last target still holds, else once its
        pixels are copied (a newer request of `channel` replaces this one).
        When there is nothing to restyle, `failed` says why instead."""
        if self.is_current(self._target):
            then(self._target)
            return
        self._waiting[channel] = then
        self._start()

    def is_waiting(self) -> bool:
        """True while a request waits for a copy."""
        return bool(self._waiting)

    def resume(self) -> None:
        """Copy again for the requests an edit left waiting."""
        if self._waiting and self._copy is None:
            self._start()

    def drop(self, channel: str) -> None:
        """Forget `channel`'s waiting request (the copy goes on for the others)."""
        self._waiting.pop(channel, None)

    def stop(self) -> None:
        """Abandon the copy and every waiting request."""
        self._cancel_copy()
        self._waiting.clear()

    def forget(self) -> None:
        """Copy afresh next time, even if the document did not change."""
        self._target = None

    def _start(self) -> None:
        if self._copy is not None and self.is_current(self._copying):
            return  # that copy is under way
        self._cancel_copy()
        try:
            doc, mode, feather = self._where()
            if doc is None:
                raise StyleError("open an image first")
            target, rows = locate(doc, mode, feather)
        except StyleError as exc:
            waiting, self._waiting = self._waiting, {}
            for channel in waiting:
                self.failed.emit(channel, str(exc))
            return
        self._copying = target
        self._copy = BandedCopy(doc, [(target.rect[3] - target.rect[1], rows)], self)
        self._copy.done.connect(self._copied)
        self._copy.abandoned.connect(self._abandoned)
        self._copy.start()

    def _copied(self, pixels: list) -> None:
        target, self._copying, self._copy = self._copying, None, None
        target.pixels = pixels[0]
        self._target = target
        waiting, self._waiting = self._waiting, {}
        for then in waiting.values():
            then(target)

    def _abandoned(self) -> None:
        # The document changed; the panel calls resume() once edits pause.
        self._copy = self._copying = None

    def _cancel_copy(self) -> None:
        if self._copy is not None:
            self._copy.cancel()
        self._copy = self._copying = None
