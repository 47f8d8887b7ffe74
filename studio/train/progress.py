"""How the trainer tells the world what it is doing (the protocol: studio/train/PROTOCOL.md).

--progress json: one JSON object per line on stdout, each with "event".
--progress bar:  for people at a terminal: one self-updating progress line
                 with an ETA on stderr, plus a plain line for each notable
                 event (dataset, checkpoint, metrics, warnings, the end).
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import TextIO

from studio.train.protocol import (CHECKPOINT, DATASET, DONE, METRICS, PAUSED, PROGRESS, RESUMED, SAMPLES, SCAN,
                                   START, WARNING)

MODES = ("json", "bar")


class Reporter:
    """Base: emit(event) takes one protocol event (a dict with "event")."""

    def emit(self, event: dict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (the bar ends its line)."""


class SilentReporter(Reporter):
    """Says nothing: what ranks other than 0 of a distributed run report
    (rank 0 alone speaks the protocol)."""

    def emit(self, event: dict) -> None:
        pass


class JsonReporter(Reporter):
    """One JSON object per line, flushed at once (the app reads it live)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def emit(self, event: dict) -> None:
        # NaN is not JSON: a diverged loss goes out as null.
        self.stream.write(json.dumps(_finite(event), allow_nan=False, default=_plain) + "\n")
        self.stream.flush()


class BarReporter(Reporter):
    """A one-line bar, redrawn in place on a terminal (at most 10 times a
    second) and printed as a plain line every 10 s when the stream is a file."""

    def __init__(self, stream: TextIO | None = None, width: int = 24):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total_steps: int | None = None
        self._bar_shown = False
        self._last_draw = 0.0

    def set_target(self, total_steps: int | None) -> None:
        """The step the run ends at (None: by time or never)."""
        self.total_steps = total_steps

    def emit(self, event: dict) -> None:
        kind = event.get("event")
        if kind == PROGRESS:
            self._progress(event)
            return
        line = self._describe(event)
        if line:
            self._line(line)

    def close(self) -> None:
        if self._bar_shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self._bar_shown = False

    def _progress(self, e: dict) -> None:
        now = time.monotonic()
        interval = 0.1 if self.tty else 10.0
        if now - self._last_draw < interval:
            return
        self._last_draw = now
        step = e["step"]
        if self.total_steps:
            frac = min(max(step / self.total_steps, 0.0), 1.0)
            filled = int(frac * self.width)
            bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {frac * 100:3.0f}% step {step:,}/{self.total_steps:,}"
        elif e.get("eta_s") is not None and e.get("elapsed_s"):
            frac = e["elapsed_s"] / max(e["elapsed_s"] + e["eta_s"], 1e-9)
            filled = int(frac * self.width)
            bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {frac * 100:3.0f}% step {step:,}"
        else:
            bar = f"step {step:,}"
        text = (f"{bar}  {e.get('images_per_s', 0):.0f} img/s  G {_num(e.get('loss_g'))} D {_num(e.get('loss_d'))}"
                f"  elapsed {clock(e.get('elapsed_s'))}  ETA {clock(e.get('eta_s'))}")
        if self.tty:
            self.stream.write("\r" + text.ljust(110)[:160])
            self._bar_shown = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _line(self, text: str) -> None:
        if self._bar_shown and self.tty:
            self.stream.write("\r" + " " * 110 + "\r")
            self._bar_shown = False
            self._last_draw = 0.0  # redraw the bar at the next progress event
        self.stream.write(text + "\n")
        self.stream.flush()

    @staticmethod
    def _describe(e: dict) -> str | None:
        kind = e.get("event")
        if kind == SCAN:
            return None  # the app shows these; a terminal user sees the summary line
        if kind == DATASET:
            lines = [f"data: {e['summary']}"]
            shown = e["skipped"][:20]
            lines += [f"  skipped {s['path']}: {s['reason']} ({s['detail']})" for s in shown]
            if len(e["skipped"]) > len(shown):
                lines.append(f"  ... and {len(e['skipped']) - len(shown)} more (all listed in the run's dataset_report.json)")
            return "\n".join(lines)
        if kind == START:
            what = "resumed at step" if e["resumed"] else "training from step"
            return (f"{what} {e['step']:,} on {e['device']}: {e['resolution']}x{e['resolution']} px, batch {e['batch']}, "
                    f"G {e['params_G'] / 1e6:.2f} M / D {e['params_D'] / 1e6:.2f} M parameters")
        if kind == SAMPLES:
            return f"step {e['step']:,}: samples {e['path']}"
        if kind == CHECKPOINT:
            return f"step {e['step']:,}: checkpoint {e['path']}"
        if kind == METRICS:  # each task says what it measured in "summary"
            return f"step {e['step']:,}: {e.get('summary', 'measured')} (curves: {e['plot']})"
        if kind == WARNING:
            return f"warning ({e['kind']}) at step {e['step']:,}: {e['message']}"
        if kind == PAUSED:
            return f"paused at step {e['step']:,} (delete PAUSE to go on)"
        if kind == RESUMED:
            return f"going on at step {e['step']:,}"
        if kind == DONE:
            where = f", checkpoint {e['checkpoint']}" if e.get("checkpoint") else ""
            return f"done ({e['reason']}) at step {e['step']:,}{where}"
        return json.dumps(e)


def make_reporter(mode: str) -> Reporter:
    """mode: "json" or "bar"."""
    if mode == "bar":
        return BarReporter()
    return JsonReporter()


def clock(seconds: float | None) -> str:
    """12.5 -> '0:12', 3725 -> '1:02:05', None -> '?'."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _num(v) -> str:
    return "?" if v is None else f"{v:.3f}"


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _plain(value):
    # numpy/torch scalars that slipped into an event
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
