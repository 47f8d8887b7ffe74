"""Copies of the document's pixels for a worker thread, made a band of rows
at a time between GUI events.

Commands write layer pixels in place, so work on another thread needs its
own copy of what it reads (autosave, the style panel's target). At 4096 px
one layer is 64 MB: copied in one go on the GUI thread that took 70 to 160
ms, memory being fresh (benchmarks/responsiveness.py), long enough for the
window to stall. A BandedCopy copies for BAND_BUDGET_S per turn of the event
loop, so a small document is still copied at once. A change of the document
before the copy is complete abandons it: a copy mixing two states of the
picture is worse than none. Everything here runs on the GUI thread.

A band's rows follow what the last band cost: a RowReader may do more than
copy (the style target composites the layers), and at 4096 px a band of
BAND_BYTES composited once took 61 ms on the GUI thread's CPU, the band
copy alone being over the budget. So each band is sized to take about
BAND_TARGET_S at the rate the last one went, growing at most twofold a band
(one fast band on a quiet CPU is no promise), never past BAND_BYTES.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.document import Document

BAND_BYTES = 4 << 20  # a band's most rows: about this many bytes (1-4 ms of memcpy)
BAND_TARGET_S = 0.002  # what one band should take
BAND_BUDGET_S = 0.008  # copying per turn of the event loop (one more band may overrun it)

RowReader = Callable[[int, int], np.ndarray]  # (y0, y1) -> rows y0..y1 of a source as the document holds them now


class BandedCopy(QObject):
    """Copies of `sources`, each (rows, read): the source's height and its
    RowReader (e.g. `lambda y0, y1: layer.pixels[y0:y1]`). start() copies
    the first bands at once; `done` brings the copies (in the order of the
    sources), or `abandoned` says the document changed first."""

    done = Signal(object)  # list[np.ndarray]
    abandoned = Signal()

    def __init__(self, doc: Document, sources: list[tuple[int, RowReader]], parent: QObject | None = None):
        super().__init__(parent)
        self._doc = doc
        self._sources = sources
        self._copies: list[np.ndarray | None] = [None] * len(sources)
        self._source = 0  # the source being copied
        self._row = 0  # its next row
        self._band = 1  # rows in its next band
        self._band_max = 1  # and at most (BAND_BYTES)
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._copy_bands)

    def start(self) -> None:
        self._doc.listeners.append(self._changed)
        self._copy_bands()
        if self.is_running():
            self._timer.start()

    def cancel(self) -> None:
        """Stop without a signal (safe to call when finished)."""
        self._finish()

    def is_running(self) -> bool:
        return self._source < len(self._sources)

    def _copy_bands(self) -> None:
        end = time.perf_counter() + BAND_BUDGET_S
        while self.is_running():  # at least one band per turn
            rows, read = self._sources[self._source]
            if self._copies[self._source] is None:
                began = time.perf_counter()
                first = read(0, 1)
                self._copies[self._source] = np.empty((rows, *first.shape[1:]), first.dtype)
                self._band_max = max(1, BAND_BYTES // max(1, first.nbytes))
                self._band = self._next_band(1, time.perf_counter() - began)
            y0, y1 = self._row, min(self._row + self._band, rows)
            began = time.perf_counter()
            self._copies[self._source][y0:y1] = read(y0, y1)
            self._band = self._next_band(y1 - y0, time.perf_counter() - began)
            self._row = y1
            if y1 == rows:
                self._source, self._row = self._source + 1, 0
            if time.perf_counter() >= end:
                break
        if not self.is_running():
            copies = self._copies
            self._finish()
            self.done.emit(copies)

    def _next_band(self, rows: int, seconds: float) -> int:
        """Rows for the next band, from a band of `rows` that took `seconds`."""
        at_rate = round(rows * BAND_TARGET_S / max(seconds, 1e-9))
        return max(1, min(at_rate, 2 * rows, self._band_max))

    def _changed(self, _rect) -> None:
        self._finish()
        self.abandoned.emit()

    def _finish(self) -> None:
        self._timer.stop()
        self._source = len(self._sources)
        if self._changed in self._doc.listeners:
            self._doc.listeners.remove(self._changed)
