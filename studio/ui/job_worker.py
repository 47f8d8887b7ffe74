"""Jobs off the GUI thread, newest request winning per channel (see
studio/ui/channel_worker.py): a job is any callable, its return value comes
back to the GUI thread with the time it took.

The style worker runs its jobs with a shared Stylizer (`run_job` below);
the inpaint panel runs plain closures over captured pixels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Signal

from studio.ui.channel_worker import ChannelWorker


@dataclass
class JobResult:
    channel: str
    serial: int
    value: object  # what the job returned
    seconds: float  # wall time of the job
    tag: object = None  # the caller's note of what was asked


class JobWorker(ChannelWorker):
    """A thread that runs the newest job of each channel; results arrive on
    `done`, failures (one line) on `failed`."""

    done = Signal(object)  # JobResult

    def submit(self, channel: str, job: Callable, tag: object = None) -> int:
        """Queue `job`; returns its serial (see ChannelWorker.queue). Whatever
        is still waiting on `channel` is dropped."""
        return self.queue(channel, (job, tag))

    def run_job(self, job: Callable) -> object:
        """Run one job on this thread; subclasses hand it what it needs."""
        return job()

    def execute(self, channel: str, serial: int, payload: tuple[Callable, object]) -> JobResult:
        job, tag = payload
        start = time.perf_counter()
        value = self.run_job(job)
        return JobResult(channel, serial, value, time.perf_counter() - start, tag)

    def deliver(self, result: JobResult) -> None:
        self.done.emit(result)
