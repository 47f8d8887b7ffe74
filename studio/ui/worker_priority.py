"""Workers yield the CPU to the GUI thread.

On a machine with few cores the canvas's own thread competes with the
workers it started (a style network, the walk renderer, an autosave
encoder): each is as entitled to a core as the thread that must answer the
mouse. A worker therefore lowers its own scheduling priority when it starts.
On Linux the nice value is per thread and new threads inherit it, so the
onnxruntime thread pools a worker creates run at the same priority. Elsewhere
os.setpriority would change the whole process, so it is left alone there.
"""

from __future__ import annotations

import os
import sys
import threading

# Above a trainer started by the Train panel (nice 10), below the GUI (0).
WORKER_NICE = 5


def lower_this_thread() -> None:
    """Give the calling thread WORKER_NICE (Linux only; otherwise nothing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, max(os.getpriority(os.PRIO_PROCESS, thread), WORKER_NICE))
    except OSError:  # not allowed here (a container's seccomp): run as we are
        pass
