"""Inference off the GUI thread: newest request wins.

The GUI submits render requests on named channels ("frame", "thumbnails").
Each channel holds at most ONE pending request: a new one replaces the one
still waiting, so dragging a slider never builds a queue, and the canvas shows
the latest position as soon as the worker is free. Every request gets a serial
number; results whose serial is no longer the newest of their channel are
stale and the receiver drops them (`is_current`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal

from studio.engine.generator import Generator
from studio.engine.registry import ModelEntry
from studio.engine.runtime import Runtime
from studio.ui.messages import one_line

LatentSource = Callable[[int], np.ndarray]  # latent_size -> float32 [N, latent_size]


class GeneratorCache:
    """One Generator per model, shared by the render worker and export tasks.

    Building a Generator opens (and warms up) an ONNX session, so it happens
    on whichever worker thread first needs it, never on the GUI thread.
    """

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._generators: dict[tuple[str, str], Generator] = {}
        self._lock = threading.Lock()

    def set_runtime(self, runtime: Runtime) -> None:
        """Run every model on `runtime` from now on (sessions are made anew on first use)."""
        with self._lock:
            self.runtime = runtime
            self._generators.clear()

    def get(self, entry: ModelEntry) -> Generator:
        key = (entry.name, entry.sha256)
        with self._lock:
            generator = self._generators.get(key)
            if generator is None:
                generator = Generator(entry, self.runtime)
                self._generators[key] = generator
            return generator


@dataclass
class RenderRequest:
    channel: str
    entry: ModelEntry
    latents: LatentSource
    tag: object = None  # the caller's note of what was asked (e.g. seeds), returned with the result
    serial: int = 0


@dataclass
class RenderResult:
    channel: str
    serial: int
    images: np.ndarray  # uint8 [N, H, W, 3]
    latents: np.ndarray  # float32 [N, latent_size], what was rendered
    seconds: float  # wall time of the render call alone
    model: str
    device: str
    tag: object = None


@dataclass
class ChannelStats:
    submitted: int = 0
    rendered: int = 0
    dropped: int = 0  # replaced while pending, never rendered


class RenderWorker(QThread):
    """A thread that renders the newest request of each channel."""

    rendered = Signal(object)  # RenderResult
    failed = Signal(str, int, str)  # channel, serial, one-line message

    def __init__(self, generators: GeneratorCache, parent=None):
        super().__init__(parent)
        self.generators = generators
        self._cond = threading.Condition()
        self._pending: dict[str, RenderRequest] = {}
        self._latest: dict[str, int] = {}
        self._serial = 0
        self._stopping = False
        self._busy = False
        self.stats: dict[str, ChannelStats] = {}

    def submit(self, channel: str, entry: ModelEntry, latents: LatentSource, tag: object = None) -> int:
        """Ask for a render; returns its serial. Any request still pending on
        this channel is dropped. Never blocks on inference."""
        with self._cond:
            self._serial += 1
            stats = self.stats.setdefault(channel, ChannelStats())
            stats.submitted += 1
            if self._pending.pop(channel, None) is not None:
                stats.dropped += 1
            # Re-inserted at the end: channels are served in order of their newest request.
            self._pending[channel] = RenderRequest(channel, entry, latents, tag, self._serial)
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
        """True when nothing is pending or rendering."""
        with self._cond:
            return not self._pending and not self._busy

    def stop(self) -> None:
        """Finish the render in progress (if any), drop the rest, end the thread.
        Safe to call more than once."""
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify()
        self.wait()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                channel = next(iter(self._pending))
                request = self._pending.pop(channel)
                self._busy = True
            try:
                result = self._render(request)
            except Exception as exc:  # report every failure as one line; the thread lives on
                self._finish()
                self.failed.emit(request.channel, request.serial, one_line(exc))
                continue
            with self._cond:
                self.stats[channel].rendered += 1
            self._finish()
            self.rendered.emit(result)

    def _finish(self) -> None:
        with self._cond:
            self._busy = False

    def _render(self, request: RenderRequest) -> RenderResult:
        generator = self.generators.get(request.entry)
        latents = np.asarray(request.latents(generator.latent_size), dtype=np.float32)
        start = time.perf_counter()
        images = generator.render(latents)
        seconds = time.perf_counter() - start
        return RenderResult(request.channel, request.serial, images, latents, seconds,
                            generator.name, generator.device, request.tag)

