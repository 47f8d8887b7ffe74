"""How a running trainer is told to stop or pause: SIGINT/SIGTERM, and the
control files RUNDIR/STOP and RUNDIR/PAUSE (the app's buttons create them).

The loop asks between steps, so neither a signal nor a file ever tears an
optimiser step or a checkpoint.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from studio.train.protocol import PAUSE_FILE, STOP_FILE


class Control:
    """Polled by the training loop. stop_reason() is "SIGINT", "SIGTERM",
    "stop-file" or None; paused() is True while RUNDIR/PAUSE exists."""

    def __init__(self, rundir: str | os.PathLike):
        self.rundir = Path(rundir)
        self.signal: int | None = None
        self._previous: dict[int, object] = {}
        # A STOP file older than this process was left by an earlier session;
        # one made after we started (even before we looked) is meant for us.
        self._started = time.time()

    # -- signals ---------------------------------------------------------------
    def __call__(self, signum, frame) -> None:
        self.signal = signum

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self)
            except ValueError:  # not the main thread: the caller owns signals there
                pass

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    # -- files -----------------------------------------------------------------
    def set_rundir(self, rundir: str | os.PathLike) -> None:
        self.rundir = Path(rundir)

    def clear_stale_stop(self) -> None:
        """Remove a STOP file an earlier session left behind (it has been
        honoured already or its trainer died)."""
        stop = self.rundir / STOP_FILE
        try:
            if stop.stat().st_mtime < self._started - 1.0:
                stop.unlink()
        except OSError:
            pass

    def stop_reason(self) -> str | None:
        if self.signal is not None:
            return signal.Signals(self.signal).name
        if (self.rundir / STOP_FILE).exists():
            return "stop-file"
        return None

    def paused(self) -> bool:
        return (self.rundir / PAUSE_FILE).exists()

    def acknowledge_stop(self) -> None:
        """Delete STOP once the run has stopped for it, so resuming the run
        later does not stop again at once."""
        try:
            (self.rundir / STOP_FILE).unlink()
        except OSError:
            pass
