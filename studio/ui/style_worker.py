"""Style inference off the GUI thread: newest request wins, per channel.

The style panel asks for thumbnails, previews, style vectors and full-size
results on named channels ("thumbnails", "preview", "apply", ...). Each
channel holds at most ONE pending job: a new one replaces the one still
waiting, so dragging the strength slider never builds a queue. Every job gets
a serial; a result whose serial is no longer the newest of its channel is
stale and the receiver drops it (`is_current`).

The Stylizer (and with it the model registry scan and every onnxruntime
session) is made from a factory on first use, on a worker thread, never on
the GUI thread. One lock guards it, so a job of this thread and a long task
on another (an animation export, through `using()`) take turns instead of
racing to open sessions or to fill a target's proxy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QThread, Signal

from studio.engine.style import Stylizer
from studio.ui.messages import one_line

StylizerFactory = Callable[[], Stylizer]
Job = Callable[[Stylizer], object]


@dataclass
class StyleResult:
    channel: str
    serial: int
    value: object  # what the job returned
    seconds: float  # wall time of the job
    tag: object = None  # the caller's note of what was asked


class StyleWorker(QThread):
    """A thread that runs the newest job of each channel with one shared Stylizer."""

    done = Signal(object)  # StyleResult
    failed = Signal(str, int, str)  # channel, serial, one-line message

    def __init__(self, factory: StylizerFactory, parent=None):
        super().__init__(parent)
        self._factory = factory
        self._next_factory: StylizerFactory | None = None  # set from the GUI thread, taken up by using()
        self._stylizer: Stylizer | None = None
        self._lock = threading.Lock()  # the stylizer and everything jobs touch
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[int, Job, object]] = {}
        self._latest: dict[str, int] = {}
        self._serial = 0
        self._busy = False
        self._stopping = False

    def set_factory(self, factory: StylizerFactory) -> None:
        """Make the Stylizer with `factory` from the next job on (another
        device). Returns at once, even while a long job holds the Stylizer."""
        with self._cond:
            self._next_factory = factory

    @contextmanager
    def using(self) -> Iterator[Stylizer]:
        """The shared Stylizer, held for the `with` block (call from a worker
        thread only: the first use opens the registry)."""
        with self._lock:
            with self._cond:
                factory, self._next_factory = self._next_factory, None
            if factory is not None:
                self._factory, self._stylizer = factory, None
            if self._stylizer is None:
                self._stylizer = self._factory()
            yield self._stylizer

    def submit(self, channel: str, job: Job, tag: object = None) -> int:
        """Queue `job(stylizer)`; returns its serial. A job still pending on
        `channel` is dropped. Never blocks on inference."""
        with self._cond:
            self._serial += 1
            self._pending.pop(channel, None)
            self._pending[channel] = (self._serial, job, tag)  # at the end: served in order of newest request
            self._latest[channel] = self._serial
            self._cond.notify()
            return self._serial

    def cancel(self, channel: str) -> None:
        """Forget what is pending on `channel`; a job in flight comes back stale."""
        with self._cond:
            self._pending.pop(channel, None)
            self._serial += 1
            self._latest[channel] = self._serial

    def is_current(self, channel: str, serial: int) -> bool:
        with self._cond:
            return self._latest.get(channel) == serial

    def is_idle(self) -> bool:
        """True when nothing is pending or running."""
        with self._cond:
            return not self._pending and not self._busy

    def stop(self) -> None:
        """Finish the job in progress, drop the rest, end the thread (safe twice)."""
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify()
        self.wait()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                channel = next(iter(self._pending))
                serial, job, tag = self._pending.pop(channel)
                self._busy = True
            start = time.perf_counter()
            try:
                with self.using() as stylizer:
                    value = job(stylizer)
            except Exception as exc:  # every failure reaches the user as one line; the thread lives on
                self._idle()
                self.failed.emit(channel, serial, one_line(exc))
                continue
            self._idle()
            self.done.emit(StyleResult(channel, serial, value, time.perf_counter() - start, tag))

    def _idle(self) -> None:
        with self._cond:
            self._busy = False
