"""How responsive the app stays under load: the real main window, offscreen,
with a probe timer that should tick every 10 ms, while a walk plays, a style
Apply runs on a big document, a training run goes on in its own process and
autosave writes, one after another and then all at once (about 90 s on 2
cores; results in benchmarks/results/responsiveness.md).

    QT_QPA_PLATFORM=offscreen python benchmarks/responsiveness.py [--size 4096] [--seconds 8]
        [--train-seconds 25] [--autosave-every 1] [--rounds 1] [--no-freeze]

Every phase runs with the same generated SIZE px picture open (opening it is
measured too, as a phase of its own): the walk's frames float over it, the
Apply restyles the whole of it (built-in style 1, medium strokes) and lands
as a new layer, and autosave writes all its layers after a small edit,
every --autosave-every s (the app's own interval is 60 s: this is the write
under test, again and again).

A stall is how much later than 10 ms after the previous one a tick fires:
the time the GUI thread could not answer the user. The table gives, per
phase, the ticks, the 99th percentile and the maximum stall, and how many
went over 50 ms (the aim is none). Every stall over 50 ms is then listed with
where it came from:

- a watchdog thread samples the GUI thread's Python stack whenever the probe
  has not ticked for 40 ms (only the event loop on the stack: Qt's own C++
  work, or the thread was not running at all);
- the GUI thread's /proc schedstat (Linux) splits the stall into time on a
  CPU (the GUI thread working), time runnable but waiting for a CPU (the OS
  ran other threads or processes: on a 2-core machine, the workers and the
  trainer), and the rest, blocked (waiting for the GIL, a lock or the disk);
- /proc/stat's steal column gives the CPU time the hypervisor of a virtual
  machine took from it meanwhile (per phase in the table, too): then no
  thread of the machine ran, whatever the app does;
- Python's garbage collections that overlapped the stall are listed with
  their thread (a collection holds the GIL while it runs).

The all-at-once phase can run several rounds (--rounds; the landed layer is
undone between them): its longest stalls are rare, and more rounds show
more of the tail.

--control measures the machine instead of the app: an empty window with the
same probe, idle and then for --rounds rounds of 12 s beside busy processes
that stand for the all-at-once load (three at nice 5 for the style network,
the walk renderer and the autosave encoder, one at nice 10 for the
trainer). They share no GIL and no memory with the probe's process, so a
stall over 50 ms there is the operating system's and the host's, which no
change to the app can remove.

Everything runs in a temporary folder (STUDIO_USER_DIR, Qt settings), removed at the end; the
trainer is started through the Train panel, as the artist starts it (its
own process, `--threads 0 --nice 10`).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TICK_S = 0.010  # the probe's period
STALL_S = 0.050  # the aim: no stall longer than this
SAMPLE_AFTER_S = 0.040  # the watchdog samples the GUI stack once the probe is this late
SAMPLE_EVERY_S = 0.005


def thread_times(native_id: int) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for one) of a thread of
    this process so far, from /proc schedstat; None where there is none."""
    try:
        with open(f"/proc/self/task/{native_id}/schedstat") as fh:
            on_cpu, waiting, _slices = fh.read().split()
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def machine_steal() -> float | None:
    """Seconds the hypervisor ran something else on this machine's virtual
    CPUs so far (the steal column of /proc/stat, all CPUs together); None
    where there is none. A stolen CPU stops whatever ran on it, GUI thread
    included, and the thread's own schedstat does not count that time."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Tick:
    gap: int  # the number of the wait this tick ended
    phase: str
    stall: float  # s later than TICK_S after the previous tick
    on_cpu: float | None  # s the GUI thread ran during the gap
    waiting: float | None  # s it was runnable, waiting for a CPU
    at: float  # perf_counter when it fired
    stolen: float | None  # s of CPU the hypervisor took from the machine during the gap (both CPUs)


@dataclass
class Sample:
    gap: int  # the wait it was taken in (Tick.gap)
    where: str  # the GUI thread's innermost Python frames
    others: tuple[str, ...]  # where the other Python threads were
    sampler_late: float  # s the watchdog itself woke up late


@dataclass
class Probe:
    """Ticks every TICK_S on the GUI thread; records each tick's stall."""

    phase: str = "setup"
    ticks: list[Tick] = field(default_factory=list)
    gap: int = 0  # the wait for the next tick, numbered (a new phase starts a new one)
    last: float = 0.0
    native_id: int = 0
    _times: tuple[float, float] | None = None
    _steal: float | None = None

    def start(self, parent) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.native_id = threading.get_native_id()
        self.timer = QTimer(parent)
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(round(TICK_S * 1000))
        self.timer.timeout.connect(self.tick)
        self.last = time.perf_counter()
        self._times, self._steal = thread_times(self.native_id), machine_steal()
        self.timer.start()

    def begin(self, phase: str) -> None:
        """Count the ticks from now on as `phase`. Called from the GUI thread,
        so the gap so far was no stall, and the driver's own work before it
        (making the picture) is not one of this phase's."""
        self.phase, self.last = phase, time.perf_counter()
        self._times, self._steal = thread_times(self.native_id), machine_steal()
        self.gap += 1

    def tick(self) -> None:
        now = time.perf_counter()
        times = thread_times(self.native_id)
        on_cpu = waiting = None
        if times is not None and self._times is not None:
            on_cpu, waiting = times[0] - self._times[0], times[1] - self._times[1]
        steal = machine_steal()
        stolen = None if steal is None or self._steal is None else steal - self._steal
        self.ticks.append(Tick(self.gap, self.phase, max(0.0, now - self.last - TICK_S), on_cpu, waiting, now, stolen))
        self.last, self._times, self._steal = now, times, steal
        self.gap += 1


class Watchdog(threading.Thread):
    """Samples the GUI thread's stack while the probe is late."""

    def __init__(self, probe: Probe, gui_ident: int):
        super().__init__(daemon=True, name="responsiveness-watchdog")
        self.probe, self.gui_ident = probe, gui_ident
        self.samples: list[Sample] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        woke = time.perf_counter()
        while not self.stopping.wait(SAMPLE_EVERY_S):
            now = time.perf_counter()
            late, woke = now - woke - SAMPLE_EVERY_S, now
            if now - self.probe.last < SAMPLE_AFTER_S:
                continue
            frames = sys._current_frames()
            gui = frames.get(self.gui_ident)
            if gui is None:
                continue
            # What the other threads run (one waiting for work is left out): a
            # thread holding the GIL in a long C call shows here.
            others = tuple(place for ident, frame in frames.items() if ident not in (self.gui_ident, self.ident)
                           for place in [where(frame, 2)] if not place.startswith("threading.py"))
            self.samples.append(Sample(self.probe.gap, where(gui, 3), others, late))


def where(frame, depth: int) -> str:
    """The innermost `depth` frames outside this script, innermost first;
    "event loop" when only this script's own waiting is on the stack."""
    stack = [f for f in traceback.extract_stack(frame) if Path(f.filename).resolve() != Path(__file__).resolve()]
    if not stack:
        return "event loop (Qt C++ or not running)"
    parts = []
    for summary in reversed(stack[-depth:]):
        path = Path(summary.filename)
        try:
            name = str(path.resolve().relative_to(ROOT))
        except ValueError:
            name = path.name
        parts.append(f"{name}:{summary.lineno} {summary.name}")
    return " < ".join(parts)


# -- driving the window without ever blocking its thread ---------------------------------------


def spin(seconds: float) -> None:
    """Run the event loop for `seconds` (the probe keeps ticking)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def spin_until(condition, seconds: float, what: str) -> None:
    """Run the event loop until condition() (checked every 20 ms); SystemExit after `seconds`."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    check = QTimer()
    check.setInterval(20)
    end = time.monotonic() + seconds
    failed = []

    def poll() -> None:
        if condition():
            loop.quit()
        elif time.monotonic() > end:
            failed.append(what)
            loop.quit()

    check.timeout.connect(poll)
    check.start()
    if not condition():
        loop.exec()
    check.stop()
    if failed:
        raise SystemExit(f"error: timed out waiting for {what}")


def picture(size: int) -> np.ndarray:
    """A size x size RGB picture with gradients, shapes and noise (no flat areas)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rgb = np.empty((size, size, 3), np.float32)
    rgb[..., 0] = 0.5 + 0.4 * np.sin(xx * 9.0 + yy * 3.0)
    rgb[..., 1] = 0.3 + 0.6 * yy
    rgb[..., 2] = 0.6 - 0.4 * xx
    rgb[((xx - 0.4) ** 2 + (yy - 0.55) ** 2) < 0.04] = (0.9, 0.8, 0.2)
    rgb += np.random.default_rng(0).normal(0.0, 0.03, (size, size, 1)).astype(np.float32)
    return np.clip(rgb * 255, 0, 255).astype(np.uint8)


def training_folder(folder: Path, count: int = 32, size: int = 48) -> Path:
    """`count` small PNGs of coloured discs on white."""
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(count):
        pixels = np.full((size, size, 3), 255, np.uint8)
        cx, cy, r = rng.integers(12, size - 12, 2).tolist() + [int(rng.integers(6, 12))]
        pixels[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.integers(0, 255, 3)
        Image.fromarray(pixels).save(folder / f"disc_{i:02d}.png")
    return folder


class Bench:
    """The window and the loads, each started and stopped from the GUI thread."""

    def __init__(self, window, probe: Probe, args):
        self.window, self.probe, self.args = window, probe, args
        self.autosaves = 0  # autosave writes started

    def phase(self, name: str) -> None:
        self.probe.begin(name)
        print(f"{time.strftime('%H:%M:%S')} {name}", file=sys.stderr, flush=True)

    # walk ------------------------------------------------------------------------------------

    def prepare_walk(self) -> None:
        panel = self.window.panel
        spin_until(lambda: panel.grid.ready(), 120, "the Latent panel's samples")
        for cell in (0, 3, 6):
            panel.grid.buttons[cell].click()

    def play(self, on: bool) -> None:
        self.window.dock.raise_()
        if self.window.panel.play_action.isChecked() != on:
            self.window.panel.play_action.trigger()

    # style -----------------------------------------------------------------------------------

    def prepare_style(self) -> None:
        styles = self.window.style_panel
        self.window.style_dock.raise_()
        styles.preview_check.setChecked(False)  # Apply alone, no live preview on the worker
        spin_until(lambda: styles.picker.ready(), 180, "the style thumbnails")
        styles.picker.pick(1)

    def start_apply(self) -> None:
        doc = self.window.files.document
        self._layers = len(doc.layers)
        if not self.window.style_panel.apply():
            raise SystemExit("error: the style Apply did not start")

    def applied(self) -> bool:
        return len(self.window.files.document.layers) > self._layers and not self.window.style_panel.busy()

    # training --------------------------------------------------------------------------------

    def prepare_training(self, data: Path) -> None:
        panel = self.window.train_panel
        panel.set_data_folder(data)
        spin_until(lambda: panel.image_files is not None, 60, "the training folder count")
        panel.base_combo.setCurrentIndex(0)  # from scratch, at the small size asked for below
        panel.name_edit.setText("responsiveness")

    def start_training(self) -> None:
        if not self.window.train_panel.start(steps=1_000_000, resolution=32, batch=8):
            raise SystemExit("error: the Train panel did not start the trainer")

    def training_steps(self) -> int:
        """The step of the trainer's last progress line (0 before the first)."""
        last = self.window.train_panel.run.last_progress
        return int(last.get("step", 0)) if last else 0

    # autosave --------------------------------------------------------------------------------

    def edit_and_autosave(self) -> None:
        """A small edit (a painted dab's worth), then an autosave of the whole
        document, when the previous write is done and no Apply renders."""
        from studio.core.commands import PixelEdit

        saver, doc = self.window.autosaver, self.window.files.document
        if saver.is_busy() or self.window.style_panel.busy():
            return  # an edit would make the Apply in flight stale (it refuses to land on a changed picture)
        layer = doc.layers[0]
        rect = (100, 100, 132, 132)
        before = layer.pixels[100:132, 100:132].copy()
        doc.apply(PixelEdit(layer.id, rect, before, 255 - before, text="Paint"))
        if saver.autosave_now():
            self.autosaves += 1

    def autosave_for(self, seconds: float, until=None) -> None:
        from PySide6.QtCore import QTimer

        timer = QTimer()
        timer.setInterval(round(self.args.autosave_every * 1000))
        timer.timeout.connect(self.edit_and_autosave)
        self.edit_and_autosave()
        timer.start()
        end = time.monotonic() + seconds
        spin_until(lambda: time.monotonic() > end and (until is None or until()), seconds + 600,
                   "the end of the autosave phase")
        timer.stop()
        spin_until(lambda: not self.window.autosaver.is_busy(), 120, "the last autosave")


class Collections:
    """Python's cyclic garbage collections: when each ran, how long, which
    generation and on which thread. A collection holds the GIL throughout,
    so one on any thread stalls the GUI thread for as long as it runs."""

    def __init__(self):
        self.done: list[tuple[float, float, int, str]] = []  # (start, seconds, generation, thread)
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._started = now
        else:
            self.done.append((self._started, now - self._started, info["generation"], threading.current_thread().name))

    def during(self, start: float, end: float) -> list[tuple[float, float, int, str]]:
        return [c for c in self.done if c[0] < end and c[0] + c[1] > start]


def record_message_boxes(shown: list[str]) -> None:
    """Warning boxes go to `shown` (and stderr) instead of waiting for a click."""
    from PySide6.QtWidgets import QMessageBox

    def record(parent, title, text, *args, **kwargs):
        shown.append(f"{title}: {text}")
        print(f"message box: {title}: {text}", file=sys.stderr, flush=True)
        return QMessageBox.Ok

    QMessageBox.warning = staticmethod(record)
    QMessageBox.critical = staticmethod(record)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def report(probe: Probe, watchdog: Watchdog, collections: Collections, phases: list[str],
           notes: dict[str, str]) -> None:
    print("| phase | ticks | p99 stall ms | max stall ms | stalls > 50 ms | CPU stolen by the host ms | notes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in phases:
        ticks = [t for t in probe.ticks if t.phase == name]
        stalls = [t.stall for t in ticks]
        over = sum(s > STALL_S for s in stalls)
        stolen = "-" if any(t.stolen is None for t in ticks) else f"{sum(t.stolen for t in ticks) * 1000:.0f}"
        print(f"| {name} | {len(stalls)} | {percentile(stalls, 99) * 1000:.1f} | "
              f"{max(stalls, default=0) * 1000:.1f} | {over} | {stolen} | {notes.get(name, '')} |")
    by_gap: dict[int, list[Sample]] = {}
    for sample in watchdog.samples:
        by_gap.setdefault(sample.gap, []).append(sample)
    long = [t for t in probe.ticks if t.stall > STALL_S and t.phase in phases]
    if not long:
        return
    print(f"\nStalls over {STALL_S * 1000:.0f} ms: GUI thread on a CPU / waiting for a CPU / blocked, "
          "and its stack while late (samples every 5 ms after 40 ms)")
    for t in long:
        samples = by_gap.get(t.gap, [])
        gap = t.stall + TICK_S
        split = ("" if t.on_cpu is None else
                 f"cpu {t.on_cpu * 1000:.0f} / wait {t.waiting * 1000:.0f} / "
                 f"blocked {max(0.0, gap - t.on_cpu - t.waiting) * 1000:.0f} ms")
        if t.stolen is not None:
            split += f"; stolen from the machine {t.stolen * 1000:.0f} ms"
        places = Counter(s.where for s in samples).most_common(2)
        stack = "; ".join(f"{n}x {w}" for w, n in places) or "(no sample)"
        late = max((s.sampler_late for s in samples), default=0.0)
        others = Counter(o for s in samples for o in s.others).most_common(3)
        print(f"- {t.phase}: {t.stall * 1000:.0f} ms ({split}); watchdog late {late * 1000:.0f} ms; GUI: {stack}")
        if others:
            print("    others: " + "; ".join(f"{n}x {o}" for o, n in others))
        for _start, seconds, generation, thread in collections.during(t.at - gap, t.at):
            print(f"    garbage collection of generation {generation} on {thread}: {seconds * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="the document's side in px")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the idle, walk and autosave phases")
    parser.add_argument("--train-seconds", type=float, default=25.0,
                        help="length of the training phase (the trainer's start-up included)")
    parser.add_argument("--autosave-every", type=float, default=1.0,
                        help="seconds between a small edit and an autosave in the autosave phases")
    parser.add_argument("--rounds", type=int, default=1,
                        help="how many times the all-at-once phase runs (its longest stalls are rare: more rounds "
                             "show more of the tail); the landed layer is undone between rounds")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the start-up objects in the garbage collector's walks (the app before "
                             "app.freeze_startup_objects)")
    parser.add_argument("--control", action="store_true",
                        help="an empty window beside busy processes instead of the app (see above)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    args = parser.parse_args()
    if args.control:
        return control(args)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="studio-responsiveness-"))
    os.environ["STUDIO_USER_DIR"] = str(work / "user")  # runs, autosaves and models go here, not to the user's
    from PySide6.QtCore import QSettings

    from studio.ui.app import create_application, create_window, freeze_startup_objects

    app = create_application()
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(work / "settings"))
    window = create_window(args.device, [args.models])
    window.resize(1440, 900)
    window.show()
    if not args.no_freeze:
        freeze_startup_objects()  # as the app's run() does
    probe = Probe()
    probe.start(window)
    watchdog = Watchdog(probe, threading.get_ident())
    watchdog.start()
    collections = Collections()
    gc.callbacks.append(collections)
    bench = Bench(window, probe, args)
    notes: dict[str, str] = {}
    phases: list[str] = []
    boxes: list[str] = []
    record_message_boxes(boxes)
    try:
        run_phases(window, bench, args, work, phases, notes)
    finally:
        bench.phase("teardown")
        watchdog.stopping.set()
        if window.files.document is not None:
            window.files.document.mark_saved()
        window.train_panel.shutdown()  # never leave a trainer behind
        window.shutdown()
        app.processEvents()  # what the threads sent last
        shutil.rmtree(work, ignore_errors=True)
    gc.callbacks.remove(collections)
    report(probe, watchdog, collections, phases, notes)
    longest = sorted(collections.done, key=lambda c: -c[1])[:3]
    print("\nlongest garbage collections: " + ", ".join(f"generation {g} on {t}, {s * 1000:.0f} ms"
                                                        for _, s, g, t in longest))
    for box in boxes:
        print(f"\nmessage box shown: {box}")
    return 1 if boxes else 0


# The all-at-once load as busy processes: the niceness of each (style network, walk renderer, autosave
# encoder at the workers' nice 5; the trainer at the Train panel's nice 10).
CONTROL_LOAD = (5, 5, 5, 10)
CONTROL_ROUND_S = 12.0  # about one all-at-once round
BUSY_LOOP = "import os, sys\nos.nice(int(sys.argv[1]))\nwhile True:\n    pass"


def control(args) -> int:
    """The probe in an empty window, idle and beside CONTROL_LOAD's processes."""
    import subprocess

    from PySide6.QtWidgets import QApplication, QWidget

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication([])
    window = QWidget()
    window.resize(1440, 900)
    window.show()
    probe = Probe()
    probe.start(window)
    watchdog = Watchdog(probe, threading.get_ident())
    watchdog.start()
    phases = ["idle (empty window)"]
    probe.begin(phases[0])
    spin(args.seconds)
    for round_ in range(1, args.rounds + 1):
        phases.append(f"busy processes ({round_}/{args.rounds})")
        busy = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(nice)]) for nice in CONTROL_LOAD]
        probe.begin(phases[-1])
        spin(CONTROL_ROUND_S)
        probe.begin("setup")
        for process in busy:
            process.kill()
            process.wait()
        spin(1.0)
    watchdog.stopping.set()
    report(probe, watchdog, Collections(), phases, {})
    app.quit()
    return 0


def run_phases(window, bench: Bench, args, work: Path, phases: list[str], notes: dict[str, str]) -> None:
    def timed(name: str) -> float:
        phases.append(name)
        bench.phase(name)
        return time.monotonic()

    bench.prepare_walk()
    bench.prepare_training(training_folder(work / "discs"))
    from studio.core.document import Document

    doc = Document.from_image(picture(args.size), "picture")  # what the app's open task hands the GUI thread
    timed(f"open {args.size} px picture")
    window.files.open_document(doc, work / "picture.png")
    spin(2.0)
    bench.phase("setup")
    bench.prepare_style()
    spin_until(lambda: window.worker.is_idle(), 60, "the render worker")

    timed("idle")
    spin(args.seconds)

    timed("walk playing")
    bench.play(True)
    spin(args.seconds)
    bench.play(False)
    frames = window.worker.stats.get("frame")
    notes["walk playing"] = f"{frames.rendered if frames else 0} frames rendered"

    bench.phase("setup")
    window.style_dock.raise_()
    spin(1.0)
    start = timed(f"style Apply {args.size} px")
    bench.start_apply()
    spin_until(bench.applied, 600, "the style Apply")
    notes[phases[-1]] = f"landed after {time.monotonic() - start:.1f} s"
    spin(1.0)

    timed("training")
    bench.start_training()
    spin(args.train_seconds)
    notes["training"] = f"trainer at step {bench.training_steps()}"

    timed("autosave")
    bench.autosaves = 0
    bench.autosave_for(args.seconds)
    notes["autosave"] = f"{bench.autosaves} autosaves of {len(window.files.document.layers)} layers"

    for round_ in range(1, args.rounds + 1):
        name = "all at once" if args.rounds == 1 else f"all at once ({round_}/{args.rounds})"
        layers = len(window.files.document.layers)
        start = timed(name)
        steps = bench.training_steps()
        bench.autosaves = 0
        bench.play(True)
        bench.edit_and_autosave()  # a write in flight while the Apply starts
        bench.start_apply()
        bench.autosave_for(args.seconds, bench.applied)
        bench.play(False)
        notes[name] = (f"{time.monotonic() - start:.1f} s; {bench.autosaves} autosaves; Apply landed; "
                       f"trainer steps {steps} -> {bench.training_steps()}")
        bench.phase("setup")
        while len(window.files.document.layers) > layers:  # the landed layer and the dabs after it go: each
            window.files.document.undo()                    # round restyles the same document
        spin(1.0)


if __name__ == "__main__":
    raise SystemExit(main())
