"""Style inference off the GUI thread: newest request wins, per channel
("thumbnails", "preview", "apply", ...; see studio/ui/channel_worker.py), so
dragging the strength slider never builds a queue.

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

from PySide6.QtCore import Signal

from studio.engine.style import Stylizer
from studio.ui.channel_worker import ChannelWorker

StylizerFactory = Callable[[], Stylizer]
Job = Callable[[Stylizer], object]


@dataclass
class StyleResult:
    channel: str
    serial: int
    value: object  # what the job returned
    seconds: float  # wall time of the job
    tag: object = None  # the caller's note of what was asked


class StyleWorker(ChannelWorker):
    """A thread that runs the newest job of each channel with one shared Stylizer."""

    done = Signal(object)  # StyleResult

    def __init__(self, factory: StylizerFactory, parent=None):
        super().__init__(parent)
        self._factory = factory
        self._next_factory: StylizerFactory | None = None  # set from the GUI thread, taken up by using()
        self._stylizer: Stylizer | None = None
        self._lock = threading.Lock()  # the stylizer and everything jobs touch

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
        """Queue `job(stylizer)`; returns its serial (see ChannelWorker.queue)."""
        return self.queue(channel, (job, tag))

    def execute(self, channel: str, serial: int, payload: tuple[Job, object]) -> StyleResult:
        job, tag = payload
        start = time.perf_counter()
        with self.using() as stylizer:
            value = job(stylizer)
        return StyleResult(channel, serial, value, time.perf_counter() - start, tag)

    def deliver(self, result: StyleResult) -> None:
        self.done.emit(result)
