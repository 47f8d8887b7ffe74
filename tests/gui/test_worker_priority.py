"""Workers give way to the GUI thread: on Linux they run at a lower priority
(a higher nice value) than the thread that started them."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from PySide6.QtCore import Signal

from studio.ui.background_task import BackgroundTask
from studio.ui.channel_worker import ChannelWorker
from studio.ui.worker_priority import WORKER_NICE

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


class _NiceReporter(ChannelWorker):
    done = Signal(int)

    def execute(self, channel, serial, payload):
        return _nice()

    def deliver(self, result):
        self.done.emit(result)


def test_a_background_task_runs_below_the_gui_thread_which_stays_as_it_was(qtbot):
    gui = _nice()
    task = BackgroundTask(lambda task: _nice())
    with qtbot.waitSignal(task.succeeded, timeout=5000) as got:
        task.start()
    task.wait()
    assert got.args[0] == max(gui, WORKER_NICE)
    assert _nice() == gui


def test_a_channel_worker_runs_below_the_gui_thread(qtbot):
    gui = _nice()
    worker = _NiceReporter()
    worker.start()
    try:
        with qtbot.waitSignal(worker.done, timeout=5000) as got:
            worker.queue("frame", None)
    finally:
        worker.stop()
    assert got.args[0] == max(gui, WORKER_NICE) and _nice() == gui
