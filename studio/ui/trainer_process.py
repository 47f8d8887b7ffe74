"""The trainer as a child process: a QProcess wrapper and the JSON-line parser
for what it prints (see studio/train/PROTOCOL.md).

The GUI never imports torch; it runs `python -m studio.train ...` and reads
one JSON object per line from its stdout. Everything here is event-driven:
nothing waits on the process except `wait`, which is for shutdown only.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from studio.train.protocol import CHECKPOINT, DATASET, DONE, PROGRESS, SAMPLES, TEXT, event

MAX_LINE_BYTES = 1 << 20  # a "line" longer than this is not ours: drop it rather than grow without end
NOTE_CHARS = 200  # how much of an unparsable line a note quotes
STDERR_LINES = 40  # stderr lines kept for the crash report


class EventLineParser:
    """Bytes from the trainer's stdout -> protocol events (dicts with "event").

    Bytes arrive in arbitrary chunks, so a partial line waits in a buffer for
    its newline. A line that is not a JSON object becomes a "text" event
    carrying the line (shown as a note, never fatal). Lines of the older
    trainer output (progress objects without "event", "data" instead of
    "dataset", sample grids and checkpoints inside progress lines) are
    translated into the current events, so the app works with both.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._overlong = False  # inside a line that went past MAX_LINE_BYTES

    def feed(self, data: bytes) -> list[dict]:
        """Parse every complete line in `data` (plus what was buffered); a
        trailing partial line is kept for the next call."""
        events: list[dict] = []
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._overlong:  # the tail of a line already reported
                self._overlong = False
                continue
            events.extend(self.parse_line(line))
        if len(self._buffer) > MAX_LINE_BYTES:
            events.append(event(TEXT, line=f"(dropped {len(self._buffer)} bytes without a line end)"))
            self._buffer.clear()
            self._overlong = True
        return events

    def finish(self) -> list[dict]:
        """The last line when the stream ended without a newline."""
        line, self._overlong = bytes(self._buffer), False
        self._buffer.clear()
        return self.parse_line(line) if line.strip() else []

    @staticmethod
    def parse_line(raw: bytes) -> list[dict]:
        """One line -> zero or more events (an old progress line may carry three)."""
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            return []
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            return [event(TEXT, line=line[:NOTE_CHARS])]
        return _current_events(record)


def _current_events(record: dict) -> list[dict]:
    """A record in today's protocol, or the older one translated to it."""
    name = record.get("event")
    if name == "data":  # old: {"event":"data","images":N,"resolution":R,"seconds":s}
        images = record.get("images", 0)
        return [event(DATASET, images=images, skipped=[], cached=False, seconds=record.get("seconds"),
                      summary=f"{images} images at {record.get('resolution', '?')} px")]
    if name is None and "step" in record and "loss_g" in record:  # old progress line
        events = [event(PROGRESS, **{k: v for k, v in record.items() if k not in ("sample_grid", "checkpoint")})]
        events.extend(_old_attachments(record))
        return events
    if name == DONE and "sample_grid" in record:  # old done: the last grid rides along
        return [record, *_old_attachments({**record, "checkpoint": None})]
    if not isinstance(name, str):
        return [event(TEXT, line=json.dumps(record)[:NOTE_CHARS])]
    return [record]


def _old_attachments(record: dict) -> list[dict]:
    events = []
    if record.get("sample_grid"):
        events.append(event(SAMPLES, step=record.get("step"), path=record["sample_grid"]))
    if record.get("checkpoint"):
        events.append(event(CHECKPOINT, step=record.get("step"), path=record["checkpoint"]))
    return events


def error_line(stderr_lines: list[str]) -> str | None:
    """The message of the last `error: ...` line (the protocol's bad-input
    report), without the prefix; None when there is none."""
    for line in reversed(stderr_lines):
        if line.startswith("error: "):
            return line[len("error: "):].strip()
    return None


class TrainerProcess(QObject):
    """`python -m studio.train ARGS` (or `... export ...`) in a QProcess.

    stdout is parsed into protocol events (`received`), stderr is kept as its
    last lines (`stderr_tail`) and passed on line by line (`stderrLine`).
    `finished` comes once, also when the program could not be started
    (exit code -1, crashed True).
    """

    received = Signal(dict)  # one protocol event
    stderrLine = Signal(str)
    finished = Signal(int, bool)  # exit code, crashed (killed by a signal or never started)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.SeparateChannels)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self.parser = EventLineParser()
        self._stderr_buffer = bytearray()
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_LINES)
        self._done = False

    def start(self, args: list[str], workdir: str | os.PathLike | None = None) -> None:
        """Run `sys.executable -m studio.train *args`; returns at once."""
        self.parser = EventLineParser()
        self._stderr_buffer.clear()
        self.stderr_tail.clear()
        self._done = False
        env = QProcessEnvironment.systemEnvironment()
        # The child must run this very studio package, installed or not.
        source_root = str(Path(__file__).resolve().parents[2])
        paths = [source_root] + [p for p in env.value("PYTHONPATH", "").split(os.pathsep) if p]
        env.insert("PYTHONPATH", os.pathsep.join(dict.fromkeys(paths)))
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        if workdir is not None:
            self.process.setWorkingDirectory(str(workdir))
        self.process.start(sys.executable, ["-m", "studio.train", *args])

    def is_running(self) -> bool:
        return self.process.state() != QProcess.NotRunning

    def pid(self) -> int:
        return int(self.process.processId())

    def terminate(self) -> None:
        """SIGTERM: the trainer writes a checkpoint and exits 0."""
        self.process.terminate()

    def kill(self) -> None:
        self.process.kill()

    def wait(self, msecs: int) -> bool:
        """Block until the process ends or `msecs` pass. Shutdown only: the
        GUI thread must not wait on the trainer otherwise."""
        return self.process.state() == QProcess.NotRunning or self.process.waitForFinished(msecs)

    def _read_stdout(self) -> None:
        for item in self.parser.feed(bytes(self.process.readAllStandardOutput())):
            self.received.emit(item)

    def _read_stderr(self) -> None:
        self._stderr_buffer += bytes(self.process.readAllStandardError())
        *lines, rest = self._stderr_buffer.split(b"\n")
        self._stderr_buffer = bytearray(rest[-MAX_LINE_BYTES:])
        for raw in lines:
            self._add_stderr(raw)

    def _add_stderr(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip()
        if line:
            self.stderr_tail.append(line)
            self.stderrLine.emit(line)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        # Whatever is still in the pipes belongs before `finished`.
        self._read_stdout()
        for item in self.parser.finish():
            self.received.emit(item)
        self._read_stderr()
        if self._stderr_buffer:
            self._add_stderr(bytes(self._stderr_buffer))
            self._stderr_buffer.clear()
        self._emit_finished(int(code), status == QProcess.CrashExit)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.FailedToStart:
            self.stderr_tail.append(f"could not start {sys.executable}: {self.process.errorString()}")
            self._emit_finished(-1, True)

    def _emit_finished(self, code: int, crashed: bool) -> None:
        if not self._done:
            self._done = True
            self.finished.emit(code, crashed)
