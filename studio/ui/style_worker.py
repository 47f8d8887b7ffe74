"""Style inference off the GUI thread: newest request wins, per channel
("thumbnails", "preview", "apply", ...; see studio/ui/job_worker.py), so
dragging the strength slider never builds a queue.

The Stylizer (and with it the model registry scan and every onnxruntime
session) is made from a factory on first use, on a worker thread, never on
the GUI thread. One lock guards it, so a job of this thread and a long task
on another (an animation export, through `using()`) take turns instead of
racing to open sessions or to fill a target's proxy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

from studio.engine.style import Stylizer
from studio.ui.job_worker import JobResult, JobWorker

StylizerFactory = Callable[[], Stylizer]
Job = Callable[[Stylizer], object]
StyleResult = JobResult


class StyleWorker(JobWorker):
    """A thread that runs the newest job of each channel with one shared Stylizer."""

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
        return super().submit(channel, job, tag)

    def run_job(self, job: Job) -> object:
        with self.using() as stylizer:
            return job(stylizer)
