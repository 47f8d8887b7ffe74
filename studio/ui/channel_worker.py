"""A worker thread where the newest request wins, per named channel.

The GUI submits work on channels ("frame", "thumbnails", "preview", ...).
Each channel holds at most ONE pending request: a new one replaces the one
still waiting, so dragging a slider never builds a queue, and the newest
position is worked on as soon as the thread is free. Every request gets a
serial number; results whose serial is no longer the newest of their channel
are stale and the receiver drops them (`is_current`). The generator's render
worker and the style worker are both this thread with their own `execute`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import QThread, Signal

from studio.ui.messages import one_line
from studio.ui.worker_priority import lower_this_thread


@dataclass
class ChannelStats:
    submitted: int = 0
    rendered: int = 0
    dropped: int = 0  # replaced while pending, never rendered


class ChannelWorker(QThread):
    """Subclasses implement execute(channel, serial, payload) -> result (on
    this thread) and deliver(result) (emit their own signal)."""

    failed = Signal(str, int, str)  # channel, serial, one-line message

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[int, object]] = {}
        self._latest: dict[str, int] = {}
        self._serial = 0
        self._stopping = False
        self._busy = False
        self.stats: dict[str, ChannelStats] = {}

    def queue(self, channel: str, payload: object) -> int:
        """Ask for `payload` to be executed; returns its serial. Whatever is still
        pending on this channel is dropped. Never blocks on the work itself."""
        with self._cond:
            self._serial += 1
            stats = self.stats.setdefault(channel, ChannelStats())
            stats.submitted += 1
            if self._pending.pop(channel, None) is not None:
                stats.dropped += 1
            # Re-inserted at the end: channels are served in order of their newest request.
            self._pending[channel] = (self._serial, payload)
            self._latest[channel] = self._serial
            self._cond.notify()
            return self._serial

    def cancel(self, channel: str) -> None:
        """Forget what is pending on `channel` and mark results in flight as stale."""
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
        """Finish the work in progress (if any), drop the rest, end the thread.
        Safe to call more than once."""
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify()
        self.wait()

    def run(self) -> None:
        lower_this_thread()
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                channel = next(iter(self._pending))
                serial, payload = self._pending.pop(channel)
                self._busy = True
            try:
                result = self.execute(channel, serial, payload)
            except Exception as exc:  # every failure reaches the user as one line; the thread lives on
                self._set_idle()
                self.failed.emit(channel, serial, one_line(exc))
                continue
            with self._cond:
                self.stats[channel].rendered += 1
            self._set_idle()
            self.deliver(result)

    def _set_idle(self) -> None:
        with self._cond:
            self._busy = False

    def execute(self, channel: str, serial: int, payload: object) -> object:
        raise NotImplementedError

    def deliver(self, result: object) -> None:
        raise NotImplementedError
