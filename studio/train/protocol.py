"""The trainer's protocol in code: what the trainer (cli.py, session.py,
progress.py, control.py) and the app (ui/trainer_process.py, the Train panel) say to each
other. studio/train/PROTOCOL.md describes it in words; this module is what
both sides import, and it imports nothing heavy (no torch), since the GUI
process reads it.

Events are JSON objects, one per line on the trainer's stdout, each
{"event": NAME, ...fields}; `event()` makes them. The app steers a run with
files in its run folder (STOP_FILE, PAUSE_FILE) or SIGINT/SIGTERM.
"""

from __future__ import annotations

SCAN = "scan"  # dataset reading progress, before training
DATASET = "dataset"  # what the folder gave: images, skipped files with reasons
START = "start"  # the run's networks, device and size
PROGRESS = "progress"  # losses, speed and ETA every --log-every steps
SAMPLES = "samples"  # a sample grid was written
CHECKPOINT = "checkpoint"  # a checkpoint was written
METRICS = "metrics"  # quality measured (each task's metric key, tasks/) at --metrics-every steps
WARNING = "warning"  # something the user should know, with a WARNING_KINDS kind
PAUSED = "paused"
RESUMED = "resumed"
DONE = "done"  # the last event of a run, with its STOP_REASONS reason
EVENTS = (SCAN, DATASET, START, PROGRESS, SAMPLES, CHECKPOINT, METRICS, WARNING, PAUSED, RESUMED, DONE)
TEXT = "text"  # made by the app for a stdout line that is not an event; the trainer never sends it

# Why a run ended, weakest first: ranks under torchrun stop for the strongest
# reason any of them has.
STOP_REASONS = ("steps", "minutes", "stop-file", "SIGINT", "SIGTERM", "nan")
WARNING_KINDS = ("skipped-file", "nan", "collapse")

# Control files in the run folder: STOP ends the run after its current step
# (checkpoint first); PAUSE idles it while the file exists.
STOP_FILE = "STOP"
PAUSE_FILE = "PAUSE"


def event(name: str, **fields) -> dict:
    """A protocol event: {"event": name, **fields}. ValueError for a name
    that is not one of EVENTS or TEXT (a typo must not become a silent new
    event the app ignores)."""
    if name not in EVENTS and name != TEXT:
        raise ValueError(f"unknown protocol event {name!r}")
    return {"event": name, **fields}
