"""A training run as the Train panel sees it, without Qt: the state it is in,
the requests each state allows, and what each trainer event
(studio/train/PROTOCOL.md) changes on screen.

The panel owns the widgets and the processes. It asks this object whether a
request is allowed, tells it what happened (a request, an event, a process
that ended) and draws the ViewUpdate it gets back. Nothing here touches a file
or waits, so every decision is tested without a display.

States: idle -> starting (trainer launched) -> running (its "start" event)
<-> paused (PAUSE written) -> stopping (STOP written) -> exporting (the trainer
ended with a checkpoint) -> idle. A trainer may end in any busy state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from studio.train import protocol
from studio.train.tasks import DEFAULT_TASK, TASKS

IDLE, STARTING, RUNNING, PAUSED, STOPPING, EXPORTING = "idle", "starting", "running", "paused", "stopping", "exporting"
TRAINING = (STARTING, RUNNING, PAUSED)  # a trainer runs and takes requests

# Per request: the states that allow it and where it leads. A request from
# any other state is refused and changes nothing.
TRANSITIONS: dict[str, dict[str, str]] = {
    "begin": {IDLE: STARTING},
    # A run paused while the trainer read its folder stays paused when it starts.
    "started": {STARTING: RUNNING},
    # Pausing before the "start" event is allowed: the trainer sees PAUSE at its first step.
    "pause": {STARTING: PAUSED, RUNNING: PAUSED},
    "resume": {PAUSED: RUNNING},
    "stop": {state: STOPPING for state in TRAINING},
    "export": {state: EXPORTING for state in (*TRAINING, STOPPING)},
    "export_past": {IDLE: EXPORTING},  # a past run's checkpoint, as it is
    "end": {state: IDLE for state in (*TRAINING, STOPPING, EXPORTING)},
}

LOSS_CURVES = ("loss_g", "loss_d")  # the progress event's fields the loss plot draws
DONE_REASONS = {"steps": "reached its step count", "minutes": "used its time", "stop-file": "was stopped",
                "SIGTERM": "was stopped", "SIGINT": "was interrupted"}


@dataclass(frozen=True)
class Progress:
    """The progress bar: done in [0, 1], or None while no end is known (a busy bar), and its caption."""

    fraction: float | None
    text: str


@dataclass
class ViewUpdate:
    """What one request or event changes on the panel; a field left at None
    (or empty) leaves what it shows as it is."""

    state: str | None = None  # the run's new state, when it moved
    reset: bool = False  # a new run: plots, samples and the speed line start empty
    status: str | None = None  # the status line (the log gets it too)
    log: list[str] = field(default_factory=list)  # more log lines, in order
    progress: Progress | None = None
    stats: str | None = None  # the speed line under the bar
    loss_points: list[tuple[str, int, float]] = field(default_factory=list)  # (LOSS_CURVES key, step, value)
    metric_point: tuple[int, float] | None = None  # (step, the task's quality measure)
    data_summary: str | None = None  # the trainer's one-line dataset report
    skipped: list[dict] = field(default_factory=list)  # with data_summary: the files it skipped, {"path", "reason"}
    samples: Path | None = None  # a new sample grid to load and show
    samples_caption: str = ""
    message: str | None = None  # a line for the window's status bar


class TrainRun:
    """One panel's training runs, one at a time: the state machine and what
    the current run has reported. The series hold finite values only."""

    def __init__(self) -> None:
        self.state = IDLE
        self.rundir: Path | None = None
        self.model_name = ""
        self.task = DEFAULT_TASK
        self.steps_goal: int | None = None  # the run's total steps, when it has one: the bar counts steps, not time
        self.progress = Progress(0.0, "Not started")
        self._clear_reports()
        self._readers = {protocol.TEXT: self._text, protocol.SCAN: self._scan, protocol.DATASET: self._dataset,
                         protocol.START: self._start, protocol.PROGRESS: self._progress,
                         protocol.SAMPLES: self._samples, protocol.CHECKPOINT: self._checkpoint,
                         protocol.METRICS: self._metrics, protocol.WARNING: self._warning,
                         protocol.PAUSED: self._paused, protocol.RESUMED: self._resumed, protocol.DONE: self._done}

    # -- requests ------------------------------------------------------------------------------

    def can(self, request: str) -> bool:
        """Whether `request` (a TRANSITIONS key) is allowed in the current state."""
        return self.state in TRANSITIONS[request]

    def is_busy(self) -> bool:
        """True while a trainer or an export runs."""
        return self.state != IDLE

    def begin(self, rundir: Path, model_name: str, task: str, arguments: list[str],
              steps: int | None = None) -> ViewUpdate | None:
        """A trainer was launched into `rundir` with `arguments`, to export
        `model_name`; task: a TASKS key; steps: its total step count, if any.
        None (refused) while another run is busy."""
        if not self._move("begin"):
            return None
        self.rundir, self.model_name, self.task, self.steps_goal = rundir, model_name, task, steps
        self.progress = Progress(0.0, "Starting…")
        self._clear_reports()
        return ViewUpdate(state=self.state, reset=True, status=f"Starting the trainer (run folder {rundir})…",
                          log=["studio.train " + " ".join(arguments)], progress=self.progress)

    def export_past(self, rundir: Path, model_name: str, task: str) -> ViewUpdate | None:
        """An exporter was launched on the past run `rundir`; None (refused) while another run is busy."""
        if not self._move("export_past"):
            return None
        self.rundir, self.model_name, self.task, self.steps_goal = rundir, model_name, task, None
        self._clear_reports()
        self.progress = Progress(None, "Exporting…")
        return ViewUpdate(state=self.state, reset=True, progress=self.progress,
                          status=f"Exporting {model_name} from {rundir} (ONNX, checked against torch)…")

    def set_paused(self, paused: bool) -> ViewUpdate | None:
        """PAUSE was written (paused) or removed; None (refused) when the state does not allow it."""
        if not self._move("pause" if paused else "resume"):
            return None
        return ViewUpdate(state=self.state, status="Pausing…" if paused else "Resuming…")

    def stop(self) -> ViewUpdate | None:
        """STOP was written; None (refused) when no trainer takes requests."""
        if not self._move("stop"):
            return None
        return ViewUpdate(state=self.state, status="Stopping: the trainer is writing its checkpoint…")

    def note_stop_sent(self) -> bool:
        """True the first time in a run: the caller writes STOP once (a second
        request could land while the trainer writes its checkpoint)."""
        first, self.stop_sent = not self.stop_sent, True
        return first

    def still_stopping(self) -> ViewUpdate | None:
        """Some time after STOP: why nothing has happened yet, if still stopping."""
        if self.state != STOPPING:
            return None
        return ViewUpdate(status="Still stopping: the trainer sees STOP after its current step or dataset scan…")

    def trainer_ended(self, ok: bool, has_checkpoint: bool) -> ViewUpdate:
        """The trainer process ended; ok: exit code 0, not killed. With a
        checkpoint the run goes on to exporting, else back to idle."""
        if ok and has_checkpoint and self._move("export"):
            self.progress = Progress(None, "Exporting…")
            return ViewUpdate(state=self.state, status=f"Exporting {self.model_name} (ONNX, checked against torch)…",
                              progress=self.progress)
        self._move("end")
        if ok:
            status = "The trainer ended before its first checkpoint; there is nothing to export"
        else:
            status = "The trainer ended while stopping" if self.stop_sent else "Training failed"
        return ViewUpdate(state=self.state, status=status)

    def export_ended(self, ok: bool) -> ViewUpdate:
        """The export process ended; ok: exit code 0, not killed."""
        self._move("end")
        if ok:
            self.progress = Progress(1.0, "Done")
            return ViewUpdate(state=self.state, progress=self.progress,
                              status=f"Exported {self.model_name}: it is now in the Latent panel's model list",
                              message=f"Trained model {self.model_name} is ready")
        self.progress = Progress(0.0, "Export failed")
        return ViewUpdate(state=self.state, progress=self.progress,
                          status=f"Export failed; the run folder {self.rundir} keeps the checkpoint")

    def forget_dataset(self) -> None:
        """Another data folder was chosen: the last dataset report is not about it."""
        self.dataset = None

    def _clear_reports(self) -> None:
        self.stop_sent = False
        self.loss: dict[str, list[tuple[int, float]]] = {curve: [] for curve in LOSS_CURVES}
        self.metric: list[tuple[int, float]] = []  # (step, TASKS[task].metric)
        self.samples: Path | None = None  # the newest grid the trainer wrote
        self.dataset: dict | None = None  # the trainer's events, as sent
        self.done: dict | None = None
        self.last_progress: dict | None = None

    def _move(self, request: str) -> bool:
        target = TRANSITIONS[request].get(self.state)
        if target is None:
            return False
        self.state = target
        return True

    # -- trainer events --------------------------------------------------------------------------

    def feed(self, item: dict) -> ViewUpdate:
        """What one event (a dict with "event") changes on screen. A field
        missing, null or of the wrong type is shown as unknown, never raises."""
        read = self._readers.get(item.get("event"))
        if read is None:  # a newer trainer may say more than this panel knows
            return ViewUpdate(log=[f"trainer event {item.get('event')}: {item}"])
        return read(item)

    def _text(self, item: dict) -> ViewUpdate:
        source = "export" if self.state == EXPORTING else "trainer (not a protocol line)"
        return ViewUpdate(log=[f"{source}: {item.get('line', '')}"])

    def _scan(self, item: dict) -> ViewUpdate:
        """Dataset reading progress (stage "reading", then "preparing"), before training starts."""
        done, total = _number(item.get("done")), _number(item.get("total"))
        if done is None or not total:
            return ViewUpdate()
        stage = str(item.get("stage", "reading")).capitalize()
        self.progress = Progress(_clamp(done / total), f"{stage} images: {int(done):,} of {int(total):,}")
        return ViewUpdate(progress=self.progress)

    def _dataset(self, item: dict) -> ViewUpdate:
        self.dataset = item
        skipped = item.get("skipped")
        skipped = [s for s in skipped if isinstance(s, dict)] if isinstance(skipped, list) else []
        summary = str(item.get("summary") or f"{item.get('images', '?')} images")
        if item.get("cached"):
            summary += " (from the run's cache)"
        return ViewUpdate(data_summary=summary, skipped=skipped, log=[f"dataset: {summary}"])

    def _start(self, item: dict) -> ViewUpdate:
        parts = [f"on {str(item.get('device', 'cpu')).upper()}"]
        if item.get("base"):
            parts.append(f"from {item['base']}")
        if item.get("resumed"):
            parts.append(f"resumed at step {item.get('step', 0)}")
        params = _number(item.get("params_G"))
        if params:
            parts.append(f"G {params / 1e6:.2f} M parameters")
        moved = self._move("started")
        self.progress = Progress(0.0, f"Step {_count(item.get('step')):,}")
        return ViewUpdate(state=self.state if moved else None, status="Training " + ", ".join(parts),
                          progress=self.progress)

    def _progress(self, item: dict) -> ViewUpdate:
        self.last_progress = item
        step = _count(item.get("step"))
        points = []
        for curve in LOSS_CURVES:
            value = _number(item.get(curve))
            if value is not None:
                self.loss[curve].append((step, value))
                points.append((curve, step, value))
        elapsed, eta = _number(item.get("elapsed_s")), _number(item.get("eta_s"))
        if self.steps_goal:
            fraction = _clamp(step / self.steps_goal)
        elif eta is not None and elapsed is not None and elapsed + eta > 0:
            fraction = _clamp(elapsed / (elapsed + eta))
        else:
            fraction = None
        left = f" · {_clock(eta)} left" if eta is not None else ""
        self.progress = Progress(fraction, f"Step {step:,}{left}")
        rate = _number(item.get("images_per_s"))
        stats = [f"{rate:.1f} img/s" if rate is not None else None,
                 f"{_count(item.get('images_seen')):,} images seen",
                 f"{_clock(elapsed)} elapsed" if elapsed is not None else None]
        return ViewUpdate(progress=self.progress, stats=" · ".join(s for s in stats if s), loss_points=points)

    def _samples(self, item: dict) -> ViewUpdate:
        path = item.get("path")
        if not isinstance(path, str) or not path:
            return ViewUpdate(log=[f"trainer event samples without a path: {item}"])
        grid = Path(path)
        if self.rundir is not None and not grid.is_absolute():
            grid = self.rundir / grid
        self.samples = grid
        return ViewUpdate(samples=grid,
                          samples_caption=f"Step {_count(item.get('step')):,} · fixed seeds, so steps compare")

    def _checkpoint(self, item: dict) -> ViewUpdate:
        return ViewUpdate(log=[f"checkpoint at step {item.get('step')}"])

    def _metrics(self, item: dict) -> ViewUpdate:
        value = _number(item.get(TASKS[self.task].metric))
        point = None
        if value is not None:
            point = (_count(item.get("step")), value)
            self.metric.append(point)
        detail = {k: v for k, v in item.items() if k not in ("event", "step", "plot")}
        return ViewUpdate(metric_point=point, log=[f"metrics at step {item.get('step')}: {detail}"])

    def _warning(self, item: dict) -> ViewUpdate:
        text = f"Warning ({item.get('kind', '?')}): {item.get('message', '')}"
        return ViewUpdate(status=text, message=text)

    def _paused(self, item: dict) -> ViewUpdate:
        step = _count(item.get("step"))
        self.progress = Progress(self.progress.fraction, f"Paused at step {step:,}")
        return ViewUpdate(status=f"Paused at step {step:,}; press Resume to go on", progress=self.progress)

    def _resumed(self, item: dict) -> ViewUpdate:
        return ViewUpdate(status=f"Training again from step {_count(item.get('step')):,}")

    def _done(self, item: dict) -> ViewUpdate:
        self.done = item
        reason = DONE_REASONS.get(str(item.get("reason")), f"ended ({item.get('reason')})")
        return ViewUpdate(status=f"The trainer {reason} at step {_count(item.get('step')):,}; checkpoint written")


def _number(value) -> float | None:
    """A JSON field as a finite float; None when absent, not a number or not
    finite (the protocol sends null for those, and int() or the clock would
    raise on them)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # a JSON integer past float's range
        return None
    return number if math.isfinite(number) else None


def _count(value) -> int:
    """A step or image count; 0 when the field is not a number."""
    number = _number(value)
    return int(number) if number is not None else 0


def _clamp(fraction: float) -> float:
    return min(max(fraction, 0.0), 1.0)


def _clock(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
