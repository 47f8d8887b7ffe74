"""One-off work (disk, exports, model scans) on a thread of its own.

The work function gets the task, so it can report progress and look at
`cancelled`; its return value or its exception comes back to the GUI thread as
a signal. The GUI never waits on it.
"""

from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QThread, Signal

from studio.ui.messages import one_line
from studio.ui.worker_priority import lower_this_thread


class TaskCancelled(Exception):
    """Raised by work that noticed `cancelled`; reported as `cancelled`, not `failed`."""


class BackgroundTask(QThread):
    progressed = Signal(int, int)  # done, total
    succeeded = Signal(object)  # the work's return value
    failed = Signal(str)  # one-line message
    cancelled_done = Signal()  # the work stopped because it was cancelled

    def __init__(self, work: Callable[["BackgroundTask"], object], parent=None):
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def report(self, done: int, total: int) -> None:
        """Progress from the work function (any thread); delivered queued to the GUI."""
        self.progressed.emit(int(done), int(total))

    def run(self) -> None:
        lower_this_thread()
        try:
            result = self._work(self)
        except TaskCancelled:
            self.cancelled_done.emit()
            return
        except Exception as exc:  # every failure reaches the user as one line
            if self.is_cancelled():
                self.cancelled_done.emit()
            else:
                self.failed.emit(one_line(exc))
            return
        # Work that ran to the end has done its job (a file written is written),
        # even if cancel was pressed in the last instant.
        self.succeeded.emit(result)


class TaskSet:
    """The background tasks one owner has started: each is kept referenced
    until it finishes (a QThread destroyed while running aborts the app),
    then deleted."""

    def __init__(self) -> None:
        self._tasks: set[BackgroundTask] = set()

    def start(self, task: BackgroundTask) -> None:
        self._tasks.add(task)
        task.finished.connect(lambda: (self._tasks.discard(task), task.deleteLater()))
        task.start()

    def __bool__(self) -> bool:
        """True while any of them runs."""
        return bool(self._tasks)

    def finish_all(self, cancel: bool) -> None:
        """Wait for every task to end (closing), cancelling each first if asked."""
        for task in list(self._tasks):
            if cancel:
                task.cancel()
            task.wait()
